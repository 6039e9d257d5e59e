import Foundation
import ParleyAttestation
import ParleyAudit
import ParleyCore
import ParleyParty
import ParleyTestSupport
import XCTest
import ParleyQuoting

/// The whole workflow through HTTP with the TPM quote provider on a private swtpm that a test
/// platform booted (a real boot log in PCRs 0-7; an IMA list in PCR 10 holding the real built
/// `parley` and `parley-enclave`), then the auditor's replay of the exported log, which
/// re-verifies the TPM evidence and replays its event logs.
final class HTTPTPMTests: HTTPTestCase {
    var tpm: TPMTestEnvironment?
    var platform: TestPlatform?
    static var products: URL { URL(fileURLWithPath: worker).deletingLastPathComponent() }

    override func setUp() async throws {
        let env = try TPMTestEnvironment(privateTPM: true)
        tpm = env
        tpmTCTI = env.tcti
        let platformDir = FileManager.default.temporaryDirectory.appendingPathComponent("parley-platform-\(UUID().uuidString)").path
        let booted = try TestPlatform.bootedHost(client: try env.client(), directory: platformDir, products: Self.products)
        platform = booted
        tpmPlatformLogs = booted.logPaths
        try await super.setUp()
    }

    override func tearDown() async throws {
        try await super.tearDown()
        tpm?.shutdown()
        if let platform { try? FileManager.default.removeItem(atPath: platform.directory) }
    }

    func tpmPolicy() throws -> AppraisalPolicy {
        try AppraisalPolicy(quote: .tpm, module: module.measurement,
                            runtime: [MeasurementDigest.of(try FileIO.read(Self.worker, maxBytes: 1 << 30))],
                            anchors: TrustAnchors(tpmAttestationKey: try ECVerifyingKey(pem: try FileIO.readText(dir + "/host/tpm-ak.pem")).derRepresentation),
                            platform: try XCTUnwrap(platform).reference(products: Self.products))
    }

    func testTPMQuotedWorkflowAndAuditReplay() async throws {
        let job = try await launch()
        let (http, brand, retailer, dir, policy) = (http!, brand, retailer, dir, try tpmPolicy())
        let doc = try await blocking { () -> ResultDocument in
            let w = try await ClientOps.verifiedWorker(http, job: job, policy: policy)
            XCTAssertEqual(w.tier, .tpm)
            _ = try await ClientOps.upload(http, job: job, dataset: "exposures", file: dir + "/exposures.csv", key: brand, worker: w, progress: false)
            _ = try await ClientOps.upload(http, job: job, dataset: "purchases", file: dir + "/purchases.csv", key: retailer, worker: w, progress: false)
            return try await ClientOps.runQuery(http, job: job, query: "conversions", receiver: "brand", key: brand, worker: w)
        }
        XCTAssertEqual(doc.budgetLeft, "9")
        // A software policy refuses the TPM-quoted worker: the tier is part of the verdict.
        let software = try AppraisalPolicy(quote: .software, module: module.measurement, runtime: policy.runtime,
                                           anchors: TrustAnchors(quotingRoot: try SoftwareQuotingCA.openOrCreate(dataDirectory: dir + "/ca", now: Date()).root))
        do {
            _ = try await ClientOps.verifiedWorker(http, job: job, policy: software)
            XCTFail("a software policy must refuse the TPM-quoted worker")
        } catch {}

        // The auditor: export over HTTP, replay offline with the pinned AK.
        let export = try await http.request("GET", "/v1/audit/export")
        XCTAssertEqual(export.status, 200)
        let files = try CBORDecoder(limits: .init(maxBytes: 1 << 30, maxDepth: 3, maxItems: 1 << 20)).decode(export.body).textKeyedMap("bundle")
        let out = dir + "/audit"
        for (path, content) in files {
            let full = out + "/" + path
            try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try FileIO.write(try content.bytesValue(path), to: full)
        }
        XCTAssertNotNil(files.keys.first { $0.hasPrefix("tpm-events/") }, "the bundle carries the TPM event logs")
        let pinned = AuditPolicy(expectedModules: [module.measurement], anchors: policy.anchors)
        let report = AuditReplay(bundle: try AuditBundle.open(out), policy: pinned).run()
        guard case .passed = report.verdict else { return XCTFail("replay failed: \(report.text)") }
        XCTAssertTrue(report.text.contains("tier tpm"), report.text)
        // The same log, replayed expecting another module, fails at the launch entry.
        let strict = AuditPolicy(expectedModules: [.of([1])], anchors: policy.anchors)
        guard case .failed(let f) = AuditReplay(bundle: try AuditBundle.open(out), policy: strict).run().verdict else {
            return XCTFail("an unexpected module must fail the replay")
        }
        XCTAssertNotNil(f.entryIndex)
    }

    /// A host that lies about the job: a real HTTP proxy in front of the real host answers the
    /// evidence request for job B with job A's genuine, fresh evidence (the party's own nonce).
    /// The unmodified client code behind `attest verify --job B`, `upload` and `query run`
    /// refuses it as evidence for another job, and nothing reaches job B.
    func testAHostAnsweringWithAnotherJobsEvidenceIsRefusedAndGetsNothing() async throws {
        let jobA = try await launch(), jobB = try await launch()
        let policy = try tpmPolicy()
        let (liar, proxy) = try await LyingProxy.start(upstream: http, evidenceOf: [jobB: jobA])
        defer { proxy.cancel() }
        // Through the same proxy, job A's evidence is genuine and verifies for A.
        let a = try await ClientOps.verifiedWorker(liar, job: jobA, policy: policy)
        XCTAssertEqual(a.claims.job, jobA)

        // `parley attest verify --server --job B`: fetch, then verify for the job asked about.
        let nonce = Nonce.random()
        let (evidence, _) = try await ClientOps.fetchEvidence(liar, job: jobB, nonce: nonce, log: nil)
        var ledger = InMemoryNonceLedger()
        guard case .refused(let reasons) = AttestationVerifier(policy: policy, now: Date()).verify(evidence, nonce: nonce, ledger: &ledger, job: jobB) else {
            return XCTFail("evidence for job A must not pass as job B's")
        }
        XCTAssertEqual(reasons, [.appraisal(.otherJob)])
        XCTAssertEqual(reasons.map(\.code), ["appraisal.otherJob"])
        var again = InMemoryNonceLedger()
        guard case .trusted = AttestationVerifier(policy: policy, now: Date()).verify(evidence, nonce: nonce, ledger: &again, job: jobA) else {
            return XCTFail("the lie is the job: the same evidence is genuine for job A")
        }

        // `parley upload` and `parley query run` (with the client's log memory, as the CLI runs them).
        let state = ClientState(directory: dir + "/brand-state")
        let (brand, dir) = (brand, dir)
        let follower = try await LogFollower(http: liar, state: state, pinnedKey: nil)
        for attempt in ["upload", "query"] {
            do {
                let w = try await ClientOps.verifiedWorker(liar, job: jobB, policy: policy, log: follower)
                if attempt == "upload" {
                    _ = try await ClientOps.upload(liar, job: jobB, dataset: "exposures", file: dir + "/exposures.csv", key: brand, worker: w, progress: false, log: follower)
                } else {
                    _ = try await ClientOps.runQuery(liar, job: jobB, query: "conversions", receiver: "brand", key: brand, worker: w, log: follower)
                }
                XCTFail("\(attempt) must refuse evidence for another job")
            } catch let e as ParleyError {
                XCTAssertEqual(e.code, .verificationFailed, "\(attempt): \(e.reason)")
                XCTAssertTrue(e.reason.contains(AppraisalFailure.otherJob.description), "\(attempt): \(e.reason)")
                XCTAssertTrue(e.reason.contains("nothing was sent"), e.reason)
            }
        }
        // Nothing was uploaded to either job (asked of the real host, not the liar).
        for job in [jobA, jobB] {
            let status = try await http.request("GET", "/v1/jobs/\(job)").json()
            let datasets = try XCTUnwrap(status["datasets"] as? [String: [String: Any]])
            XCTAssertEqual(datasets.values.compactMap { $0["accepted"] as? Bool }, [false, false], "job \(job): \(datasets)")
        }
    }

    /// Launch entries carry the platform logs as a change from the previous launch's: with a
    /// 2,000-entry IMA list, the first launch entry holds the list whole and each later one only
    /// the entries measured since, so several launches stay far under the log's caps (16 MiB an
    /// entry, 7 MiB a worker's ledger handoff); the audit replay rebuilds and re-verifies them all.
    func testLaunchEntriesCarryOnlyTheNewIMAEntriesAndReplay() async throws {
        let platform = try XCTUnwrap(platform)
        for i in platform.entries.count..<2_000 {
            try platform.measure(path: "/usr/lib/parley-test/lib-\(i).so", digest: PCRBank.sha256.hash(Array("library \(i)".utf8)))
        }
        let imaBytes = try FileIO.read(platform.imaLogPath).count
        XCTAssertGreaterThan(imaBytes, 200_000, "a 2,000-entry list is a few hundred KB")
        var jobs: [String] = []
        for round in 0..<4 {
            jobs.append(try await launch())
            for k in 0..<3 { try platform.measure(path: "/usr/bin/tool-\(round)-\(k)", digest: PCRBank.sha256.hash([UInt8(round), UInt8(k)])) }
        }
        let log = try XCTUnwrap(server).log
        let launchEntries = try log.entries(from: 0, count: Int(log.size)).compactMap { bytes -> (Int, LaunchRecord)? in
            guard case .launch(let l) = try LogRecord(bytes: bytes).body else { return nil }
            return (bytes.count, l)
        }
        XCTAssertEqual(launchEntries.map(\.1.claims.job), jobs)
        let first = try XCTUnwrap(launchEntries.first)
        XCTAssertNotNil(first.1.platform?.bootLog, "the first launch after the host started carries the boot log")
        XCTAssertEqual(first.1.platform?.imaKept, 0)
        XCTAssertGreaterThan(first.0, imaBytes, "and the whole IMA list")
        for (size, l) in launchEntries.dropFirst() {
            let delta = try XCTUnwrap(l.platform)
            XCTAssertNil(delta.bootLog, "the boot log is named by its digest")
            XCTAssertGreaterThan(delta.imaKept, 200_000)
            XCTAssertLessThan(delta.imaAdded.count, 2_000, "only the IMA entries measured since the last launch")
            XCTAssertLessThan(size, imaBytes / 4, "job \(l.claims.job)'s entry is \(size) bytes")
        }
        let handoff = try log.ledgerHandoff(ledger: module.definition.ledgerID) // the ledger's launches still fit a worker's handoff
        XCTAssertEqual(handoff.items.map(\.index).count, 4, "one launch entry per job, none ended")

        let export = try await http.request("GET", "/v1/audit/export")
        XCTAssertEqual(export.status, 200)
        let files = try CBORDecoder(limits: .init(maxBytes: 1 << 30, maxDepth: 3, maxItems: 1 << 20)).decode(export.body).textKeyedMap("bundle")
        let out = dir + "/audit-ima"
        for (path, content) in files {
            let full = out + "/" + path
            try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try FileIO.write(try content.bytesValue(path), to: full)
        }
        let report = AuditReplay(bundle: try AuditBundle.open(out), policy: AuditPolicy(expectedModules: [module.measurement], anchors: try tpmPolicy().anchors)).run()
        guard case .passed = report.verdict else { return XCTFail("replay failed: \(report.text)") }
    }
}
