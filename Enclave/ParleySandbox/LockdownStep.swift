/// One step of the worker's lock-down, in the order ``Sandbox/lockDown(_:)`` applies them.
///
/// The order matters: limits and the namespace need privileges that the later steps take away,
/// and the syscall filter comes last because it forbids the calls the earlier steps make.
public enum LockdownStep: String, Sendable, CaseIterable, Hashable, CustomStringConvertible {
    /// Resource limits: address space, data, CPU time, open files, processes, file size, core size 0.
    case resourceLimits = "resource-limits"
    /// A new, empty network namespace (only loopback, and that is down).
    case networkNamespace = "network-namespace"
    /// `PR_SET_NO_NEW_PRIVS`: no set-uid, file capability or LSM transition can grant privileges.
    case noNewPrivileges = "no-new-privileges"
    /// `PR_SET_DUMPABLE 0`: no ptrace attach by unprivileged peers, no core dump, /proc files owned by root.
    case notDumpable = "not-dumpable"
    /// The seccomp allow-list (libseccomp), checked against the native architecture.
    case syscallFilter = "syscall-filter"

    /// The step's name as it appears in reports and errors.
    public var description: String { rawValue }
}
