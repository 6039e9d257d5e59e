import CSeccomp
import Foundation
import Glibc

/// The `dump` mode: the process state the lock-down must leave behind. PASS or FAIL per check.
enum StateChecks {
    static func run() -> Int32 {
        var failed = false
        func check(_ name: String, _ ok: Bool, _ detail: String) {
            ProbeOutput.line("\(ok ? "PASS" : "FAIL") \(name) \(detail)")
            failed = failed || !ok
        }
        let dumpable = parley_prctl_get_dumpable()
        check("dumpable", dumpable == 0, "PR_GET_DUMPABLE=\(dumpable)")
        var core = rlimit()
        getrlimit(__rlimit_resource_t(RLIMIT_CORE.rawValue), &core)
        check("rlimit-core", core.rlim_cur == 0 && core.rlim_max == 0, "RLIMIT_CORE=\(core.rlim_cur)/\(core.rlim_max)")
        let noNewPrivs = parley_prctl_get_no_new_privs()
        check("no-new-privs", noNewPrivs == 1, "PR_GET_NO_NEW_PRIVS=\(noNewPrivs)")
        let seccomp = parley_prctl_get_seccomp()
        check("seccomp-mode", seccomp == 2, "PR_GET_SECCOMP=\(seccomp)")
        // No file can be opened after lock-down, /proc included (the filter denies openat, and
        // Landlock the whole file system behind it): the worker cannot even read its own status.
        let fd = open("/proc/self/status", O_RDONLY)
        let openErrno = errno
        if fd >= 0 { close(fd) }
        check("proc-status", fd < 0 && (openErrno == EPERM || openErrno == EACCES),
              fd < 0 ? "open(/proc/self/status): \(String(cString: strerror(openErrno)))" : "open(/proc/self/status) worked")
        return failed ? 1 : 0
    }
}
