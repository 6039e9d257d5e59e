import Crypto
import Foundation
import ParleyAttestation
import ParleyCore
import ParleyHost
import ParleyModule
import ParleyParty
import XCTest
import ParleyQuoting
import ParleyTestSupport

/// A host with real worker processes, the campaign-lift module, two parties and their data.
class HostFixture: XCTestCase {
    var dir = ""
    var brand = PartyPrivateKey(), retailer = PartyPrivateKey(), author = PartyPrivateKey()
    var bundle: [UInt8] = []

    static var products: URL {
        URL(fileURLWithPath: CommandLine.arguments.first { $0.hasSuffix(".xctest") } ?? CommandLine.arguments[0]).deletingLastPathComponent()
    }
    static var worker: String { products.appendingPathComponent("parley-enclave").path }
    static var probe: String { products.appendingPathComponent("parley-sandbox-probe").path }

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("parley-host-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { [dir] in try? FileManager.default.removeItem(atPath: dir) }
        bundle = try CampaignLiftModule.seal(in: dir, brand: brand, retailer: retailer, author: author)
        writeData(people: 3000)
    }

    /// Exposures for `people` people across 3 campaigns; a purchase for every second one.
    func writeData(people: Int) {
        var exposures = "email_hash,campaign,region\n", purchases = "email_hash,amount,category\n"
        for i in 0..<people {
            let id = String(format: "%064x", i &* 2_654_435_761)
            exposures += "\(id),\(["spring", "summer", "fall"][i % 3]),\(i % 4)\n"
            if i % 2 == 0 { purchases += "\(id),\(i % 90).50,\(["soda", "juice", "water"][i % 3])\n" }
        }
        FileManager.default.createFile(atPath: dir + "/exposures.csv", contents: Data(exposures.utf8))
        FileManager.default.createFile(atPath: dir + "/purchases.csv", contents: Data(purchases.utf8))
    }

    func host(quotes: (any QuoteProvider)? = nil, environment: [String: String] = [:]) async throws -> HostService {
        var config = HostService.Configuration(dataDirectory: dir + "/host", workerExecutable: Self.worker)
        // Every worker of the suite runs with kill-on-unlisted: a system call its allow-list lacks
        // kills it (SIGSYS) and fails the test, instead of an EPERM the worker might get past.
        config.workerEnvironment = ["PARLEY_ENCLAVE_KILL_UNLISTED": "1"].merging(environment) { $1 }
        try FileManager.default.createDirectory(atPath: config.dataDirectory, withIntermediateDirectories: true)
        let h = HostService(configuration: config, quotes: try quotes ?? SoftwareQuoteProvider(dataDirectory: config.dataDirectory))
        addTeardownBlock { await h.shutdown() }
        return h
    }

    func softwarePolicy(_ host: HostService) throws -> AppraisalPolicy {
        let module = try SealedModule(bytes: bundle)
        let runtime = MeasurementDigest.of(try FileIO.read(Self.worker, maxBytes: 1 << 30))
        return try AppraisalPolicy(quote: .software, module: module.measurement, runtime: [runtime],
                                   anchors: TrustAnchors(quotingRoot: try Certificate(pem: try FileIO.readText(SoftwareQuotingCA.rootPath(in: host.configuration.dataDirectory)))))
    }

    /// What a party does before uploading: fetch evidence for a fresh nonce and verify it.
    func attest(_ host: HostService, job: String, policy: AppraisalPolicy) async throws -> AttestationResult {
        let nonce = Nonce.random()
        var ledger = InMemoryNonceLedger()
        switch AttestationVerifier(policy: policy, now: Date()).verify(try await host.evidence(job: job, nonce: nonce), nonce: nonce, ledger: &ledger) {
        case .trusted(let r): return r
        case .refused(let reasons): throw ParleyError(.verificationFailed, "\(reasons)")
        case .failed(let failure): throw ParleyError(.internal, "\(failure)")
        }
    }

    func upload(_ host: HostService, job: String, dataset: String, file: String, key: PartyPrivateKey, worker: LaunchClaims,
                mangle: (([UInt8]) -> [UInt8]?)? = nil) async throws -> HostService.Outcome<HostService.UploadReceipt> {
        let sealed = try PartyClient.SealedUpload(path: dir + "/" + file, job: job, dataset: dataset, worker: worker, key: key, chunkSize: 4096)
        var pieces: [[UInt8]] = []
        while let p = try sealed.next() { pieces.append(p) }
        var stream = pieces.flatMap { $0 }
        if let mangle { guard let m = mangle(stream) else { return .refused(reason: "mangled away", entry: nil) }; stream = m }
        var sent = false
        return try await host.upload(job: job, dataset: dataset, signature: sealed.signature) {
            defer { sent = true }
            return sent ? nil : stream
        }
    }
}
