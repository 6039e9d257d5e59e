import Glibc

/// The unprivileged user and group a worker started as root switches to.
///
/// It must own nothing of the host's: the dedicated system user `parley-worker` that
/// Scripts/setup.sh creates, or, where there is none, `nobody` (65534). A worker started by an
/// unprivileged user keeps that user (it cannot change it) and still drops every capability.
public struct WorkerIdentity: Sendable, Hashable, CustomStringConvertible {
    /// The user id to switch to; never 0.
    public let uid: uid_t
    /// The group id to switch to; never 0.
    public let gid: gid_t
    /// Where the ids came from ("parley-worker", "nobody (no parley-worker user)", "explicit").
    public let source: String

    /// The dedicated user's name.
    public static let dedicatedUserName = "parley-worker"
    /// The fallback: the kernel's overflow id, `nobody`/`nogroup` on Debian.
    public static let nobody: uid_t = 65534

    /// An explicit identity (tests, or an operator's own user).
    public init(uid: uid_t, gid: gid_t, source: String = "explicit") {
        self.uid = uid
        self.gid = gid
        self.source = source
    }

    /// `parley-worker` from the user database, or `nobody` (65534:65534) if there is no such user.
    /// Looked up when called: the worker calls it before lock-down, while it can still read
    /// /etc/passwd.
    public static func standard() -> WorkerIdentity {
        if let entry = getpwnam(dedicatedUserName) {
            return WorkerIdentity(uid: entry.pointee.pw_uid, gid: entry.pointee.pw_gid, source: dedicatedUserName)
        }
        return WorkerIdentity(uid: nobody, gid: nobody, source: "nobody (no \(dedicatedUserName) user)")
    }

    /// "999:999 (parley-worker)".
    public var description: String { "\(uid):\(gid) (\(source))" }
}
