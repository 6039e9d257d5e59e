import CSeccomp
import Glibc

/// The two `prctl` steps: no new privileges, and not dumpable. Each is read back after setting.
enum ProcessHardeningStep {
    /// Sets `PR_SET_NO_NEW_PRIVS` (irreversible, inherited by any child).
    /// - Throws: ``SandboxError`` if the call fails or the flag does not read back as 1.
    static func setNoNewPrivileges() throws(SandboxError) -> String {
        guard parley_prctl_set_no_new_privs() == 0 else {
            throw SandboxError(.kernelRefused, step: .noNewPrivileges, errno: errno,
                               reason: "prctl(PR_SET_NO_NEW_PRIVS, 1)")
        }
        guard parley_prctl_get_no_new_privs() == 1 else {
            throw SandboxError(.notInEffect, step: .noNewPrivileges,
                               reason: "PR_GET_NO_NEW_PRIVS does not read back as 1")
        }
        return "PR_SET_NO_NEW_PRIVS=1"
    }

    /// Sets `PR_SET_DUMPABLE 0`: no core dump, no ptrace attach without `CAP_SYS_PTRACE`,
    /// /proc/<pid> files owned by root.
    /// - Throws: ``SandboxError`` if the call fails or the flag does not read back as 0.
    static func setNotDumpable() throws(SandboxError) -> String {
        guard parley_prctl_set_dumpable(0) == 0 else {
            throw SandboxError(.kernelRefused, step: .notDumpable, errno: errno,
                               reason: "prctl(PR_SET_DUMPABLE, 0)")
        }
        guard parley_prctl_get_dumpable() == 0 else {
            throw SandboxError(.notInEffect, step: .notDumpable,
                               reason: "PR_GET_DUMPABLE does not read back as 0")
        }
        return "PR_SET_DUMPABLE=0"
    }
}
