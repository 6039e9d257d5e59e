import Dispatch
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import NIOSSL
import HTTPTypes
import Logging
import NIOCore
import ParleyAttestation
import ParleyAudit
import ParleyCore
import ParleyHostLog
import ParleyHost
import ParleyModule

/// The host's HTTP API, version 1 (docs/api.md). Parties' requests are checked here against the
/// module's keys (and again by the worker, which trusts nothing the host says); the operator's
/// carry the bearer token. Every refusal is a 4xx with `{"error": "...", "code": "..."}` and
/// changes nothing.
public final class HostServer: @unchecked Sendable {
    // @unchecked: the service, store and log are thread-safe; `seenQueryNonces` has a lock.
    public let service: HostService
    public let store: JobStore
    public let log: HostLog
    let token: String
    let limits: Limits
    /// Gathers witnesses' cosignatures for the checkpoint served at `/v1/log/checkpoint`.
    public var witnesses = WitnessCollector(witnesses: [])
    let nonceLock = NSLock()
    let recordLock = NSLock()
    var seenQueryNonces: Set<[UInt8]> = []
    /// The per-address connection count of the running application (for tests and diagnostics).
    var connections: ConnectionCounter?
    /// The task that records workers' failures (``connect()``).
    var recorder: Task<Void, Never>?
    private let stopLock = NSLock()
    private var stopReason: String?
    private var stopWaiters: [CheckedContinuation<String, Never>] = []

    /// Sizes, deadlines and connection caps (`parley serve --help` names the flags).
    public struct Limits: Sendable {
        public var maxBundleBytes = 1 << 20
        /// No fixed cap by default: the worker refuses an upload its memory cannot hold
        /// (`parley serve --worker-memory`); an operator may still set one.
        public var maxUploadBytes = Int.max
        public var maxQueryRequestBytes = 4 << 10
        /// Seconds a connection may take to deliver a request's head (line and headers), from
        /// its start or from the end of the previous response; then it is closed.
        public var headerDeadline: TimeInterval = 10
        /// Seconds a request (an upload above all) may send nothing before it is cut; an upload
        /// cut this way is refused and its dataset's slot freed.
        public var idleDeadline: TimeInterval = 30
        /// Connections one client address may hold at once; more are closed on arrival.
        public var maxConnectionsPerAddress = 128
        public init() {}
    }

    public init(service: HostService, store: JobStore, log: HostLog, token: String, limits: Limits = Limits()) {
        self.service = service
        self.store = store
        self.log = log
        self.token = token
        self.limits = limits
    }

    deinit { recorder?.cancel() }

    /// TLS material: a PEM certificate chain and its PEM private key.
    public struct TLSFiles: Sendable {
        public var certificateChain: String
        public var privateKey: String
        public init(certificateChain: String, privateKey: String) {
            self.certificateChain = certificateChain
            self.privateKey = privateKey
        }
    }

    /// Builds the application; `onRunning` receives the bound port (for port 0).
    /// - Parameter tls: serve HTTPS with this certificate and key instead of plain HTTP.
    /// - Throws: if the TLS files cannot be read.
    public func application(host: String, port: Int, logLevel: Logger.Level = .warning, tls: TLSFiles? = nil,
                            onRunning: @escaping @Sendable (Int) async -> Void = { _ in })
        throws -> some ApplicationProtocol {
        let router = Router()
        // First, so it wraps every route and the not-found answer.
        router.add(middleware: APIErrorMiddleware())
        router.get("/v1/health") { _, _ in Self.json(HealthBody(status: "ok")) }
        // The operator's endpoints: the bearer token is checked by middleware, before the handler.
        router.group()
            .add(middleware: OperatorAuthMiddleware(token: token, message: Self.launchUnauthorized))
            .post("/v1/jobs") { req, _ in try await self.launch(req) }
        router.group()
            .add(middleware: OperatorAuthMiddleware(token: token, message: Self.operatorUnauthorized))
            .get("/v1/jobs") { _, _ in try await self.list() }
            .post("/v1/jobs/:id/stop") { _, ctx in try await self.stop(ctx.parameters.require("id")) }
        router.get("/v1/jobs/:id") { _, ctx in try await self.status(ctx.parameters.require("id")) }
        router.get("/v1/jobs/:id/evidence") { req, ctx in try await self.evidence(req, ctx.parameters.require("id")) }
        router.put("/v1/jobs/:id/datasets/:name") { req, ctx in
            try await self.upload(req, ctx.parameters.require("id"), ctx.parameters.require("name"))
        }
        router.post("/v1/jobs/:id/queries/:name") { req, ctx in
            try await self.query(req, ctx.parameters.require("id"), ctx.parameters.require("name"))
        }
        router.get("/v1/log/checkpoint") { _, _ in try await self.logCheckpoint() }
        router.get("/v1/log/key") { _, _ in Self.bytes(Array((self.log.verifierKey.encoded + "\n").utf8), type: "text/plain; charset=utf-8") }
        router.get("/v1/log/entries") { req, _ in try await self.logEntries(req) }
        router.get("/v1/log/index") { req, _ in try await self.logIndex(req) }
        router.get("/v1/log/proof/inclusion") { req, _ in try await self.inclusion(req) }
        router.get("/v1/log/proof/consistency") { req, _ in try await self.consistency(req) }
        router.get("/v1/audit/export") { _, _ in try await self.auditExport() }
        var logger = Logger(label: "parley-serve")
        logger.logLevel = logLevel
        let counter = ConnectionCounter(maxPerAddress: limits.maxConnectionsPerAddress)
        connections = counter
        let headerDeadline = TimeAmount.nanoseconds(Int64(limits.headerDeadline * 1e9))
        let http1 = HTTP1Channel.Configuration(
            additionalChannelHandlers: [ConnectionGuardHandler(counter: counter, headerDeadline: headerDeadline)],
            idleTimeout: .nanoseconds(Int64(limits.idleDeadline * 1e9)))
        var server: HTTPServerBuilder = .http1(configuration: http1)
        if let tls {
            do {
                let chain = try NIOSSLCertificate.fromPEMFile(tls.certificateChain).map { NIOSSLCertificateSource.certificate($0) }
                let key = try NIOSSLPrivateKey(file: tls.privateKey, format: .pem)
                var config = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
                config.minimumTLSVersion = .tlsv12
                server = try .tls(.http1(configuration: http1), tlsConfiguration: config)
            } catch {
                throw ParleyError(.badKey, "cannot use the TLS certificate \(tls.certificateChain) and key \(tls.privateKey): \(error)")
            }
        }
        return Application(router: router, server: server, configuration: .init(address: .hostname(host, port: port), serverName: "parley"),
                           onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? port) }, logger: logger)
    }

    /// Returns once the host can no longer record what happens (the log or the job store
    /// refused a write), with the reason. The log must not silently miss an event, so whoever
    /// runs the server stops serving then (`parley-host` exits with status 75).
    public func untilRecordingFails() async -> String {
        await withCheckedContinuation { c in
            stopLock.lock()
            if let stopReason {
                stopLock.unlock()
                c.resume(returning: stopReason)
            } else {
                stopWaiters.append(c)
                stopLock.unlock()
            }
        }
    }

    func stopServing(_ reason: String) {
        stopLock.lock()
        guard stopReason == nil else { stopLock.unlock(); return }
        stopReason = reason
        let waiters = stopWaiters
        stopWaiters = []
        stopLock.unlock()
        for w in waiters { w.resume(returning: reason) }
    }

    // MARK: Responses

    static func json<Body: Encodable>(_ body: Body, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: APIJSON.encode(body))))
    }

    static func error(_ status: HTTPResponse.Status, _ message: String, code: String) -> Response {
        json(APIErrorBody(error: message, code: code), status: status)
    }

    static func bytes(_ b: [UInt8], type: String) -> Response {
        Response(status: .ok, headers: [.contentType: type], body: ResponseBody(byteBuffer: ByteBuffer(bytes: b)))
    }

    /// Runs blocking work (the TPM, fsync, log reads) off the cooperative pool (``Blocking``).
    func offload<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await Blocking.run(body)
    }

    static let launchUnauthorized = "operator requests need `Authorization: Bearer <operator-token>` (the token is in the host's data directory)"
    static let operatorUnauthorized = "operator requests need the bearer token"

    static func query(_ req: Request, _ name: String) -> String? { req.uri.queryParameters.get(name) }
}

/// Hands the port a server bound (port 0 picks a free one) from its start-up callback to
/// whoever waits for it: `parley demo`, the tests, the benchmarks.
public final class BoundPort: @unchecked Sendable {
    // @unchecked: `port` and `waiters` are guarded by `lock`.
    private let lock = NSLock()
    private var port: Int?
    private var waiters: [UInt64: CheckedContinuation<Int, any Error>] = [:]
    private var nextWaiter: UInt64 = 0
    private var expired: Set<UInt64> = []

    public init() {}

    public var value: Int? { lock.lock(); defer { lock.unlock() }; return port }

    public func set(_ p: Int) {
        lock.lock()
        port = p
        let ready = waiters
        waiters = [:]
        lock.unlock()
        for w in ready.values { w.resume(returning: p) }
    }

    /// Waits up to `timeout` seconds for the port: resumed by ``set(_:)``, or by the deadline.
    public func wait(timeout: TimeInterval = 10) async throws -> Int {
        let (ready, id): (Int?, UInt64) = lock.withLock {
            if let port { return (port, 0) }
            nextWaiter += 1
            return (nil, nextWaiter)
        }
        if let ready { return ready }
        let deadline = Task { [weak self] in
            try? await Task.sleep(nanoseconds: UInt64(max(0, timeout) * 1_000_000_000))
            self?.expire(id, timeout: timeout)
        }
        defer { deadline.cancel() }
        return try await withCheckedThrowingContinuation { c in
            lock.lock()
            if let port { lock.unlock(); c.resume(returning: port); return }
            if expired.remove(id) != nil {
                lock.unlock()
                c.resume(throwing: ParleyError(.io, "the host did not start listening within \(Int(timeout)) s"))
                return
            }
            waiters[id] = c
            lock.unlock()
        }
    }

    private func expire(_ id: UInt64, timeout: TimeInterval) {
        lock.lock()
        let w = waiters.removeValue(forKey: id)
        if w == nil, port == nil { expired.insert(id) }
        lock.unlock()
        w?.resume(throwing: ParleyError(.io, "the host did not start listening within \(Int(timeout)) s"))
    }
}
