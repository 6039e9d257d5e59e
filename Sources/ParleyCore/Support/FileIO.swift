import Foundation

/// Small, careful file helpers: bounded reads, atomic writes with explicit modes.
public enum FileIO {
    /// Reads a whole file of at most `maxBytes`.
    /// - Throws: `ParleyError.io` naming the path and what to do.
    public static func read(_ path: String, maxBytes: Int = 64 << 20) throws -> [UInt8] {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw ParleyError(.io, "cannot read \(path): it does not exist or is not readable")
        }
        defer { try? handle.close() }
        let data = try handle.read(upToCount: maxBytes + 1) ?? Data()
        guard data.count <= maxBytes else {
            throw ParleyError(.limitExceeded, "\(path) is larger than \(maxBytes) bytes")
        }
        return Array(data)
    }

    /// Reads a whole UTF-8 text file of at most `maxBytes`.
    public static func readText(_ path: String, maxBytes: Int = 1 << 20) throws -> String {
        let bytes = try read(path, maxBytes: maxBytes)
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ParleyError(.malformed, "\(path) is not UTF-8 text")
        }
        return text
    }

    /// Writes `bytes` to `path` atomically (temporary file, fsync, rename) with `mode`.
    /// - Parameter overwrite: when false, an existing file is an error rather than replaced.
    public static func write(_ bytes: [UInt8], to path: String, mode: mode_t = 0o644, overwrite: Bool = true) throws {
        if !overwrite, FileManager.default.fileExists(atPath: path) {
            throw ParleyError(.io, "\(path) already exists; remove it or choose another name")
        }
        let dir = (path as NSString).deletingLastPathComponent
        let tmp = (dir.isEmpty ? "." : dir) + "/.\((path as NSString).lastPathComponent).tmp-\(getpid())"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else {
            throw ParleyError(.io, "cannot create \(tmp): \(String(cString: strerror(errno)))")
        }
        var ok = fchmod(fd, mode) == 0
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while ok, offset < raw.count {
                let n = Foundation.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 { if errno == EINTR { continue }; ok = false; break }
                offset += n
            }
        }
        ok = ok && fsync(fd) == 0
        let err = errno
        close(fd)
        guard ok, rename(tmp, path) == 0 else {
            unlink(tmp)
            throw ParleyError(.io, "cannot write \(path): \(String(cString: strerror(ok ? errno : err)))")
        }
    }
}
