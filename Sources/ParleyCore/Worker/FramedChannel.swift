import Foundation

/// A blocking, length-prefixed message channel over a stream socket: `u32be(length) || body`.
/// The host and the worker talk only through one of these (a socketpair); every frame is capped.
public final class FramedChannel: @unchecked Sendable {
    // @unchecked: reads and writes each hold their own lock; the fd is closed once.
    public let fd: Int32
    /// Largest frame accepted or sent.
    public let maxFrame: Int
    private let readLock = NSLock(), writeLock = NSLock()
    private var closed = false

    public init(fd: Int32, maxFrame: Int = 8 << 20) {
        self.fd = fd
        self.maxFrame = maxFrame
    }

    deinit { close() }

    /// Closes the descriptor (idempotent).
    public func close() {
        writeLock.lock()
        defer { writeLock.unlock() }
        if !closed { closed = true; Foundation.close(fd) }
    }

    /// Sends one frame. - Throws: `ParleyError.io` if the peer is gone.
    public func send(_ body: [UInt8]) throws {
        guard body.count <= maxFrame else { throw ParleyError(.limitExceeded, "frame of \(body.count) bytes is over \(maxFrame)") }
        let frame = LengthPrefix.frame(body)
        writeLock.lock()
        defer { writeLock.unlock() }
        try frame.withUnsafeBytes { raw in
            var off = 0
            while off < raw.count {
                let w = Foundation.send(fd, raw.baseAddress! + off, raw.count - off, Int32(MSG_NOSIGNAL))
                if w < 0 {
                    if errno == EINTR { continue }
                    throw ParleyError(.io, "the channel is closed: \(String(cString: strerror(errno)))")
                }
                off += w
            }
        }
    }

    /// Receives one frame; nil at a clean end of stream (the peer closed between frames).
    /// - Throws: on a frame over the cap, a stream cut inside a frame, or an I/O error.
    public func receive() throws -> [UInt8]? {
        readLock.lock()
        defer { readLock.unlock() }
        guard let head = try readExactly(4, allowEOF: true) else { return nil }
        let n = LengthPrefix.length(in: head)
        guard n <= maxFrame else { throw ParleyError(.limitExceeded, "incoming frame of \(n) bytes is over \(maxFrame)") }
        return try readExactly(n, allowEOF: false) ?? []
    }

    private func readExactly(_ count: Int, allowEOF: Bool) throws -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            let r = out.withUnsafeMutableBytes { Foundation.read(fd, $0.baseAddress! + got, count - got) }
            if r < 0 {
                if errno == EINTR { continue }
                throw ParleyError(.io, "reading the channel failed: \(String(cString: strerror(errno)))")
            }
            if r == 0 {
                if got == 0 && allowEOF { return nil }
                throw ParleyError(.malformed, "the channel closed inside a frame")
            }
            got += r
        }
        return out
    }
}
