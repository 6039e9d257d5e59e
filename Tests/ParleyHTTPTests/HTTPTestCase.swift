import Crypto
import Foundation
import ParleyAttestation
import ParleyAudit
import ParleyCore
import ParleyHost
import ParleyHTTP
import ParleyModule
import ParleyParty
import ParleyTPMProvider
import XCTest
import ParleyQuoting
import ParleyHostLog

/// A real `parley serve` stack in this process: HTTP on a free loopback port, job store, log,
/// software quotes, real worker processes.
class HTTPTestCase: XCTestCase {
    var dir = ""
    var brand = PartyPrivateKey(), retailer = PartyPrivateKey(), author = PartyPrivateKey()
    var bundle: [UInt8] = []
    var module: SealedModule!
    var http: HTTP!
    var token = ""
    var service: HostService!
    var server: HostServer!
    var serverTask: Task<Void, any Error>?
    /// Subclasses set this to quote with a TPM instead of the software CA.
    var tpmTCTI: String?
    /// The server's limits; subclasses shorten the deadlines.
    var serverLimits = HostServer.Limits()
    /// With ``tpmTCTI``: the platform logs the host sends with each quote.
    var tpmPlatformLogs: PlatformLogPaths?
    /// How long the host waits for a worker's heartbeat before it fails the job.
    var heartbeatTimeout: TimeInterval { 15 }
    /// More environment for the workers (a memory limit).
    var extraWorkerEnvironment: [String: String] { [:] }

    static var worker: String {
        URL(fileURLWithPath: CommandLine.arguments.first { $0.hasSuffix(".xctest") } ?? CommandLine.arguments[0])
            .deletingLastPathComponent().appendingPathComponent("parley-enclave").path
    }

    override func setUp() async throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("parley-http-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir + "/host", withIntermediateDirectories: true)
        try brand.publicKey.pemRepresentation.write(toFile: dir + "/brand.pub", atomically: true, encoding: .utf8)
        try retailer.publicKey.pemRepresentation.write(toFile: dir + "/retailer.pub", atomically: true, encoding: .utf8)
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Enclave/Modules/campaign-lift/campaign-lift.toml")
        try FileManager.default.copyItem(atPath: source.path, toPath: dir + "/campaign-lift.toml")
        module = try SealedModule.seal(try ModuleDefinition.load(source: dir + "/campaign-lift.toml",
                                                                 author: Array(author.signing.publicKey.derRepresentation)), key: author)
        bundle = module.bytes
        writeCSV(people: 3000)
        try await startHost()
    }

    override func tearDown() async throws {
        await stopHost()
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// A quote provider to use instead of the software or TPM one (nil: those).
    var quoteProvider: ((String) throws -> any QuoteProvider)?

    func startHost() async throws {
        let data = dir + "/host"
        token = try OperatorToken.loadOrCreate(dataDirectory: data)
        let store = try JobStore(path: data + "/jobs.sqlite")
        let log = try HostLog(dataDirectory: data)
        for orphan in try store.failOrphans(at: Date()) { try log.recordFailed(job: orphan, reason: "host restarted") }
        let quotes: any QuoteProvider = try quoteProvider?(data) ?? tpmTCTI.map { try TPMQuoteSource(tcti: $0, dataDirectory: data, platformLogs: tpmPlatformLogs) }
            ?? SoftwareQuoteProvider(dataDirectory: data)
        var configuration = HostService.Configuration(dataDirectory: data, workerExecutable: Self.worker)
        configuration.heartbeatTimeout = heartbeatTimeout
        // A system call the worker's allow-list lacks kills it and fails the test (docs/sandbox.md).
        configuration.workerEnvironment = extraWorkerEnvironment.merging(["PARLEY_ENCLAVE_KILL_UNLISTED": "1"]) { $1 }
        service = HostService(configuration: configuration, quotes: quotes)
        let server = HostServer(service: service, store: store, log: log, token: token, limits: serverLimits)
        self.server = server
        server.connect()
        let box = BoundPort()
        let app = try server.application(host: "127.0.0.1", port: 0, logLevel: .critical) { box.set($0) }
        serverTask = Task { try await app.runService(gracefulShutdownSignals: []) }
        http = try HTTP(server: "http://127.0.0.1:\(try await box.wait())")
    }

    /// Stops the host and waits until it has let go of its data directory (the log's lock).
    func stopHost() async {
        await service?.shutdown()
        serverTask?.cancel()
        _ = await serverTask?.result
        serverTask = nil
        service = nil
        server = nil
        try? await Task.sleep(nanoseconds: 1_200_000_000) // the store watcher's last pass
    }

    func writeCSV(people: Int, name: String = "") {
        var exposures = "email_hash,campaign,region\n", purchases = "email_hash,amount,category\n"
        for i in 0..<people {
            let id = String(format: "%064x", i &* 2_654_435_761)
            exposures += "\(id),\(["spring", "summer", "fall"][i % 3]),\(i % 4)\n"
            if i % 2 == 0 { purchases += "\(id),\(i % 90).50,\(["soda", "juice", "water"][i % 3])\n" }
        }
        FileManager.default.createFile(atPath: dir + "/exposures\(name).csv", contents: Data(exposures.utf8))
        FileManager.default.createFile(atPath: dir + "/purchases\(name).csv", contents: Data(purchases.utf8))
    }

    func policy(module measurement: MeasurementDigest? = nil) throws -> AppraisalPolicy {
        try AppraisalPolicy(quote: .software, module: measurement ?? module.measurement,
                            runtime: [MeasurementDigest.of(try FileIO.read(Self.worker, maxBytes: 1 << 30))],
                            anchors: TrustAnchors(quotingRoot: try Certificate(pem: try FileIO.readText(dir + "/host/quoting-root.pem"))))
    }

    /// Runs blocking calls (raw sockets, the host's synchronous API) off the test's executor.
    func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await runBlocking(body)
    }

    /// Runs client calls (async-http-client) as they are: nothing blocks.
    func blocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await body()
    }

    func launch() async throws -> String {
        let (http, token, bundle) = (http!, token, bundle)
        return try await blocking { try await ClientOps.launch(http, token: token, bundle: bundle).job }
    }
}

/// Runs blocking work on its own thread and awaits it.
func runBlocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { c in Thread.detachNewThread { c.resume(with: Result { try body() }) } }
}

extension HTTP.Reply {
    /// The raw JSON object, for tests that check the document's shape itself (the product decodes
    /// typed bodies, ``APIJSON``).
    func json() throws -> [String: Any] {
        guard let obj = try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
            throw ParleyError(.malformed, "the server's answer is not a JSON object")
        }
        return obj
    }
}
