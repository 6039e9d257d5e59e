import CSeccomp
import Glibc

/// Denies the worker the whole file system with Landlock: a ruleset that handles every access
/// right the kernel's ABI knows and grants none. Descriptors already open (the channel, the
/// /dev/null streams) keep working; no new file can be opened, created, executed or truncated.
/// From ABI 4 TCP bind/connect are denied too, from ABI 6 signals and abstract unix sockets are
/// scoped to the worker.
enum FileSystemStep {
    /// The highest ABI whose rights this code knows (the kernel may report a higher one: its
    /// extra rights are then not handled, and the report says which ABI was used).
    static let highestKnownABI: Int32 = 7

    /// Applies the ruleset; returns "Landlock ABI N: ...".
    /// - Throws: ``SandboxError`` with code ``SandboxError/Code/unavailable`` when the kernel has
    ///   no Landlock (recorded as unavailable, not fatal), otherwise when restricting fails or a
    ///   read-back open still succeeds.
    static func apply() throws(SandboxError) -> String {
        let abi = parley_landlock_abi()
        guard abi > 0 else {
            let code = errno
            let why = code == EOPNOTSUPP ? "Landlock is disabled on this kernel (not in the lsm= list)"
                : "this kernel has no Landlock"
            throw SandboxError(code == ENOSYS || code == EOPNOTSUPP ? .unavailable : .kernelRefused,
                               step: .fileSystem, errno: code, reason: why)
        }
        let used = min(abi, highestKnownABI)
        try ThreadCount.requireSingleThread(for: .fileSystem, because: "Landlock restricts only the calling thread")
        guard parley_landlock_deny_all(used) == 0 else {
            throw SandboxError(.kernelRefused, step: .fileSystem, errno: errno,
                               reason: "landlock_create_ruleset/landlock_restrict_self (ABI \(used))")
        }
        for path in ["/", "/dev/null"] {
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            if fd >= 0 {
                close(fd)
                throw SandboxError(.notInEffect, step: .fileSystem, reason: "\(path) can still be opened after Landlock")
            }
        }
        let rights = String(parley_landlock_fs_rights(used), radix: 16)
        var denied = ["every file system access (rights 0x\(rights))"]
        if parley_landlock_net_rights(used) != 0 { denied.append("TCP bind and connect") }
        if parley_landlock_scopes(used) != 0 { denied.append("signals and abstract unix sockets outside the worker") }
        return "Landlock ABI \(used) (kernel ABI \(abi)): denied " + denied.joined(separator: ", ")
    }
}
