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
}
