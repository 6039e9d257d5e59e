import CSeccomp
import Glibc

/// Moves the worker into a new, empty network namespace.
///
/// As root (`CAP_SYS_ADMIN`) `unshare(CLONE_NEWNET)` suffices. Without it the worker first needs
/// a user namespace of its own (`CLONE_NEWUSER | CLONE_NEWNET`), which the kernel grants only if
/// unprivileged user namespaces are enabled and the process is still single-threaded.
enum NetworkNamespaceStep {
    /// Enters the namespace; returns which namespaces were created and the old and new net inode.
    /// - Throws: ``SandboxError`` with the `errno` of the last attempt.
    static func apply() throws(SandboxError) -> String {
        let before = namespaceLink()
        if parley_unshare(CLONE_NEWNET) == 0 {
            return try confirm(before: before, how: "unshare(CLONE_NEWNET)")
        }
        let firstErrno = errno
        guard firstErrno == EPERM else {
            throw SandboxError(.kernelRefused, step: .networkNamespace, errno: firstErrno,
                               reason: "unshare(CLONE_NEWNET)")
        }
        if parley_unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0 {
            return try confirm(before: before, how: "unshare(CLONE_NEWUSER|CLONE_NEWNET) (unprivileged)")
        }
        let secondErrno = errno
        let hint = secondErrno == EINVAL
            ? " (a process with threads cannot enter a new user namespace: lock down before starting any)"
            : " (unprivileged user namespaces may be disabled on this host)"
        throw SandboxError(.kernelRefused, step: .networkNamespace, errno: secondErrno,
                           reason: "unshare(CLONE_NEWNET) needs CAP_SYS_ADMIN, and "
                               + "unshare(CLONE_NEWUSER|CLONE_NEWNET) failed\(hint)")
    }

    private static func confirm(before: String?, how: String) throws(SandboxError) -> String {
        let after = namespaceLink()
        if let before, let after, before == after {
            throw SandboxError(.notInEffect, step: .networkNamespace,
                               reason: "\(how) succeeded but /proc/self/ns/net is still \(after)")
        }
        return "\(how): \(before ?? "?") -> \(after ?? "?")"
    }

    /// The target of /proc/self/ns/net ("net:[4026531840]"), or nil if /proc is not readable.
    static func namespaceLink() -> String? {
        var buffer = [CChar](repeating: 0, count: 128)
        let count = readlink("/proc/self/ns/net", &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
