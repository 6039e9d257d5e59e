import Foundation
import ParleyCore
import ParleyLog

/// The directory a party's or auditor's client owns: what it saw of each host log, so that a
/// host cannot later show it a shorter or different history (golang.org/x/mod/sumdb keeps the
/// same kind of memory).
///
/// Layout (docs/log.md section 7), one folder per log, named by the log key:
///
///     <state>/logs/<key name>+<key id>/key           the log's verifier key text
///     <state>/logs/<key name>+<key id>/checkpoint    the newest checkpoint verified (signed note)
///     <state>/logs/<key name>+<key id>/seen          when that checkpoint was first verified (ms)
///     <state>/logs/<key name>+<key id>/receipts/     one receipt per upload or release
///     <state>/logs/<key name>+<key id>/LOCK          flock()ed while the memory is updated
///
/// The default is `$XDG_CONFIG_HOME/parley`, else `~/.config/parley`; `--state DIR` moves it.
public struct ClientState: Sendable {
    /// The state directory.
    public let directory: String

    /// A state directory at `directory` (created with mode 0700 on first use).
    public init(directory: String) {
        self.directory = directory
    }

    /// `$XDG_CONFIG_HOME/parley`, else `$HOME/.config/parley`.
    public static func defaultDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let xdg = environment["XDG_CONFIG_HOME"], xdg.hasPrefix("/") { return xdg + "/parley" }
        return (environment["HOME"] ?? ".") + "/.config/parley"
    }

    /// The folder for the log signed by `key`.
    public func logDirectory(for key: NoteVerifierKey) -> String {
        let safeName = String(key.name.unicodeScalars.map { scalar -> Character in
            let c = Character(scalar)
            return c.isLetter || c.isNumber || c == "." || c == "-" || c == "_" ? c : "_"
        })
        return directory + "/logs/" + safeName + "+" + String(format: "%08x", key.keyID)
    }

    /// Creates `path` and its parents with mode 0700.
    static func makeDirectory(_ path: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw ParleyError(.io, "cannot create the client state directory \(path): \(error.localizedDescription); choose another with --state DIR")
        }
    }
}

/// What this client remembers of one log: the newest checkpoint it verified and when it first saw it.
public struct RememberedCheckpoint: Sendable, Equatable {
    /// The checkpoint, as verified then.
    public let checkpoint: Checkpoint
    /// The signed note exactly as received.
    public let note: [UInt8]
    /// When this client first verified a checkpoint of this size.
    public let seen: Date
}

/// An exclusive `flock` on a file, released when the value is dropped.
final class FileLock {
    private let fd: Int32

    init(path: String) throws {
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ParleyError(.io, "cannot open \(path): \(String(cString: strerror(errno)))") }
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else {
                close(fd)
                throw ParleyError(.io, "cannot lock \(path): \(String(cString: strerror(errno)))")
            }
        }
    }

    deinit { close(fd) }
}
