import ParleySandbox

/// The probe's command line: `parley-sandbox-probe MODE [flags]`.
struct ProbeOptions {
    enum Mode: String, CaseIterable {
        case checks, forkbomb, balloon, spin, dump, kill, report
        case allowList = "allow-list"
    }

    var mode: Mode
    var policy = SandboxPolicy()
    var lockDown = true
    var startThreadFirst = false

    static let usage = """
        usage: parley-sandbox-probe MODE [--debug] [--cpu-seconds N] [--memory-mib N] [--open-files N]
                                         [--processes N] [--network required|best-effort]
                                         [--start-thread-first] [--no-lockdown]
        modes: checks      lock down, then try forbidden operations (DENIED/ALLOWED lines) and
                           operations the worker needs; reads stdin to EOF (expects "parley-probe-input")
               forkbomb    fork in a loop (at most 100 times): STOPPED when fork is denied
               balloon     allocate and touch 16 MiB blocks until malloc fails: STOPPED at N MiB
               spin        busy loop until RLIMIT_CPU kills the probe (use --cpu-seconds 1)
               dump        PASS/FAIL for dumpable, RLIMIT_CORE, no-new-privs, seccomp mode
               kill        call bpf(): the filter must kill the probe with SIGSYS
               report      lock down and print the report only
               allow-list  print the allow-list as a Markdown table (no lock-down)
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
            case "--start-thread-first": options.startThreadFirst = true
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
