import Crypto
import Foundation
import ParleyAttestation
import ParleyCore
import ParleyTestSupport
import ParleyTPM
import ParleyTPMProvider
import XCTest

/// Both halves on a real swtpm (private to each test: PCRs 0-15 cannot be reset), booted by a
/// test platform: the host's TPM quote provider and the party's verifier.
final class TPMEvidenceTests: XCTestCase {
    let t0 = Date(timeIntervalSince1970: 1_780_000_000)
    var fixture: PlatformFixture!
    var environment: TPMTestEnvironment { fixture.environment }
    var dir: String { fixture.dir }

    override func setUpWithError() throws {
        fixture = try PlatformFixture(self)
    }

    func provider() throws -> TPMQuoteProvider { try fixture.provider(now: t0) }

    func verify(_ evidence: [UInt8], nonce: Nonce, claims: LaunchClaims, ak: [UInt8]? = nil) throws -> AttestationVerdict {
        var ledger = InMemoryNonceLedger()
        return AttestationVerifier(policy: try fixture.policy(claims: claims, ak: ak), now: t0).verify(evidence, nonce: nonce, ledger: &ledger)
    }

    /// Rewrites fields of the evidence map, as a malicious host could.
    func mutate(_ evidence: [UInt8], _ change: (inout [String: CBOR]) -> Void) throws -> [UInt8] {
        var m = try CBORDecoder().decode(evidence).textKeyedMap("evidence")
        change(&m)
        return CBOREncoder.encode(.textMap(m))
    }

    func events(_ m: [String: CBOR]) -> [CBOR] {
        if case .array(let a)? = m["event_log"] { return a }
        return []
    }

    /// One launch measured and quoted: (evidence, nonce, claims).
    func launched(jobs: [String] = ["job-1"]) throws -> ([UInt8], Nonce, LaunchClaims) {
        let p = try provider()
        var last: LaunchClaims!
        for j in jobs {
            last = try sampleClaims(job: j)
            try p.recordLaunch(last)
        }
        let nonce = Nonce.random()
        return (try p.evidence(job: last.job, nonce: nonce), nonce, last)
    }

    func testGenuineEvidenceIsTrustedAtTheTPMTier() throws {
        let (evidence, nonce, claims) = try launched(jobs: ["job-a", "job-b"])
        guard case .trusted(let r) = try verify(evidence, nonce: nonce, claims: claims) else {
            return XCTFail("genuine TPM evidence must pass")
        }
        XCTAssertEqual(r.tier, .tpm)
        XCTAssertEqual(r.claims, claims)
    }

    func testRefusesWrongNonceAndUnpinnedKey() throws {
        let (evidence, _, claims) = try launched()
        XCTAssertTrue(refusals(try verify(evidence, nonce: .random(), claims: claims)).contains(.integrity(.nonceMismatch)))
        let other = Array(P256.Signing.PrivateKey().publicKey.derRepresentation)
        XCTAssertEqual(refusals(try verify(evidence, nonce: .random(), claims: claims, ak: other)).first, .integrity(.attestationKeyNotPinned))
    }

    /// Every cut in the first and last KiB (the map head, the launch log, the keys), and every
    /// 61st byte through the platform logs between them.
    func testRefusesTruncationAtEveryByte() throws {
        let (evidence, nonce, claims) = try launched()
        let cuts = Set(Array(0..<min(1024, evidence.count)) + Array(stride(from: 0, to: evidence.count, by: 61))
                       + Array(max(0, evidence.count - 1024)..<evidence.count))
        for cut in cuts.sorted() {
            if case .trusted = try verify(Array(evidence.prefix(cut)), nonce: nonce, claims: claims) { XCTFail("cut at \(cut) trusted") }
        }
    }

    func testRefusesChangedPCRValueAndPCRSetMismatch() throws {
        let (evidence, nonce, claims) = try launched()
        let changed = try mutate(evidence) { m in
            guard case .map(var pcrs)? = m["pcrs"] else { return }
            pcrs[.unsigned(UInt64(launchPCRIndex))] = .bytes(.init(repeating: 7, count: 32))
            m["pcrs"] = .map(pcrs)
        }
        XCTAssertEqual(refusals(try verify(changed, nonce: nonce, claims: claims)), [.integrity(.tpmQuote(.pcrDigestMismatch))])
        let extra = try mutate(evidence) { m in
            guard case .map(var pcrs)? = m["pcrs"] else { return }
            pcrs[.unsigned(16)] = .bytes(.init(repeating: 0, count: 32))
            m["pcrs"] = .map(pcrs)
        }
        XCTAssertEqual(refusals(try verify(extra, nonce: nonce, claims: claims)), [.integrity(.tpmQuote(.pcrNotQuoted(16)))])
    }

    func testRefusesWrongMagicAndType() throws {
        let (evidence, nonce, claims) = try launched()
        let magic = try mutate(evidence) { m in
            guard case .bytes(var a)? = m["attest"] else { return }
            a[0] ^= 0xff
            m["attest"] = .bytes(a)
        }
        let r = refusals(try verify(magic, nonce: nonce, claims: claims))
        XCTAssertTrue(r.contains { if case .integrity(.tpmQuote(.wrongMagic)) = $0 { return true }; return false }, "\(r)")
        let type = try mutate(evidence) { m in
            guard case .bytes(var a)? = m["attest"] else { return }
            a[5] = 0x17 // TPM_ST_ATTEST_CERTIFY
            m["attest"] = .bytes(a)
        }
        let t = refusals(try verify(type, nonce: nonce, claims: claims))
        XCTAssertTrue(t.contains { if case .integrity(.tpmQuote(.wrongType)) = $0 { return true }; return false }, "\(t)")
    }

    func testRefusesFlippedDroppedReorderedAndInsertedEvents() throws {
        let (evidence, nonce, claims) = try launched(jobs: ["job-a", "job-b", "job-1"])
        let replay = [RefusalReason.integrity(.eventLogDoesNotReplay)]
        let flipped = try mutate(evidence) { m in
            var e = self.events(m)
            guard case .bytes(var b) = e[1] else { return }
            if let i = b.firstIndex(of: 0x01) { b[i] = 0x05 } // a byte of the runtime measurement
            e[1] = .bytes(b)
            m["event_log"] = .array(e)
        }
        XCTAssertEqual(refusals(try verify(flipped, nonce: nonce, claims: claims)), replay)
        let dropped = try mutate(evidence) { m in m["event_log"] = .array(Array(self.events(m).dropLast())) }
        XCTAssertEqual(refusals(try verify(dropped, nonce: nonce, claims: claims)), replay)
        let reordered = try mutate(evidence) { m in
            var e = self.events(m)
            e.swapAt(1, 2)
            m["event_log"] = .array(e)
        }
        XCTAssertEqual(refusals(try verify(reordered, nonce: nonce, claims: claims)), replay)
        let inserted = try mutate(evidence) { m in
            m["event_log"] = .array(self.events(m) + [.bytes(LaunchLogEvent.launch(try! sampleClaims(job: "job-x")).encoded)])
        }
        XCTAssertEqual(refusals(try verify(inserted, nonce: nonce, claims: claims)), replay)
    }

    func testRefusesUnknownEventType() throws {
        let (evidence, nonce, claims) = try launched()
        let unknown = try mutate(evidence) { m in
            m["event_log"] = .array(self.events(m) + [.bytes(CBOREncoder.encode(.textMap(["format": .text("parley/mystery/1")])))])
        }
        guard case .unparseable(let why)? = refusals(try verify(unknown, nonce: nonce, claims: claims)).first else {
            return XCTFail("an unknown event type must be refused")
        }
        XCTAssertTrue(why.contains("unknown event type"), why)
    }

    func testRefusesKeyMismatchBetweenEvidenceAndEvent() throws {
        let (evidence, nonce, claims) = try launched()
        let swapped = try mutate(evidence) { $0["public_key"] = .bytes(Array(Curve25519.KeyAgreement.PrivateKey().publicKey.rawRepresentation)) }
        XCTAssertEqual(refusals(try verify(swapped, nonce: nonce, claims: claims)), [.integrity(.keyMismatch)])
    }

    func testRefusesDebugWorker() throws {
        let p = try provider()
        let debugClaims = try sampleClaims(job: "dbg", debug: true)
        try p.recordLaunch(debugClaims)
        let nonce = Nonce.random()
        let evidence = try p.evidence(job: "dbg", nonce: nonce)
        XCTAssertEqual(refusals(try verify(evidence, nonce: nonce, claims: debugClaims)), [.appraisal(.debugWorker)])
    }

    func testRefusesQuoteByAnUnrestrictedKey() throws {
        let claims = try sampleClaims()
        var eventLog: [[UInt8]] = []
        do {
            let p = try provider()
            try p.recordLaunch(claims)
            eventLog = p.eventLog
        }
        let client = try environment.client()
        let key = try client.attestationKey(.unrestrictedSigningKey)
        let nonce = Nonce.random()
        let q = try client.quote(nonce: nonce.bytes, pcrs: [launchPCRIndex], key: .unrestrictedSigningKey)
        let evidence = TPMEvidence.make(attest: q.attest, signature: q.signature, akPublic: key.tpm2bPublic, pcrs: q.pcrs,
                                        eventLog: eventLog, job: claims.job, nonce: nonce,
                                        publicKey: claims.publicKey, signingKey: claims.signingKey)
        let pinned = try ECVerifyingKey(pem: key.pem).derRepresentation
        let r = refusals(try verify(evidence, nonce: nonce, claims: claims, ak: pinned))
        XCTAssertTrue(r.contains { if case .integrity(.tpmQuote(.attestationKeyAttributesMissing)) = $0 { return true }; return false }, "\(r)")
    }

    func testLogStaysConsistentAcrossRestartsAndStartsANewEpochAfterAReboot() throws {
        var p: TPMQuoteProvider? = try provider()
        let claims = try sampleClaims()
        try p?.recordLaunch(claims)
        XCTAssertEqual(p?.epoch, 1)
        p = nil
        p = try provider() // host restart, TPM untouched: same epoch, same log
        XCTAssertEqual(p?.epoch, 1)
        XCTAssertEqual(p?.eventLog.count, 2)
        let nonce = Nonce.random()
        guard case .trusted = try verify(try p!.evidence(job: claims.job, nonce: nonce), nonce: nonce, claims: claims) else {
            return XCTFail("evidence after a host restart must pass")
        }
        p = nil
        // A torn tail (crash mid-append) is cut, and the log still matches the PCR.
        let logPath = dir + "/tpm-events/epoch-1.log"
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: logPath))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data([0, 0, 1, 0, 0xa1]))
        // A complete event appended but never extended (crash between append and extend) is cut too.
        try handle.write(contentsOf: Data(LengthPrefix.frame(LaunchLogEvent.launch(try sampleClaims(job: "never-extended")).encoded)))
        try handle.close()
        p = try provider()
        XCTAssertEqual(p?.epoch, 1)
        XCTAssertEqual(p?.eventLog.count, 2)
        p = nil
        // A reboot (TPM Reset: PCRs zero, resetCount + 1): a new epoch starts.
        try XCTUnwrap(environment.softwareTPM).restart()
        p = try provider()
        XCTAssertEqual(p?.epoch, 2)
        XCTAssertEqual(p?.eventLog.count, 1, "a new epoch starts with its epoch event")
        XCTAssertTrue(FileManager.default.fileExists(atPath: logPath), "old epochs stay for auditors")
        XCTAssertThrowsError(try p!.evidence(job: claims.job, nonce: .random()), "the old job is not in the new epoch")
    }

    /// PCR 13 cannot be reset: a value the launch log does not explain stops the host (no silent re-basing).
    func testHostRefusesToStartWhenThePCRAndTheLogDisagree() throws {
        try environment.client().extendPCR(launchPCRIndex, with: .init(repeating: 0x42, count: 32))
        XCTAssertThrowsError(try provider()) { error in
            let reason = (error as? ParleyError)?.reason ?? ""
            XCTAssertTrue(reason.contains("PCR 13 holds a value that the launch log does not explain"), reason)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/tpm-events/epoch-1.log"))
        // A log that no longer matches (someone extended after the host's last event) stops it too.
        let other = try PlatformFixture(self)
        do { _ = try other.provider() }
        try other.environment.client().extendPCR(launchPCRIndex, with: .init(repeating: 0x43, count: 32))
        XCTAssertThrowsError(try other.provider()) { error in
            XCTAssertTrue(((error as? ParleyError)?.reason ?? "").contains("tpm-events/epoch-1.log"))
        }
    }

    /// An independent verifier, tpm2_checkquote, accepts the quote inside our evidence.
    func testTPM2CheckquoteAcceptsOurEvidence() throws {
        let (evidence, nonce, _) = try launched()
        let m = try CBORDecoder().decode(evidence).textKeyedMap("evidence")
        let work = try makeDirectory(self)
        try Data(try m.required("attest", in: "e").bytesValue("attest")).write(to: URL(fileURLWithPath: work + "/attest"))
        try Data(try m.required("signature", in: "e").bytesValue("sig")).write(to: URL(fileURLWithPath: work + "/sig"))
        guard case .map(let pcrs)? = m["pcrs"] else { return XCTFail("no PCRs") }
        let quoted = Array(0...10) + [launchPCRIndex]
        XCTAssertEqual(Set(pcrs.keys), Set(quoted.map { CBOR.unsigned(UInt64($0)) }), "the quote covers PCRs 0-9 (boot log, boot_aggregate), 10 and 13")
        let ours = try quoted.flatMap { try XCTUnwrap(pcrs[.unsigned(UInt64($0))]).bytesValue("pcr") }
        // tpm2-tools 5.4's raw PCR input handles at most 8 PCRs, so the PCRs come from
        // tpm2_pcrread in its serialized form (nothing extended them since the quote); its raw
        // values must equal the evidence's.
        let list = "sha256:" + quoted.map(String.init).joined(separator: ",")
        let tools = ["TPM2TOOLS_TCTI": environment.tcti], pcrread = try findExecutable("tpm2_pcrread")
        XCTAssertEqual(try runTool(pcrread, ["-Q", list, "-F", "serialized", "-o", work + "/pcrs"], environment: tools).status, 0)
        XCTAssertEqual(try runTool(pcrread, ["-Q", list, "-o", work + "/pcrs.raw"], environment: tools).status, 0)
        XCTAssertEqual(try FileIO.read(work + "/pcrs.raw"), ours, "tpm2_pcrread reads the values the evidence states")
        let akPEM = try String(contentsOfFile: TPMQuoteProvider.attestationKeyPath(in: dir), encoding: .utf8)
        try akPEM.write(toFile: work + "/ak.pem", atomically: true, encoding: .utf8)
        func checkquote(_ nonceHex: String) throws -> Int32 {
            try runTool(try findExecutable("tpm2_checkquote"), ["-u", work + "/ak.pem", "-m", work + "/attest", "-s", work + "/sig",
                                                                 "-f", work + "/pcrs", "-g", "sha256", "-q", nonceHex]).status
        }
        XCTAssertEqual(try checkquote(nonce.hex), 0)
        XCTAssertNotEqual(try checkquote(Nonce.random().hex), 0)
    }
}
