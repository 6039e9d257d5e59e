import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import ParleyCore

/// A small blocking HTTP client for parties and operators (URLSession underneath).
public final class HTTP: NSObject, URLSessionTaskDelegate, @unchecked Sendable {
    public struct Reply: Sendable {
        public let status: Int
        public let body: [UInt8]
        public var text: String { String(decoding: body, as: UTF8.self) }
        /// The `error` of a JSON refusal, or the body.
        public var errorMessage: String {
            if let obj = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any], let e = obj["error"] as? String { return e }
            return text.isEmpty ? "HTTP \(status)" : text
        }
        public func json() throws -> [String: Any] {
            guard let obj = try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
                throw ParleyError(.malformed, "the server's answer is not a JSON object")
            }
            return obj
        }
    }

    public let base: URL
    public var onProgress: ((Int64, Int64) -> Void)?

    public init(server: String) throws {
        guard let url = URL(string: server), url.scheme == "http" || url.scheme == "https", url.host != nil else {
            throw ParleyError(.malformed, "--server must be a URL such as http://127.0.0.1:7300")
        }
        base = url
    }

    public func request(_ method: String, _ path: String, body: [UInt8]? = nil, file: URL? = nil, headers: [String: String] = [:]) throws -> Reply {
        guard let url = URL(string: path, relativeTo: base) else { throw ParleyError(.malformed, "bad path \(path)") }
        var req = URLRequest(url: url, timeoutInterval: 3600)
        req.httpMethod = method
        for (k, v) in headers { req.setValue(v, forHTTPHeaderField: k) }
        let session = URLSession(configuration: .ephemeral, delegate: self, delegateQueue: nil)
        defer { session.finishTasksAndInvalidate() }
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: (Data?, URLResponse?, (any Error)?) = (nil, nil, nil)
        let task: URLSessionTask
        if let file {
            task = session.uploadTask(with: req, fromFile: file) { d, r, e in result = (d, r, e); done.signal() }
        } else if let body {
            task = session.uploadTask(with: req, from: Data(body)) { d, r, e in result = (d, r, e); done.signal() }
        } else {
            task = session.dataTask(with: req) { d, r, e in result = (d, r, e); done.signal() }
        }
        task.resume()
        done.wait()
        if let e = result.2 {
            throw ParleyError(.io, "cannot reach \(base.absoluteString): \(e.localizedDescription) (is `parley serve` running there?)")
        }
        let status = (result.1 as? HTTPURLResponse)?.statusCode ?? 0
        return Reply(status: status, body: Array(result.0 ?? Data()))
    }

    public func urlSession(_ session: URLSession, task: URLSessionTask, didSendBodyData bytesSent: Int64, totalBytesSent: Int64,
                    totalBytesExpectedToSend: Int64) {
        onProgress?(totalBytesSent, totalBytesExpectedToSend)
    }
}

/// A one-line progress bar on standard error, only when it is a terminal.
public struct ProgressBar: Sendable {
    public let label: String
    public let enabled = isatty(2) == 1

    public init(label: String) { self.label = label }

    public func update(_ done: Int64, _ total: Int64) {
        guard enabled, total > 0 else { return }
        let pct = Int(Double(done) / Double(total) * 100)
        let bar = String(repeating: "#", count: pct / 4).padding(toLength: 25, withPad: " ", startingAt: 0)
        FileHandle.standardError.write(Data("\r\(label) [\(bar)] \(pct)%  \(done >> 20)/\(total >> 20) MiB".utf8))
    }

    public func finish() { if enabled { FileHandle.standardError.write(Data("\n".utf8)) } }
}
