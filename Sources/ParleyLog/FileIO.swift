#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

private func posixOpen(_ path: String, _ flags: Int32, _ mode: mode_t) -> Int32 {
    open(path, flags, mode)
}

/// Thin, error-typed wrappers over the POSIX calls the durable log needs.
enum FileIO {
    static func errorText(_ code: Int32 = errno) -> String {
        String(cString: strerror(code))
    }

    static func open(_ path: String, _ flags: Int32, mode: mode_t = 0o644) throws(LogError) -> Int32 {
        let fd = posixOpen(path, flags | O_CLOEXEC, mode)
        guard fd >= 0 else { throw LogError(.ioFailure, "cannot open \(path): \(errorText())") }
        return fd
    }

    static func size(_ fd: Int32, path: String) throws(LogError) -> Int64 {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw LogError(.ioFailure, "cannot stat \(path): \(errorText())") }
        return Int64(info.st_size)
    }

    static func exists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    /// Writes all of `bytes` at `offset`, retrying short writes and EINTR.
    static func writeAll(_ fd: Int32, _ bytes: [UInt8], at offset: Int64) throws(LogError) {
        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeBytes { buffer in
                guard let base = buffer.baseAddress else { return -1 }
                return pwrite(fd, base + written, buffer.count - written, off_t(offset + Int64(written)))
            }
            if result < 0 {
                if errno == EINTR { continue }
                throw LogError(.ioFailure, "write failed: \(errorText())")
            }
            written += result
        }
    }

    /// Reads exactly `count` bytes at `offset`.
    static func readExactly(_ fd: Int32, at offset: Int64, count: Int) throws(LogError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let result = out.withUnsafeMutableBytes { buffer in
                guard let base = buffer.baseAddress else { return -1 }
                return pread(fd, base + done, count - done, off_t(offset + Int64(done)))
            }
            if result < 0 {
                if errno == EINTR { continue }
                throw LogError(.ioFailure, "read failed: \(errorText())")
            }
            if result == 0 { throw LogError(.ioFailure, "the file ended \(count - done) bytes early") }
            done += result
        }
        return out
    }

    /// `fsync` of a directory, so that a file created or renamed in it survives a crash.
    static func syncDirectory(_ path: String, using sync: (Int32) -> Int32) throws(LogError) {
        let fd = try open(path, O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        guard sync(fd) == 0 else { throw LogError(.ioFailure, "fsync of directory \(path) failed: \(errorText())") }
    }
}
