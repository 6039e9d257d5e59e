/// One step of the worker's lock-down, in the order ``Sandbox/lockDown(_:)`` applies them.
///
/// The order matters: limits, the namespace and the identity switch need privileges that the
/// later steps take away; Landlock needs no-new-privileges once the capabilities are gone; and
/// the syscall filter comes last because it forbids the calls the earlier steps make.
public enum LockdownStep: String, Sendable, CaseIterable, Hashable, CustomStringConvertible {
    /// Descriptors: 0, 1 and 2 on /dev/null, every inherited descriptor but the channel closed.
    case descriptors = "descriptors"
    /// Resource limits: address space, data, CPU time, open files, processes, file size, core size 0.
    case resourceLimits = "resource-limits"
    /// A new, empty network namespace (only loopback, and that is down).
    case networkNamespace = "network-namespace"
    /// No privilege: an unprivileged uid/gid (when started as root), no supplementary group, and
    /// every capability set empty, the bounding and ambient sets included.
    case identity = "identity"
    /// `PR_SET_NO_NEW_PRIVS`: no set-uid, file capability or LSM transition can grant privileges.
    case noNewPrivileges = "no-new-privileges"
    /// Landlock: the whole file system denied (no open, create, execute, truncate), TCP bind and
    /// connect denied, signals and abstract unix sockets scoped to the worker.
    case fileSystem = "file-system"
    /// `PR_SET_DUMPABLE 0`: no ptrace attach by unprivileged peers, no core dump, /proc files owned by root.
    case notDumpable = "not-dumpable"
    /// The seccomp allow-list (libseccomp), checked against the native architecture.
    case syscallFilter = "syscall-filter"

    /// The step's name as it appears in reports and errors.
    public var description: String { rawValue }
}
