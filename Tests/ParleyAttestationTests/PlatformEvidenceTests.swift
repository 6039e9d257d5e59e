import Crypto
import Foundation
import ParleyAttestation
import ParleyCore
import ParleyTestSupport
import ParleyTPM
import ParleyTPMProvider
import XCTest

/// TPM evidence with the platform's logs on a private swtpm that a test platform booted: replay,
/// appraisal, the weaker unappraised tier, and the attacks the issue names, each refused.
final class PlatformEvidenceTests: XCTestCase {
    let t0 = Date(timeIntervalSince1970: 1_780_000_000)

    func verify(_ evidence: [UInt8], nonce: Nonce, policy: AppraisalPolicy, job: String? = nil) -> AttestationVerdict {
        var ledger = InMemoryNonceLedger()
        return AttestationVerifier(policy: policy, now: t0).verify(evidence, nonce: nonce, ledger: &ledger, job: job)
    }

    func mutate(_ evidence: [UInt8], _ change: (inout [String: CBOR]) throws -> Void) throws -> [UInt8] {
        var m = try CBORDecoder(limits: .init(maxBytes: 40 << 20, maxDepth: 4, maxItems: 10_000)).decode(evidence).textKeyedMap("evidence")
        try change(&m)
        return CBOREncoder.encode(.textMap(m))
    }

    /// Rewrites the boot log inside the evidence.
    func withBootLog(_ evidence: [UInt8], _ change: ([BootEvent]) -> [BootEvent]) throws -> [UInt8] {
        try mutate(evidence) { m in
            let log = try UnverifiedBootLog(bytes: try m.required("boot_log", in: "e").bytesValue("boot_log"))
            m["boot_log"] = .bytes(UnverifiedBootLog(header: log.header, banks: log.banks, events: change(log.events), startupLocality: log.startupLocality).encoded)
        }
    }

    func launched(_ fixture: PlatformFixture, job: String = "job-1") throws -> (TPMQuoteProvider, [UInt8], Nonce, LaunchClaims) {
        let p = try fixture.provider(now: t0)
        let claims = try sampleClaims(job: job)
        try p.recordLaunch(claims)
        let nonce = Nonce.random()
        return (p, try p.evidence(job: job, nonce: nonce), nonce, claims)
    }

    func testAppraisedPlatformIsTheTPMTier() throws {
        let f = try PlatformFixture(self)
        let (_, evidence, nonce, claims) = try launched(f)
        guard case .trusted(let r) = verify(evidence, nonce: nonce, policy: try f.policy(claims: claims), job: "job-1") else {
            return XCTFail("an appraised platform must pass")
        }
        XCTAssertEqual(r.tier, .tpm)
        XCTAssertNil(r.warning)
        XCTAssertEqual(refusals(verify(evidence, nonce: nonce, policy: try f.policy(claims: claims), job: "job-2")), [.appraisal(.otherJob)],
                       "evidence whose launch names another job than the one asked about is refused")
    }

    /// The kernel's first IMA entry is recomputed from the quoted PCRs 0-9, and the value the
    /// test platform wrote is cross-checked with independent tools: `tpm2_pcrread` reads PCRs 0-9
    /// from the swtpm and `sha256sum` hashes their concatenation.
    func testBootAggregateIsRecomputedFromTheQuotedPCRs() throws {
        let f = try PlatformFixture(self)
        let (p, evidence, nonce, claims) = try launched(f)
        XCTAssertEqual(p.quotedPCRs, Array(0...10) + [launchPCRIndex], "the quote covers PCRs 8 and 9, which boot_aggregate hashes")
        guard case .trusted = verify(evidence, nonce: nonce, policy: try f.policy(claims: claims), job: "job-1") else {
            return XCTFail("a boot_aggregate the kernel would write must pass")
        }
        let first = try XCTUnwrap(try UnverifiedIMAList(binary: try FileIO.read(f.platform.imaLogPath)).entries.first)
        guard case .file(let path, let alg, let digest, _) = first.content else { return XCTFail("boot_aggregate is an ima-ng entry") }
        XCTAssertEqual([path, alg], ["boot_aggregate", "sha256"])
        let work = try makeDirectory(self)
        let tools = ["TPM2TOOLS_TCTI": f.environment.tcti]
        XCTAssertEqual(try runTool(try findExecutable("tpm2_pcrread"), ["-Q", "sha256:0,1,2,3,4,5,6,7,8,9", "-o", work + "/pcrs.raw"],
                                   environment: tools).status, 0)
        XCTAssertEqual(try FileIO.read(work + "/pcrs.raw").count, 320)
        let sum = try runTool(try findExecutable("sha256sum"), [work + "/pcrs.raw"]).output
        XCTAssertEqual(String(sum.prefix(64)), Hex.encode(digest), "sha256sum over tpm2_pcrread's PCRs 0-9 is the boot_aggregate")
        // The reference builder leaves boot_aggregate off the allow-list: it is recomputed instead.
        XCTAssertNil(try f.reference().runtime.digests["boot_aggregate"])
    }

    func testRefusesAWrongBootAggregate() throws {
        let f = try PlatformFixture(self, bootAggregate: .digest([UInt8](repeating: 0x5a, count: 32)))
        let (_, evidence, nonce, claims) = try launched(f)
        XCTAssertEqual(refusals(verify(evidence, nonce: nonce, policy: try f.policy(claims: claims), job: "job-1")),
                       [.appraisal(.platform(.bootAggregate(.mismatch(algorithm: "sha256"))))])
        XCTAssertEqual(RefusalReason.appraisal(.platform(.bootAggregate(.mismatch(algorithm: "sha256")))).code, "appraisal.platform.bootAggregate.mismatch")
    }

    func testRefusesAListWithoutBootAggregateFirst() throws {
        let f = try PlatformFixture(self, bootAggregate: .omitted)
        let (_, evidence, nonce, claims) = try launched(f)
        XCTAssertEqual(refusals(verify(evidence, nonce: nonce, policy: try f.policy(claims: claims), job: "job-1")),
                       [.appraisal(.platform(.bootAggregate(.missing)))])
        // Listing "boot_aggregate" in a Keylime policy does not let a later entry of that name pass.
        let late = try PlatformFixture(self, bootAggregate: .omitted)
        try late.platform.measure(path: "boot_aggregate", digest: [UInt8](repeating: 7, count: 32))
        let (_, ev2, n2, c2) = try launched(late)
        let good = try late.reference()
        var digests = good.runtime.digests
        digests["boot_aggregate"] = [Hex.encode([UInt8](repeating: 7, count: 32))]
        let listed = try PlatformReference(boot: good.boot, runtime: try RuntimePolicy(digests: digests, excludes: ["boot_aggregate"]),
                                           requiredMeasured: good.requiredMeasured)
        XCTAssertEqual(refusals(verify(ev2, nonce: n2, policy: try late.policy(claims: c2, reference: listed), job: "job-1")),
                       [.appraisal(.platform(.bootAggregate(.missing))),
                        .appraisal(.platform(.executableNotAllowed(entry: 2, path: "boot_aggregate", digest: Hex.encode([UInt8](repeating: 7, count: 32)))))])
    }

    /// PCRs 0-9 extended after the kernel started IMA (here PCR 9, which the boot log does not
    /// cover): the boot log still replays to 0-7, but boot_aggregate no longer matches.
    func testRefusesPCRsExtendedAfterIMAStarted() throws {
        let f = try PlatformFixture(self)
        try f.environment.client().extendPCR(9, with: [UInt8](repeating: 0x99, count: 32))
        let (_, evidence, nonce, claims) = try launched(f)
        XCTAssertEqual(refusals(verify(evidence, nonce: nonce, policy: try f.policy(claims: claims), job: "job-1")),
                       [.appraisal(.platform(.bootAggregate(.mismatch(algorithm: "sha256"))))])
    }

    /// The stage's other outcomes, on entries directly: a SHA-1 aggregate is over the SHA-1 bank,
    /// which the quote does not cover; a quote without PCR 8 cannot check a SHA-256 one.
    func testBootAggregateBankAndPCRCoverage() throws {
        let pcrs = Dictionary(uniqueKeysWithValues: (0...9).map { ($0, [UInt8](repeating: UInt8($0), count: 32)) })
        let expected = try XCTUnwrap(BootAggregateAppraiser.expected(bank: .sha256, pcrs: pcrs))
        XCTAssertEqual(expected, PCRBank.sha256.hash((0...9).flatMap { [UInt8](repeating: UInt8($0), count: 32) }))
        let good = IMAEntry.file(sequence: 0, path: "boot_aggregate", algorithm: .sha256, digest: expected)
        XCTAssertNil(BootAggregateAppraiser.appraise(entries: [good], quoted: pcrs))
        XCTAssertEqual(BootAggregateAppraiser.appraise(entries: [good], quoted: pcrs.filter { $0.key != 8 }), .pcrNotQuoted(8))
        let sha1 = IMAEntry.file(sequence: 0, path: "boot_aggregate", algorithm: .sha1, digest: [UInt8](repeating: 0, count: 20))
        XCTAssertEqual(BootAggregateAppraiser.appraise(entries: [sha1], quoted: pcrs), .bankNotQuoted(algorithm: "sha1"))
        XCTAssertEqual(BootAggregateAppraiser.appraise(entries: [], quoted: pcrs), .missing)
        let second = IMAEntry.file(sequence: 1, path: "boot_aggregate", algorithm: .sha256, digest: expected)
        XCTAssertEqual(BootAggregateAppraiser.appraise(entries: [second], quoted: pcrs), .missing, "only the first entry counts")
        // A SHA-1 aggregate hashes PCRs 0-7 only (the kernel adds 8-9 to other banks).
        let sha1PCRs = Dictionary(uniqueKeysWithValues: (0...7).map { ($0, [UInt8](repeating: UInt8($0), count: 20)) })
        XCTAssertEqual(BootAggregateAppraiser.expected(bank: .sha1, pcrs: sha1PCRs), PCRBank.sha1.hash((0...7).flatMap { [UInt8](repeating: UInt8($0), count: 20) }))
    }

    func testEvidenceWithoutPlatformLogsIsRefusedByDefaultAndWeakerWhenAllowed() throws {
        let f = try PlatformFixture(self)
        let p = try f.provider(logs: false, now: t0)
        let claims = try sampleClaims()
        try p.recordLaunch(claims)
        let nonce = Nonce.random()
        let evidence = try p.evidence(job: claims.job, nonce: nonce)
        XCTAssertEqual(refusals(verify(evidence, nonce: nonce, policy: try f.policy(claims: claims))), [.appraisal(.platformNotAppraised)])
        XCTAssertThrowsError(try AppraisalPolicy(quote: .tpm, module: claims.module, runtime: [claims.runtime],
                                                 anchors: TrustAnchors(tpmAttestationKey: try f.pinnedAK())),
                             "a TPM policy without reference values needs the explicit setting")
        guard case .trusted(let r) = verify(evidence, nonce: nonce, policy: try f.policy(claims: claims, allowUnappraised: true)) else {
            return XCTFail("allow_unappraised_tpm accepts it")
        }
        XCTAssertEqual(r.tier, .tpmUnappraised)
        XCTAssertTrue(r.warning?.contains("can forge launches") ?? false, r.warning ?? "no warning")
    }

    func testRefusesAFlippedDroppedOrReorderedBootEvent() throws {
        let f = try PlatformFixture(self)
        let (_, evidence, nonce, claims) = try launched(f)
        let policy = try f.policy(claims: claims)
        func bootFailure(_ e: [UInt8]) -> (pcr: Int, events: [Int])? {
            for r in refusals(verify(e, nonce: nonce, policy: policy)) {
                if case .integrity(.platformReplay(.bootPCRMismatch(let pcr, let events))) = r { return (pcr, events) }
            }
            return nil
        }
        let flipped = try withBootLog(evidence) { events in
            events.map { e in
                guard e.pcr == 1, e.isExtended, var d = e.digests[.sha256] else { return e }
                d[0] ^= 1
                return BootEvent(sequence: e.sequence, pcr: e.pcr, type: e.type, digests: [.sha256: d], data: e.data)
            }
        }
        XCTAssertEqual(bootFailure(flipped)?.pcr, 1)
        let dropped = try withBootLog(evidence) { events in
            var e = events
            e.remove(at: try! XCTUnwrap(e.lastIndex { $0.pcr == 7 && $0.isExtended }))
            return e
        }
        XCTAssertEqual(bootFailure(dropped)?.pcr, 7)
        let reordered = try withBootLog(evidence) { events in
            var e = events
            let onOne = e.indices.filter { e[$0].pcr == 1 && e[$0].isExtended }
            e.swapAt(onOne[0], onOne[1])
            return e
        }
        let r = try XCTUnwrap(bootFailure(reordered))
        XCTAssertEqual(r.pcr, 1)
        XCTAssertEqual(r.events.count, try UnverifiedBootLog(bytes: try FileIO.read(f.platform.bootLogPath)).events.filter { $0.pcr == 1 && $0.isExtended }.count)
    }

    func testRefusesAPCRThatDoesNotMatchItsLog() throws {
        let f = try PlatformFixture(self)
        try f.environment.client().extendPCR(4, with: PCRBank.sha256.hash(Array("an unlogged boot component".utf8)))
        let (_, evidence, nonce, claims) = try launched(f)
        let r = refusals(verify(evidence, nonce: nonce, policy: try f.policy(claims: claims)))
        guard case .integrity(.platformReplay(.bootPCRMismatch(4, _)))? = r.first else { return XCTFail("\(r)") }
    }

    func testRefusesAnExecutableNotOnTheAllowListAndADigestNotAccepted() throws {
        let f = try PlatformFixture(self)
        let reference = try f.reference()
        try f.platform.measure(path: "/usr/bin/python3", bytes: Array("an interpreter".utf8))
        try f.platform.measure(path: PlatformFixture.hostPath, bytes: Array("a rebuilt host".utf8))
        let (_, evidence, nonce, claims) = try launched(f)
        let r = refusals(verify(evidence, nonce: nonce, policy: try f.policy(claims: claims, reference: reference)))
        let python = Hex.encode(PCRBank.sha256.hash(Array("an interpreter".utf8)))
        let rebuilt = Hex.encode(PCRBank.sha256.hash(Array("a rebuilt host".utf8)))
        XCTAssertEqual(r, [.appraisal(.platform(.executableNotAllowed(entry: 3, path: "/usr/bin/python3", digest: python))),
                           .appraisal(.platform(.digestNotAllowed(entry: 4, path: PlatformFixture.hostPath, digest: rebuilt)))])
        XCTAssertTrue(r[0].description.contains("/usr/bin/python3") && r[0].description.contains(python), r[0].description)
    }

    func testRefusesWhenTheWorkerIsMissingFromTheIMAList() throws {
        let f = try PlatformFixture(self, measureWorker: false)
        let (_, evidence, nonce, claims) = try launched(f)
        let worker = Hex.encode(PCRBank.sha256.hash(f.workerBinary))
        XCTAssertEqual(refusals(verify(evidence, nonce: nonce, policy: try f.policy(claims: claims))),
                       [.appraisal(.platform(.requiredNotMeasured(digest: worker)))])
    }

    func testRefusesABootStateOtherThanTheReference() throws {
        let f = try PlatformFixture(self)
        let good = try f.reference()
        var pcrs = good.boot.pcrs
        pcrs[2] = .init(repeating: 9, count: 32)
        let reference = try PlatformReference(boot: try BootReference(pcrs: pcrs), runtime: good.runtime, requiredMeasured: good.requiredMeasured)
        let (_, evidence, nonce, claims) = try launched(f)
        XCTAssertEqual(refusals(verify(evidence, nonce: nonce, policy: try f.policy(claims: claims, reference: reference))),
                       [.appraisal(.platform(.bootPCRNotReference(pcr: 2)))])
    }

    /// The old design: launch events in PCR 23, which locality 0 resets. Such evidence does not
    /// cover PCR 13 and is refused; and PCR 13 itself cannot be reset.
    func testRefusesLaunchEventsInAResettablePCR() throws {
        let f = try PlatformFixture(self)
        let client = try f.environment.client()
        XCTAssertThrowsError(try client.resetPCR(launchPCRIndex), "PCR 13 must not be resettable at locality 0")
        _ = try f.provider(now: t0) // writes tpm-ak.pem
        let claims = try sampleClaims()
        let events = [LaunchLogEvent.epoch(number: 1, startedMillis: 0, resetCount: 0, restartCount: 0).encoded, LaunchLogEvent.launch(claims).encoded]
        try client.resetPCR(23)
        for e in events { try client.extendPCR(23, with: LaunchLogEvent.digest(of: e)) }
        let nonce = Nonce.random()
        let q = try client.quote(nonce: nonce.bytes, pcrs: bootPCRIndices + [imaPCRIndex, 23])
        let evidence = TPMEvidence.make(attest: q.attest, signature: q.signature, akPublic: try client.attestationKey().tpm2bPublic, pcrs: q.pcrs,
                                        eventLog: events, job: claims.job, nonce: nonce, publicKey: claims.publicKey, signingKey: claims.signingKey,
                                        platformLogs: PlatformLogBytes(bootLog: try FileIO.read(f.platform.bootLogPath), imaLog: try FileIO.read(f.platform.imaLogPath)))
        XCTAssertEqual(refusals(verify(evidence, nonce: nonce, policy: try f.policy(claims: claims))), [.integrity(.launchPCRNotQuoted)])
    }

    /// After a reboot, an attacker re-extends the previous boot's launch log into the fresh PCR 13
    /// and quotes: the log replays, but its epoch belongs to another boot of the TPM.
    func testRefusesAQuoteFromAnotherBootThanTheLaunchLog() throws {
        let f = try PlatformFixture(self)
        let (p, _, _, claims) = try launched(f)
        let oldLog = p.eventLog
        try XCTUnwrap(f.environment.softwareTPM).restart()
        let client = try f.environment.client()
        let platform = try TestPlatform(client: client, bootLog: try FileIO.read(TestPlatform.bootLogFixture), directory: f.dir + "/platform-2")
        try platform.measure(path: PlatformFixture.hostPath, bytes: f.hostBinary)
        try platform.measure(path: PlatformReferenceBuilder.workerIMAPath, bytes: f.workerBinary)
        for e in oldLog { try client.extendPCR(launchPCRIndex, with: LaunchLogEvent.digest(of: e)) }
        let nonce = Nonce.random()
        let q = try client.quote(nonce: nonce.bytes, pcrs: bootPCRIndices + [imaPCRIndex, launchPCRIndex])
        let evidence = TPMEvidence.make(attest: q.attest, signature: q.signature, akPublic: try client.attestationKey().tpm2bPublic, pcrs: q.pcrs,
                                        eventLog: oldLog, job: claims.job, nonce: nonce, publicKey: claims.publicKey, signingKey: claims.signingKey,
                                        platformLogs: PlatformLogBytes(bootLog: try FileIO.read(platform.bootLogPath), imaLog: try FileIO.read(platform.imaLogPath)))
        XCTAssertEqual(refusals(verify(evidence, nonce: nonce, policy: try f.policy(claims: claims))), [.integrity(.epochFromAnotherBoot)])
    }

    /// The attack, with tpm2-tools against the swtpm while the platform measures each tool
    /// as IMA would: re-derive the attestation key, extend a made-up launch event that names the
    /// reviewed module and runtime but the attacker's keys, quote with the party's nonce.
    func testTheTPMToolsForgeryFailsUnderTheDefaultPolicy() throws {
        let f = try PlatformFixture(self)
        let (p, _, _, honest) = try launched(f)
        let reference = try f.reference() // the party's reference values, from the host as it was
        let work = f.dir + "/attacker"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let tcti = f.environment.tcti
        // TPMU_PUBLIC_ID for ECC: x = Parley's template label, y empty (little-endian sizes).
        let label = Array("parley/tpm-ak/1".utf8)
        try Data([UInt8(label.count), 0] + label + [0, 0]).write(to: URL(fileURLWithPath: work + "/unique"))
        XCTAssertEqual(try f.platform.run("tpm2_createprimary", ["-Q", "-C", "e", "-g", "sha256", "-G", "ecc256:ecdsa-sha256:null",
                                                                 "-a", "fixedtpm|fixedparent|sensitivedataorigin|userwithauth|restricted|sign",
                                                                 "-u", work + "/unique", "-c", work + "/ak.ctx"], tcti: tcti).status, 0)
        try f.platform.run("tpm2_flushcontext", ["-t"], tcti: tcti) // swtpm has no resource manager
        XCTAssertEqual(try f.platform.run("tpm2_readpublic", ["-Q", "-c", work + "/ak.ctx", "-f", "pem", "-o", work + "/ak.pem"], tcti: tcti).status, 0)
        try f.platform.run("tpm2_flushcontext", ["-t"], tcti: tcti)
        XCTAssertEqual(try f.platform.run("tpm2_readpublic", ["-Q", "-c", work + "/ak.ctx", "-o", work + "/ak.pub"], tcti: tcti).status, 0)
        XCTAssertEqual(try ECVerifyingKey(pem: try FileIO.readText(work + "/ak.pem")).derRepresentation, try f.pinnedAK(),
                       "the attacker re-derives exactly the pinned attestation key")
        try f.platform.run("tpm2_flushcontext", ["-t"], tcti: tcti)
        var forged = honest
        forged.job = "job-forged"
        forged.publicKey = Array(Curve25519.KeyAgreement.PrivateKey().publicKey.rawRepresentation)
        forged.signingKey = Array(P384.Signing.PrivateKey().publicKey.derRepresentation)
        let forgedEvent = LaunchLogEvent.launch(forged).encoded
        XCTAssertEqual(try f.platform.run("tpm2_pcrextend", ["\(launchPCRIndex):sha256=" + Hex.encode(LaunchLogEvent.digest(of: forgedEvent))], tcti: tcti).status, 0)
        let nonce = Nonce.random()
        let pcrList = "sha256:" + p.quotedPCRs.map(String.init).joined(separator: ",")
        XCTAssertEqual(try f.platform.run("tpm2_quote", ["-Q", "-c", work + "/ak.ctx", "-l", pcrList, "-q", nonce.hex, "-g", "sha256",
                                                         "-m", work + "/attest", "-s", work + "/sig"], tcti: tcti).status, 0)
        let akPublic = Array(try FileIO.read(work + "/ak.pub"))
        let quoted = try f.environment.client().readPCRs(p.quotedPCRs)
        try f.platform.run("tpm2_flushcontext", ["-t"], tcti: tcti) // measured after the quote: outside its prefix
        func forgedEvidence(imaLog: [UInt8]) throws -> [UInt8] {
            TPMEvidence.make(attest: try FileIO.read(work + "/attest"), signature: try FileIO.read(work + "/sig"), akPublic: akPublic, pcrs: quoted,
                             eventLog: p.eventLog + [forgedEvent], job: forged.job, nonce: nonce,
                             publicKey: forged.publicKey, signingKey: forged.signingKey,
                             platformLogs: PlatformLogBytes(bootLog: try FileIO.read(f.platform.bootLogPath), imaLog: imaLog))
        }
        let policy = try f.policy(claims: honest, reference: reference)
        // The IMA list shows the tools that ran: appraisal names them.
        let fullList = try FileIO.read(f.platform.imaLogPath)
        let r = refusals(verify(try forgedEvidence(imaLog: fullList), nonce: nonce, policy: policy, job: forged.job))
        let named = r.compactMap { reason -> String? in
            if case .appraisal(.platform(.executableNotAllowed(_, let path, _))) = reason { return path }
            return nil
        }
        XCTAssertTrue(named.contains { $0.hasSuffix("/tpm2_pcrextend") } && named.contains { $0.hasSuffix("/tpm2_quote") }, "\(r)")
        // Leaving the tools out of the IMA list breaks its replay to PCR 10.
        let honestEntries = try UnverifiedIMAList(binary: fullList).entries.prefix(3)
        XCTAssertEqual(refusals(verify(try forgedEvidence(imaLog: UnverifiedIMAList(entries: Array(honestEntries)).binary), nonce: nonce, policy: policy, job: forged.job)),
                       [.integrity(.platformReplay(.imaPCRMismatch(entries: 3)))])
        // The same forgery without platform logs is exactly what the weaker tier cannot catch.
        let launchOnlyQuote = try f.environment.client().quote(nonce: nonce.bytes, pcrs: [launchPCRIndex])
        let bare = TPMEvidence.make(attest: launchOnlyQuote.attest, signature: launchOnlyQuote.signature, akPublic: akPublic, pcrs: launchOnlyQuote.pcrs,
                                    eventLog: p.eventLog + [forgedEvent], job: forged.job, nonce: nonce,
                                    publicKey: forged.publicKey, signingKey: forged.signingKey)
        XCTAssertEqual(refusals(verify(bare, nonce: nonce, policy: policy, job: forged.job)), [.appraisal(.platformNotAppraised)])
        guard case .trusted(let weak) = verify(bare, nonce: nonce, policy: try f.policy(claims: honest, allowUnappraised: true), job: forged.job) else {
            return XCTFail("without platform appraisal the forgery passes: that is why the tier is refused by default")
        }
        XCTAssertEqual(weak.tier, .tpmUnappraised)
        XCTAssertEqual(weak.claims.publicKey, forged.publicKey)
    }
}
