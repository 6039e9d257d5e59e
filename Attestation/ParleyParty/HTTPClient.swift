import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import ParleyCore

/// The HTTP client of parties and operators: async-http-client (SwiftNIO) underneath, one
/// connection pool for the process. Request bodies are either bytes in memory (small requests)
/// or streamed as they are produced (uploads, ``stream(_:_:headers:chunks:)``).
public final class HTTP: Sendable {
    public struct Reply: Sendable {
        public let status: Int
        public let body: [UInt8]
        public var text: String { String(decoding: body, as: UTF8.self) }
        /// The `error` of a JSON refusal, or the body.
        public var errorMessage: String { refusal?.error ?? (text.isEmpty ? "HTTP \(status)" : text) }
        /// The stable `code` of a JSON refusal (docs/openapi.yaml), if the body is one.
        public var errorCode: String? { refusal?.code }
        /// The body as a JSON refusal, if it is one.
        public var refusal: APIErrorBody? { try? APIJSON.decode(APIErrorBody.self, from: body, what: "the refusal") }

        /// The body as the API's `T` (``APIJSON``).
        /// - Throws: ``ParleyError`` `.malformed` if it is not.
        public func decode<T: Decodable>(_ type: T.Type, what: String = "the server's answer") throws -> T {
            try APIJSON.decode(type, from: body, what: what)
        }
    }

    public let base: URL

    /// Largest reply body read (an audit export holds the whole log).
    public static let maxReplyBytes = 1 << 30

    /// The process's client. Like `HTTPClient.shared` it lives as long as the process and is
    /// never shut down; unlike it, a connection may sit idle for an hour (a slow upload's reply),
    /// as the URLSession client before it allowed. TLS uses the system's trust roots.
    private static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .seconds(10), read: .seconds(3600))
        configuration.decompression = .disabled
        // Parallel uploads each hold a connection for as long as they stream (URLSession opened
        // one per request); the host accepts up to 128 per address.
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    public init(server: String) throws {
        guard let url = URL(string: server), url.scheme == "http" || url.scheme == "https", url.host != nil else {
            throw ParleyError(.malformed, "--server must be a URL such as http://127.0.0.1:7300")
        }
        base = url
    }

    /// A request whose body, if any, is in memory.
    public func request(_ method: String, _ path: String, body: [UInt8]? = nil, headers: [String: String] = [:]) async throws -> Reply {
        var request = try makeRequest(method, path, headers: headers)
        if let body { request.body = .bytes(body) }
        return try await execute(request)
    }

    /// A request whose body is produced while it is sent: `chunks` is asked for the next piece
    /// only when the connection has taken the previous one, so memory stays bounded by a chunk
    /// however large the body (no temporary file). The body goes out with chunked encoding.
    /// - Parameter chunks: returns the next piece, or nil at the end; called serially.
    public func stream(_ method: String, _ path: String, headers: [String: String] = [:],
                       chunks: @escaping @Sendable () async throws -> [UInt8]?) async throws -> Reply {
        var request = try makeRequest(method, path, headers: headers)
        request.body = .stream(ChunkSequence(next: chunks), length: .unknown)
        return try await execute(request)
    }

    private func makeRequest(_ method: String, _ path: String, headers: [String: String]) throws -> HTTPClientRequest {
        guard let url = URL(string: path, relativeTo: base) else { throw ParleyError(.malformed, "bad path \(path)") }
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = HTTPMethod(rawValue: method)
        for (name, value) in headers { request.headers.replaceOrAdd(name: name, value: value) }
        return request
    }

    private func execute(_ request: HTTPClientRequest) async throws -> Reply {
        do {
            let response = try await Self.client.execute(request, deadline: .distantFuture)
            let body = try await response.body.collect(upTo: Self.maxReplyBytes)
            return Reply(status: Int(response.status.code), body: Array(buffer: body))
        } catch let e as ParleyError {
            throw e // the body's producer refused (a file read, a sealing error)
        } catch {
            throw ParleyError(.io, "cannot reach \(base.absoluteString): \(Self.describe(error)) (is `parley serve` running there?)")
        }
    }

    /// A person's words for a transport failure (NIO's errors print as type names).
    static func describe(_ error: any Error) -> String {
        if let e = error as? HTTPClientError {
            if e == .connectTimeout { return "the connection timed out" }
            if e == .readTimeout { return "the server stopped answering" }
            if e == .remoteConnectionClosed { return "the server closed the connection" }
            return "\(e)"
        }
        if error is NIOTooManyBytesError { return "the answer is larger than \(maxReplyBytes >> 20) MiB" }
        if error is IOError { return "could not connect to the server" }
        return "\(error)"
    }
}

/// The pieces of a streamed body, pulled one at a time by the HTTP client.
private struct ChunkSequence: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let produce: @Sendable () async throws -> [UInt8]?

    init(next: @escaping @Sendable () async throws -> [UInt8]?) { produce = next }

    struct AsyncIterator: AsyncIteratorProtocol {
        let produce: @Sendable () async throws -> [UInt8]?
        mutating func next() async throws -> ByteBuffer? {
            guard let piece = try await produce() else { return nil }
            return ByteBuffer(bytes: piece)
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(produce: produce) }
}
