import Foundation
import ParleyCore

/// An append-only file of TPM log events: `u32be(length) || event bytes` frames. An append is
/// acknowledged only after `fsync`; a torn final frame (a crash mid-append) is detected on open
/// and cut, since its event was never extended into the PCR (appends happen before extends).
final class DurableEventLog {
    let path: String
    private(set) var events: [[UInt8]] = []
    private let fd: Int32

    static let maxEventSize = 8 << 10

    /// Opens or creates the file; reads every complete frame, cuts a torn tail.
    init(path: String) throws {
        self.path = path
        let existed = FileManager.default.fileExists(atPath: path)
        fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ParleyError(.io, "cannot open the TPM event log \(path): \(String(cString: strerror(errno)))") }
        if !existed { try Self.syncDirectory(of: path) }
        let bytes = try FileIO.read(path, maxBytes: 64 << 20)
        var pos = 0
        while pos + 4 <= bytes.count {
            let n = LengthPrefix.length(in: bytes, at: pos)
            guard n <= Self.maxEventSize, pos + 4 + n <= bytes.count else { break }
            events.append(Array(bytes[pos + 4..<pos + 4 + n]))
            pos += 4 + n
        }
        if pos != bytes.count {
            guard ftruncate(fd, off_t(pos)) == 0, fsync(fd) == 0 else {
                throw ParleyError(.io, "cannot cut the torn tail of \(path): \(String(cString: strerror(errno)))")
            }
        }
    }

    deinit { close(fd) }

    /// Appends one event and returns only once it is on disk.
    func append(_ event: [UInt8]) throws {
        guard event.count <= Self.maxEventSize else { throw ParleyError(.limitExceeded, "a TPM log event is over 8 KiB") }
        let frame = LengthPrefix.frame(event)
        let written = frame.withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
        guard written == frame.count else {
            throw ParleyError(.io, "cannot append to \(path): \(String(cString: strerror(errno)))")
        }
        guard fsync(fd) == 0 else {
            // The writer stops here: the caller must not extend the PCR for an event not on disk.
            throw ParleyError(.io, "fsync of \(path) failed: \(String(cString: strerror(errno)))")
        }
        events.append(event)
    }

    /// Cuts the final event (one appended but never extended: the host died between the two).
    func dropLast() throws {
        guard let last = events.last else { return }
        var size = lseek(fd, 0, SEEK_END)
        size -= off_t(4 + last.count)
        guard size >= 0, ftruncate(fd, size) == 0, fsync(fd) == 0 else {
            throw ParleyError(.io, "cannot cut the unextended final event of \(path): \(String(cString: strerror(errno)))")
        }
        events.removeLast()
    }

    static func syncDirectory(of path: String) throws {
        let dir = (path as NSString).deletingLastPathComponent
        let dfd = open(dir.isEmpty ? "." : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dfd >= 0 else { throw ParleyError(.io, "cannot open directory \(dir)") }
        defer { close(dfd) }
        guard fsync(dfd) == 0 else { throw ParleyError(.io, "fsync of directory \(dir) failed") }
    }
}
