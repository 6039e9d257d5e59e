#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Random-access bytes to scan records from: a file on disk or a buffer (an exported bundle).
protocol ByteSource {
    /// Total length in bytes.
    var size: Int64 { get }
    /// Exactly `count` bytes from `offset`.
    /// - Throws: `LogError` `.ioFailure` if they cannot be read.
    func read(at offset: Int64, count: Int) throws(LogError) -> [UInt8]
}

/// Bytes held in memory.
struct MemoryByteSource: ByteSource {
    let bytes: [UInt8]
    var size: Int64 { Int64(bytes.count) }

    func read(at offset: Int64, count: Int) throws(LogError) -> [UInt8] {
        guard offset >= 0, Int(offset) + count <= bytes.count else {
            throw LogError(.ioFailure, "read past the end of the buffer")
        }
        return Array(bytes[Int(offset)..<(Int(offset) + count)])
    }
}

/// A file read with `pread` through a 1 MiB window, so a sequential scan costs few syscalls.
final class FileByteSource: ByteSource {
    private static let windowSize = 1 << 20
    let descriptor: Int32
    let size: Int64
    private var window: [UInt8] = []
    private var windowStart: Int64 = 0

    /// Reads the first `size` bytes of an open descriptor (not owned: the caller closes it).
    init(descriptor: Int32, size: Int64) {
        self.descriptor = descriptor
        self.size = size
    }

    func read(at offset: Int64, count: Int) throws(LogError) -> [UInt8] {
        guard offset >= 0, offset + Int64(count) <= size else {
            throw LogError(.ioFailure, "read past the end of the file")
        }
        if count > Self.windowSize { return try FileIO.readExactly(descriptor, at: offset, count: count) }
        if offset < windowStart || offset + Int64(count) > windowStart + Int64(window.count) {
            let length = Int(min(Int64(Self.windowSize), size - offset))
            window = try FileIO.readExactly(descriptor, at: offset, count: length)
            windowStart = offset
        }
        let start = Int(offset - windowStart)
        return Array(window[start..<(start + count)])
    }
}
