import ParleySandbox

/// The probe's command line: `parley-sandbox-probe MODE [flags]`.
struct ProbeOptions {
    enum Mode: String, CaseIterable {
        case checks, forkbomb, balloon, spin, dump, kill, report, identity
        case strayOutput = "stray-output"
        case allowList = "allow-list"
    }

    var mode: Mode
    var policy = SandboxPolicy()
    var lockDown = true
    var startThreadFirst = false
    /// Report on this descriptor instead of stdout (then 0-2 go to /dev/null, as in the worker).
    var reportFD: Int32?
    /// A file the probe must not be able to read after the lock-down (the host's secret).
    var secretPath: String?
    /// `allow-list --names`: one "name decision" line per rule, for Scripts/derive-syscalls.py.
    var namesOnly = false

    static let usage = """
        usage: parley-sandbox-probe MODE [--debug] [--cpu-seconds N] [--memory-mib N] [--open-files N]
                                         [--processes N] [--network required|best-effort]
                                         [--start-thread-first] [--no-lockdown] [--report-fd N]
                                         [--secret PATH] [--kill-unlisted]
        modes: checks      lock down, then try forbidden operations (DENIED/ALLOWED lines) and
                           operations the worker needs; reads stdin to EOF (expects "parley-probe-input")
               forkbomb    fork in a loop (at most 100 times): STOPPED when fork is denied
               balloon     allocate and touch 16 MiB blocks until malloc fails: STOPPED at N MiB
               spin        busy loop until RLIMIT_CPU kills the probe (use --cpu-seconds 1)
               dump        PASS/FAIL for dumpable, RLIMIT_CORE, no-new-privs, seccomp mode
               kill        call bpf(): the filter must kill the probe with SIGSYS
               report      lock down and print the report only
               identity    apply only the identity step, then print uid, gid, groups and every
                           capability set (/proc/self/status), and try to read --secret and regain root
               stray-output  lock down, write a marker to fd 1 and fd 2, report on --report-fd
               allow-list  print the allow-list as a Markdown table (no lock-down); with --names,
                           one "name decision" line per rule (Scripts/derive-syscalls.sh reads it)
        exit: 0 done, 1 a check failed, 2 lock-down refused (REFUSED line), 64 usage error
        """

    /// Parses the arguments after the program name; returns nil on a usage error.
    static func parse(_ arguments: [String]) -> ProbeOptions? {
        guard let first = arguments.first, let mode = Mode(rawValue: first) else { return nil }
        var options = ProbeOptions(mode: mode)
        var rest = arguments.dropFirst()
        while let flag = rest.popFirst() {
            switch flag {
            case "--debug": options.policy.debug = true
            case "--no-lockdown": options.lockDown = false
            case "--kill-unlisted": options.policy.unlistedSyscalls = .killProcess
            case "--names": options.namesOnly = true
            case "--start-thread-first": options.startThreadFirst = true
            case "--report-fd":
                guard let text = rest.popFirst(), let fd = Int32(text), fd > 2 else { return nil }
                options.reportFD = fd
            case "--secret":
                guard let path = rest.popFirst() else { return nil }
                options.secretPath = path
            case "--network":
                guard let value = rest.popFirst(), let requirement = NetworkNamespaceRequirement(rawValue: value)
                else { return nil }
                options.policy.networkNamespace = requirement
            case "--cpu-seconds", "--memory-mib", "--open-files", "--processes":
                guard let text = rest.popFirst(), let value = UInt64(text) else { return nil }
                options.setLimit(flag, value)
            default:
                return nil
            }
        }
        return options
    }

    private mutating func setLimit(_ flag: String, _ value: UInt64) {
        switch flag {
        case "--cpu-seconds": policy.limits.cpuSeconds = value
        case "--memory-mib": policy.limits.addressSpaceBytes = value << 20
        case "--open-files": policy.limits.openFiles = value
        default: policy.limits.processes = value
        }
    }
}
