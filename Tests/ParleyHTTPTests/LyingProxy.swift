import Foundation
import Hummingbird
import NIOCore
import ParleyHTTP
import ParleyParty

/// A host that lies about the job, for tests only: a real HTTP server on 127.0.0.1 in front of a
/// real host, forwarding every request unchanged, except that the evidence request for a job in
/// `evidenceOf` is forwarded as the evidence request of another job (with the party's nonce, so
/// the answer is that other job's genuine, fresh evidence), and the log index request for a job in
/// `indexOf` as that of another job (so the client is pointed at another job's genuine entries).
enum LyingProxy {
    /// Starts the proxy. - Returns: a client for it and the task serving it (cancel it to stop).
    static func start(upstream: HTTP, evidenceOf: [String: String] = [:], indexOf: [String: String] = [:]) async throws -> (HTTP, Task<Void, any Error>) {
        let router = Router()
        router.add(middleware: Forward(upstream: upstream, evidenceOf: evidenceOf, indexOf: indexOf))
        let box = BoundPort()
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: "liar"),
                              onServerRunning: { channel in box.set(channel.localAddress?.port ?? 0) })
        let task = Task { try await app.runService(gracefulShutdownSignals: []) }
        return (try HTTP(server: "http://127.0.0.1:\(try await box.wait())"), task)
    }

    struct Forward<Context: RequestContext>: RouterMiddleware {
        let upstream: HTTP
        let evidenceOf: [String: String]
        let indexOf: [String: String]

        func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
            var path = request.uri.path
            let parts = path.split(separator: "/").map(String.init)
            if parts.count == 4, parts[0] == "v1", parts[1] == "jobs", parts[3] == "evidence", let other = evidenceOf[parts[2]] {
                path = "/v1/jobs/\(other)/evidence"
            }
            var query = request.uri.query
            if path == "/v1/log/index", let q = query {
                for (job, other) in indexOf { query = q.replacingOccurrences(of: "job=\(job)", with: "job=\(other)") }
            }
            let target = path + (query.map { "?" + $0 } ?? "")
            let body = try await request.body.collect(upTo: 64 << 20)
            var headers: [String: String] = [:]
            for field in request.headers where ["authorization", "content-type", "parley-signature"].contains(field.name.canonicalName.lowercased()) {
                headers[field.name.canonicalName] = field.value
            }
            let reply = try await upstream.request(request.method.rawValue, target,
                                                   body: body.readableBytes > 0 ? Array(buffer: body) : nil, headers: headers)
            return Response(status: .init(code: reply.status), body: .init(byteBuffer: ByteBuffer(bytes: reply.body)))
        }
    }
}
