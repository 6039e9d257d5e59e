import Foundation
import ParleyCore

/// The host's secrets at rest: the log signing key, the software quoting CA's keys and the
/// operator token must be 0600 files of the host's user in 0700 directories of that user.
/// `parley serve` checks them before it starts and refuses to run when any is exposed, with the
/// command that fixes it; a worker (another user, docs/sandbox.md) can then read none of them.
public enum HostSecrets {
    /// One exposed secret: which path, what is wrong, and the command that fixes it.
    public struct Exposure: Sendable, Equatable, CustomStringConvertible {
        /// The file or directory.
        public let path: String
        /// What is wrong with it ("readable by group or others (mode 644)").
        public let problem: String
        /// The shell command that fixes it ("chmod 600 parley-data/log-key").
        public let fix: String

        /// "parley-data/log-key is readable by group or others (mode 644): run chmod 600 parley-data/log-key".
        public var description: String { "\(path) \(problem): run \(fix)" }
    }

    /// The outcome of a check.
    public enum Verdict: Sendable, Equatable {
        /// Every secret that exists is private to the host's user.
        case protected
        /// At least one is not; the host must not start.
        case exposed([Exposure])
    }

    /// The secrets under a data directory, each with the directory that holds it. Files that do
    /// not exist yet are skipped (they are created 0600 on first start).
    static func secrets(in dataDirectory: String) -> [(directory: String, file: String)] {
        let ca = dataDirectory + "/quoting-ca"
        return [
            (dataDirectory, dataDirectory + "/log-key"),
            (dataDirectory, dataDirectory + "/operator-token"),
            (ca, ca + "/root-key.pem"),
            (ca, ca + "/quoting-key.pem"),
        ]
    }

    /// Checks the data directory's secrets.
    /// - Parameters:
    ///   - dataDirectory: the host's data directory.
    ///   - owner: the user that must own them; the effective uid by default.
    public static func check(dataDirectory: String, owner: uid_t = geteuid()) -> Verdict {
        var exposures: [Exposure] = []
        var seenDirectories: Set<String> = []
        for (directory, file) in secrets(in: dataDirectory) {
            var fileInfo = stat()
            guard lstat(file, &fileInfo) == 0 else { continue }  // not created yet
            if !seenDirectories.contains(directory) {
                seenDirectories.insert(directory)
                exposures += problems(directory, isDirectory: true, owner: owner)
            }
            exposures += problems(file, isDirectory: false, owner: owner)
        }
        return exposures.isEmpty ? .protected : .exposed(exposures)
    }

    /// Throws a refusal listing every exposure and its fix, unless the verdict is `.protected`.
    /// - Throws: `ParleyError` `.badKey`.
    public static func requireProtected(dataDirectory: String, owner: uid_t = geteuid()) throws {
        guard case .exposed(let list) = check(dataDirectory: dataDirectory, owner: owner) else { return }
        throw ParleyError(.badKey, "refusing to start: the host's secrets must be private to its user (files 0600, "
                              + "directories 0700); " + list.map(\.description).joined(separator: "; "))
    }

    private static func problems(_ path: String, isDirectory: Bool, owner: uid_t) -> [Exposure] {
        var info = stat()
        guard lstat(path, &info) == 0 else { return [] }
        let type = info.st_mode & S_IFMT
        let wanted: mode_t = isDirectory ? 0o700 : 0o600
        let modeText = String(info.st_mode & 0o7777, radix: 8)
        if type != (isDirectory ? S_IFDIR : S_IFREG) {
            return [Exposure(path: path, problem: "is not a \(isDirectory ? "directory" : "regular file") (a link?)",
                             fix: "replace it with the \(isDirectory ? "directory" : "file") itself")]
        }
        var found: [Exposure] = []
        if info.st_uid != owner {
            found.append(Exposure(path: path, problem: "belongs to uid \(info.st_uid), not to the host's uid \(owner)",
                                  fix: "chown \(owner) \(path)"))
        }
        if info.st_mode & 0o077 != 0 {
            found.append(Exposure(path: path, problem: "is open to group or others (mode \(modeText))",
                                  fix: "chmod \(String(wanted, radix: 8)) \(path)"))
        }
        return found
    }
}
