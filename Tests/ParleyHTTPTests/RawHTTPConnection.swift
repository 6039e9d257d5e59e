import Foundation

/// A bare TCP connection to the test server from a chosen loopback source address (127.0.0.2 is
/// "another client" to a per-address cap): for requests no HTTP client would send, and for
/// clients that stall on purpose. Every read is bounded by a receive timeout.
final class RawHTTPConnection: @unchecked Sendable {
    // @unchecked: one descriptor, used by one thread at a time.
    let fd: Int32

    /// Connects to 127.0.0.1:`port` from `source`.
    /// - Parameter receiveTimeout: the longest a read waits before it counts as "no answer".
    init(port: Int, source: String = "127.0.0.1", receiveTimeout: Int = 20) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EMFILE) }
        var local = sockaddr_in()
        local.sin_family = sa_family_t(AF_INET)
        local.sin_addr.s_addr = inet_addr(source)
        var timeout = timeval(tv_sec: receiveTimeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let size = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, size) } }
        let connected = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, size) } }
        guard bound == 0, connected == 0 else {
            let e = errno
            close(fd)
            throw POSIXError(POSIXErrorCode(rawValue: e) ?? .ECONNREFUSED)
        }
    }

    deinit { close(fd) }

    /// Sends bytes; false if the peer is gone.
    @discardableResult
    func send(_ bytes: [UInt8]) -> Bool {
        var off = 0
        while off < bytes.count {
            let n = bytes[off...].withUnsafeBytes { Foundation.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            off += n
        }
        return true
    }

    @discardableResult
    func send(_ text: String) -> Bool { send(Array(text.utf8)) }

    /// How a read to the end went.
    enum Ending: Equatable {
        /// The server closed the connection (orderly or by reset).
        case closedByServer
        /// Nothing for the whole receive timeout: the server kept the connection open.
        case stillOpen
    }

    /// Reads until the server closes the connection or the receive timeout passes.
    func readToEnd() -> (bytes: [UInt8], ending: Ending) {
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16 << 10)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n > 0 { out += buffer[0..<n]; continue }
            if n == 0 || errno == ECONNRESET { return (out, .closedByServer) }
            if errno == EINTR { continue }
            return (out, .stillOpen)
        }
    }

    /// The status code of an HTTP response at the start of `bytes`, if there is one.
    static func status(of bytes: [UInt8]) -> Int? {
        let head = String(decoding: bytes.prefix(64), as: UTF8.self)
        guard head.hasPrefix("HTTP/1.1 ") else { return nil }
        return Int(head.dropFirst(9).prefix(3))
    }

    /// One request with `Connection: close`; returns the status, or nil if the server closed
    /// without answering.
    static func request(port: Int, source: String = "127.0.0.1", _ raw: [UInt8]) throws -> (status: Int?, bytes: [UInt8]) {
        let c = try RawHTTPConnection(port: port, source: source)
        c.send(raw)
        let (bytes, _) = c.readToEnd()
        return (status(of: bytes), bytes)
    }
}
