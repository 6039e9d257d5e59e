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
        // Landlock denies the whole file system, /proc included: the worker cannot even read its
        // own status (where there is no Landlock, it can, and must show the filter in force).
        let fd = open("/proc/self/status", O_RDONLY)
        if fd < 0 {
            check("proc-status", errno == EACCES, "open(/proc/self/status): \(String(cString: strerror(errno)))")
        } else {
            close(fd)
            let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
            let fields = status.split(separator: "\n").filter {
                $0.hasPrefix("NoNewPrivs:") || $0.hasPrefix("Seccomp:")
            }.map { $0.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ") }
            check("proc-status", fields.contains("NoNewPrivs: 1") && fields.contains("Seccomp: 2"),
                  "readable (no Landlock): " + fields.joined(separator: ", "))
        }
        return failed ? 1 : 0
    }
}
