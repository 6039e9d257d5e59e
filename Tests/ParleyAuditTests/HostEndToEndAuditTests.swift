import Foundation
import ParleyAttestation
import ParleyAudit
import ParleyCore
import ParleyHost
import ParleyModule
import ParleyParty
import XCTest
import ParleyQuoting
import ParleyHostLog

/// The real thing: a `HostService` with sandboxed `parley-enclave` workers, its events written
/// to a `HostLog` the way `parley serve` wires them, exported and replayed.
final class HostEndToEndAuditTests: XCTestCase {
    static var worker: String {
        URL(fileURLWithPath: CommandLine.arguments.first { $0.hasSuffix(".xctest") } ?? CommandLine.arguments[0])
            .deletingLastPathComponent().appendingPathComponent("parley-enclave").path
    }

    func testARealJobReplaysCleanlyAndItsReleaseIsCharged() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("parley-audit-e2e-\(UUID().uuidString)").path
        let data = dir + "/host"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }

        let brand = PartyPrivateKey(), retailer = PartyPrivateKey(), author = PartyPrivateKey()
        try brand.publicKey.pemRepresentation.write(toFile: dir + "/brand.pub", atomically: true, encoding: .utf8)
        try retailer.publicKey.pemRepresentation.write(toFile: dir + "/retailer.pub", atomically: true, encoding: .utf8)
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        try FileManager.default.copyItem(atPath: repo.appendingPathComponent("Enclave/Modules/campaign-lift/campaign-lift.toml").path,
                                         toPath: dir + "/campaign-lift.toml")
        let module = try SealedModule.seal(try ModuleDefinition.load(source: dir + "/campaign-lift.toml",
                                                                     author: Array(author.signing.publicKey.derRepresentation)), key: author)
        var exposures = "email_hash,campaign,region\n", purchases = "email_hash,amount,category\n"
        for i in 0..<600 {
            let id = String(format: "%064x", i &* 2_654_435_761)
            exposures += "\(id),\(["spring", "summer", "fall"][i % 3]),\(i % 4)\n"
            if i % 2 == 0 { purchases += "\(id),\(i % 90).50,\(["soda", "juice", "water"][i % 3])\n" }
        }
        try exposures.write(toFile: dir + "/exposures.csv", atomically: true, encoding: .utf8)
        try purchases.write(toFile: dir + "/purchases.csv", atomically: true, encoding: .utf8)

        let log = try HostLog(dataDirectory: data)
        var config = HostService.Configuration(dataDirectory: data, workerExecutable: Self.worker)
        config.workerEnvironment = ["PARLEY_ENCLAVE_KILL_UNLISTED": "1"]  // a call the allow-list lacks fails the test
        let host = HostService(configuration: config, quotes: try SoftwareQuoteProvider(dataDirectory: data))
        addTeardownBlock { await host.shutdown() }
        let recorded = LockedErrors()
        host.onEvent = { [unowned host] event in
            do {
                switch event {
                case .launched(let job, let claims, let bundle, let tier, let counted):
                    let nonce = Nonce.random()
                    try log.recordLaunch(job: job, claims: claims, module: bundle.bytes, evidence: try host.quotes.evidence(for: claims, nonce: nonce),
                                         nonce: nonce, tier: tier, ledgerCounted: counted)
                case .workerEntry(let job, let entry): try log.recordWorkerEntry(job: job, entry: entry)
                case .uploadRefused(let job, let dataset, let code): try log.recordUploadRefused(job: job, dataset: dataset, code: code.rawValue)
                case .stopped(let job): try log.recordStopped(job: job)
                case .failed(let job, let reason): try log.recordFailed(job: job, reason: reason)
                }
            } catch {
                recorded.append(error)
            }
        }

        let job = try await host.launch(bundle: module.bytes)
        let root = try Certificate(pem: try FileIO.readText(SoftwareQuotingCA.rootPath(in: data)))
        let policy = try AppraisalPolicy(quote: .software, module: module.measurement,
                                         runtime: [MeasurementDigest.of(try FileIO.read(Self.worker, maxBytes: 1 << 30))],
                                         anchors: TrustAnchors(quotingRoot: root))
        let nonce = Nonce.random()
        var ledger = InMemoryNonceLedger()
        let evidence = try await host.evidence(job: job.id, nonce: nonce)
        guard case .trusted(let attested) = AttestationVerifier(policy: policy, now: Date())
            .verify(evidence, nonce: nonce, ledger: &ledger) else { return XCTFail("attestation") }
        for (dataset, file, key) in [("exposures", "exposures.csv", brand), ("purchases", "purchases.csv", retailer)] {
            let sealed = try PartyClient.SealedUpload(path: dir + "/" + file, job: job.id, dataset: dataset, worker: attested.claims,
                                                      key: key, chunkSize: 4096)
            guard case .accepted = try await host.upload(job: job.id, dataset: dataset, signature: sealed.signature, chunks: { try sealed.next() }) else {
                return XCTFail("upload of \(dataset)")
            }
        }
        let request = try PartyClient.queryRequest(job: job.id, query: "conversions", receiver: "brand", key: brand)
        guard case .accepted = try await host.query(job: job.id, query: "conversions", receiver: "brand", nonce: request.nonce,
                                              signature: request.signature) else { return XCTFail("query") }
        try await host.stop(job: job.id)
        XCTAssertEqual(recorded.errors.count, 0, "\(recorded.errors)")

        let bundle = try AuditBundle.export(from: log, to: dir + "/bundle")
        let report = AuditReplay(bundle: bundle, policy: AuditPolicy(expectedModules: [module.measurement], logKey: log.verifierKey,
                                                                      anchors: TrustAnchors(quotingRoot: root))).run()
        XCTAssertEqual(report.verdict, .passed, report.text)
        XCTAssertEqual(report.entryCount, 6, "launch, two uploads, the release, the worker's closing entry, stopped: " + report.text)
        XCTAssertTrue(report.text.contains("conversions to brand: epsilon 1"), report.text)
        XCTAssertEqual(report.jobs.map(\.state), [.stopped])
        XCTAssertEqual(report.jobs.first?.epsilonSpent, "1")
        XCTAssertEqual(report.uploads.map(\.rows), [600, 300])
        XCTAssertEqual(report.releases.map(\.query), ["conversions"])
        XCTAssertEqual(report.releases.first?.budgetLeft, "9")
        XCTAssertEqual(Set(report.epsilonByDataset.map(\.epsilon)), ["1"])
    }
}

/// Errors met inside the host's event callback, which cannot throw.
final class LockedErrors: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [any Error] = []
    func append(_ error: any Error) { lock.lock(); list.append(error); lock.unlock() }
    var errors: [any Error] { lock.lock(); defer { lock.unlock() }; return list }
}
