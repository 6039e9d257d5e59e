import Crypto
import Foundation
import ParleyAttestation
import ParleyCore
import XCTest
import ParleyQuoting

final class SoftwareQuoteTests: XCTestCase {
    let t0 = Date(timeIntervalSince1970: 1_780_000_000)
    var dir = ""
    var ca: SoftwareQuotingCA!
    var claims: LaunchClaims!

    override func setUpWithError() throws {
        dir = try makeDirectory(self)
        ca = try SoftwareQuotingCA.openOrCreate(dataDirectory: dir, now: t0)
        claims = try sampleClaims()
    }

    func policy(root: Certificate? = nil, module: UInt8 = 2, runtime: UInt8 = 1, signers: [UInt8]? = nil,
                maxAge: Int = 300, allowDebug: Bool = false, tier: AssuranceTier = .software) throws -> AppraisalPolicy {
        try AppraisalPolicy(quote: tier, module: MeasurementDigest(bytes: .init(repeating: module, count: 48)),
                            runtime: [MeasurementDigest(bytes: .init(repeating: runtime, count: 48))],
                            moduleSigners: try signers.map { try $0.map { try MeasurementDigest(bytes: .init(repeating: $0, count: 48)) } },
                            anchors: TrustAnchors(quotingRoot: root ?? ca.root, tpmAttestationKey: [1]),
                            maxAgeSeconds: maxAge, allowDebug: allowDebug, allowUnappraisedTPM: tier == .tpm)
    }

    func verify(_ doc: [UInt8], nonce: Nonce, policy p: AppraisalPolicy? = nil, at: Date? = nil) throws -> AttestationVerdict {
        var ledger = InMemoryNonceLedger()
        return AttestationVerifier(policy: try p ?? policy(), now: at ?? t0.addingTimeInterval(5)).verify(doc, nonce: nonce, ledger: &ledger)
    }

    func testCAFilesAreCreatedOnceWithPrivateModes() throws {
        for f in ["quoting-ca/root-key.pem", "quoting-ca/quoting-key.pem"] {
            let mode = try FileManager.default.attributesOfItem(atPath: dir + "/" + f)[.posixPermissions] as? NSNumber
            XCTAssertEqual(mode?.intValue, 0o600, f)
        }
        let again = try SoftwareQuotingCA.openOrCreate(dataDirectory: dir, now: t0.addingTimeInterval(60))
        XCTAssertEqual(again.root.der, ca.root.der, "the root is kept across restarts")
        XCTAssertEqual(again.quotingCertificate.der, ca.quotingCertificate.der)
        XCTAssertEqual(try String(contentsOfFile: SoftwareQuotingCA.rootPath(in: dir), encoding: .utf8), ca.root.pem)
    }

    func testQuotingCertificateIsRenewedBeforeItExpires() throws {
        let later = try SoftwareQuotingCA.openOrCreate(dataDirectory: dir, now: t0.addingTimeInterval(340 * 86_400))
        XCTAssertEqual(later.root.der, ca.root.der)
        XCTAssertNotEqual(later.quotingCertificate.der, ca.quotingCertificate.der)
    }

    /// `openssl verify` agrees that the quoting certificate chains to the exported root.
    func testOpenSSLVerifiesTheQuotingChain() throws {
        try ca.quotingCertificate.pem.write(toFile: dir + "/leaf.pem", atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        p.arguments = ["verify", "-x509_strict", "-CAfile", SoftwareQuotingCA.rootPath(in: dir), dir + "/leaf.pem"]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        p.waitUntilExit()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(p.terminationStatus, 0, text)
        XCTAssertTrue(text.contains("OK"), text)
    }

    func testGenuineDocumentIsTrustedAtTheSoftwareTier() throws {
        let nonce = Nonce.random()
        let doc = try ca.quote(claims, nonce: nonce, at: t0)
        guard case .trusted(let result) = try verify(doc, nonce: nonce) else { return XCTFail("a genuine document must pass") }
        XCTAssertEqual(result.tier, .software)
        XCTAssertEqual(result.claims, claims)
    }

    /// The worker's lock-down report is part of the quoted claims: a party reads what the sandbox
    /// was (the Landlock ABI, or "unavailable") from the evidence itself.
    func testTheLockDownReportIsQuotedAndReadBack() throws {
        var withReport = claims!
        withReport.sandbox = ["file-system": "applied: Landlock ABI 7 (kernel ABI 7): denied fs, tcp, scopes",
                              "identity": "applied: uid 65534 gid 65534, no capabilities"]
        let nonce = Nonce.random()
        guard case .trusted(let result) = try verify(try ca.quote(withReport, nonce: nonce, at: t0), nonce: nonce) else {
            return XCTFail("a genuine document with a lock-down report must pass")
        }
        XCTAssertEqual(result.claims.sandbox, withReport.sandbox)
        XCTAssertEqual(result.claims, withReport)
    }

    func testRefusesALockDownReportOutsideItsCaps() throws {
        let cases: [(String, [String: String])] = [
            ("33 steps", Dictionary(uniqueKeysWithValues: (0..<33).map { ("step-\($0)", "applied: x") })),
            ("a step name outside a-z 0-9 -", ["File_System": "applied: x"]),
            ("an empty step name", ["": "applied: x"]),
            ("an outcome over 1024 bytes", ["identity": String(repeating: "a", count: 1025)]),
        ]
        for (what, report) in cases {
            var c = claims!
            c.sandbox = report
            let nonce = Nonce.random()
            let reasons = refusals(try verify(try ca.quote(c, nonce: nonce, at: t0), nonce: nonce))
            XCTAssertTrue(reasons.contains { $0.description.contains("sandbox") }, "\(what): \(reasons)")
        }
    }

    func testRefusesTruncationAtEveryByte() throws {
        let nonce = Nonce.random()
        let doc = try ca.quote(claims, nonce: nonce, at: t0)
        for cut in 0..<doc.count {
            guard case .refused(let r) = try verify(Array(doc.prefix(cut)), nonce: nonce) else {
                return XCTFail("truncated at \(cut) was trusted")
            }
            XCTAssertFalse(r.isEmpty)
        }
    }

    func testRefusesEveryFlippedByte() throws {
        let nonce = Nonce.random()
        let doc = try ca.quote(claims, nonce: nonce, at: t0)
        for i in stride(from: 0, to: doc.count, by: 7) {
            var bad = doc
            bad[i] ^= 0x04
            if case .trusted = try verify(bad, nonce: nonce) { XCTFail("flipped byte \(i) was trusted") }
        }
    }

    func testRefusesWrongNonce() throws {
        let doc = try ca.quote(claims, nonce: .random(), at: t0)
        XCTAssertEqual(refusals(try verify(doc, nonce: .random())), [.integrity(.nonceMismatch)])
    }

    func testRefusesReusedNonceWithinItsWindow() throws {
        let nonce = Nonce.random()
        let doc = try ca.quote(claims, nonce: nonce, at: t0)
        var ledger = InMemoryNonceLedger(window: 3600)
        let verifier = AttestationVerifier(policy: try policy(), now: t0.addingTimeInterval(1))
        guard case .trusted = verifier.verify(doc, nonce: nonce, ledger: &ledger) else { return XCTFail("first use must pass") }
        guard case .refused(let r) = verifier.verify(doc, nonce: nonce, ledger: &ledger) else { return XCTFail("replay must fail") }
        XCTAssertEqual(r, [.appraisal(.nonceReused)])
    }

    func testRefusesStaleAndFutureDocuments() throws {
        let nonce = Nonce.random()
        let doc = try ca.quote(claims, nonce: nonce, at: t0)
        XCTAssertEqual(refusals(try verify(doc, nonce: nonce, at: t0.addingTimeInterval(301))), [.appraisal(.stale(ageSeconds: 301))])
        XCTAssertEqual(refusals(try verify(doc, nonce: nonce, at: t0.addingTimeInterval(-120))), [.appraisal(.fromTheFuture(aheadSeconds: 120))])
    }

    func testRefusesDocumentFromAnotherCA() throws {
        let otherDir = try makeDirectory(self)
        let other = try SoftwareQuotingCA.openOrCreate(dataDirectory: otherDir, now: t0)
        let nonce = Nonce.random()
        // Signed by another CA's quoting key, checked against our pinned root (wrong issuer) ...
        let foreign = try other.quote(claims, nonce: nonce, at: t0)
        guard case .integrity(.certificateChain)? = refusals(try verify(foreign, nonce: nonce)).first else {
            return XCTFail("a document from another CA must fail the chain check")
        }
        // ... and ours, checked against the other root (wrong pinned root).
        let ours = try ca.quote(claims, nonce: nonce, at: t0)
        guard case .integrity(.certificateChain)? = refusals(try verify(ours, nonce: nonce, policy: try policy(root: other.root))).first else {
            return XCTFail("a wrong pinned root must fail the chain check")
        }
    }

    func testRefusesExpiredQuotingCertificate() throws {
        let nonce = Nonce.random()
        let twoYears = t0.addingTimeInterval(2 * 365 * 86_400)
        let doc = try ca.quote(claims, nonce: nonce, at: twoYears) // a host that did not renew
        let r = refusals(try verify(doc, nonce: nonce, at: twoYears))
        XCTAssertEqual(r, [.integrity(.certificateChain("certificate has expired"))])
    }

    func testRefusesDebugWorkerUnlessAllowed() throws {
        let nonce = Nonce.random()
        let doc = try ca.quote(try sampleClaims(debug: true), nonce: nonce, at: t0)
        XCTAssertEqual(refusals(try verify(doc, nonce: nonce)), [.appraisal(.debugWorker)])
        guard case .trusted = try verify(doc, nonce: nonce, policy: try policy(allowDebug: true)) else {
            return XCTFail("allow_debug = true accepts a debug worker")
        }
    }

    func testRefusesUnexpectedModuleRuntimeSignerAndTier() throws {
        let nonce = Nonce.random()
        let doc = try ca.quote(claims, nonce: nonce, at: t0)
        XCTAssertEqual(refusals(try verify(doc, nonce: nonce, policy: try policy(module: 9))), [.appraisal(.moduleNotExpected)])
        XCTAssertEqual(refusals(try verify(doc, nonce: nonce, policy: try policy(runtime: 9))), [.appraisal(.runtimeNotAccepted)])
        XCTAssertEqual(refusals(try verify(doc, nonce: nonce, policy: try policy(signers: [9]))), [.appraisal(.signerNotAccepted)])
        guard case .trusted = try verify(doc, nonce: nonce, policy: try policy(signers: [9, 3])) else { return XCTFail("listed signer") }
        XCTAssertEqual(refusals(try verify(doc, nonce: nonce, policy: try policy(tier: .tpm))), [.appraisal(.wrongTier(got: .software))])
    }

    func testReasonsNeverContainTheExpectedValues() throws {
        let nonce = Nonce.random()
        let doc = try ca.quote(claims, nonce: nonce, at: t0)
        let expected = try policy(module: 9)
        for r in refusals(try verify(doc, nonce: nonce, policy: expected)) {
            XCTAssertFalse(r.description.contains(expected.module.hex))
            XCTAssertFalse(r.description.contains("0909"))
        }
    }

    func testPolicyRefusesEmptyOrMissingExpectations() throws {
        let m = try MeasurementDigest(bytes: .init(repeating: 1, count: 48))
        XCTAssertThrowsError(try AppraisalPolicy(quote: .software, module: m, runtime: [], anchors: .init(quotingRoot: ca.root)))
        XCTAssertThrowsError(try AppraisalPolicy(quote: .software, module: m, runtime: [m], moduleSigners: [], anchors: .init(quotingRoot: ca.root)))
        XCTAssertThrowsError(try AppraisalPolicy(quote: .software, module: m, runtime: [m], anchors: .init()))
        XCTAssertThrowsError(try AppraisalPolicy(quote: .tpm, module: m, runtime: [m], anchors: .init(quotingRoot: ca.root)))
    }

    func testFileNonceLedgerPersistsAcrossRuns() throws {
        let path = dir + "/ledger"
        let n = Nonce.random()
        var ledger = try FileNonceLedger(path: path, window: 60)
        try ledger.record(n, at: t0)
        let reopened = try FileNonceLedger(path: path, window: 60)
        XCTAssertTrue(reopened.contains(n, now: t0.addingTimeInterval(30)))
        XCTAssertFalse(reopened.contains(n, now: t0.addingTimeInterval(61)), "outside the window the nonce is forgotten")
        try "garbage\n".write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try FileNonceLedger(path: path))
    }
}
