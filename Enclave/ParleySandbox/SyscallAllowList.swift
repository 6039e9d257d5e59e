import CSeccomp
import Glibc

/// The worker's seccomp policy: every system call not allowed here fails with ``defaultErrno``.
///
/// The list was derived empirically (strace of the probe running the Swift runtime, Foundation
/// and Dispatch under the filter) and then pruned; docs/sandbox.md shows it as a table, and
/// ``markdownTable()`` prints that table from this very value so the two cannot drift.
public struct SyscallAllowList: Sendable {
    /// What every call without a rule fails with.
    public let defaultErrno: Int32
    /// The rules, grouped by purpose.
    public let rules: [SyscallRule]

    /// Creates a list from rules.
    public init(defaultErrno: Int32 = EPERM, rules: [SyscallRule]) {
        self.defaultErrno = defaultErrno
        self.rules = rules
    }

    /// The worker's list. `processID` is the worker's own pid (signals may only go to it).
    public static func worker(processID: pid_t = getpid()) -> SyscallAllowList {
        SyscallAllowList(rules: memory + process(processID: processID) + io + denials + kills)
    }

    // MARK: - Allowed
    //
    // Derived from the real worker: Scripts/derive-syscalls.sh traces every parley-enclave of the
    // end-to-end tests and lists the calls made after the filter was loaded (seen: yes). The worker
    // is single-threaded and opens no file after lock-down, so thread, event-loop and file calls
    // are gone. Kept without being seen: the crash path (a Swift trap or failed malloc must end
    // the worker with its signal), the vDSO's clock fallback, and what the sandbox probe, which
    // runs under this very list, needs to report.

    static let memory: [SyscallRule] = [
        SyscallRule("brk", .allow, "malloc grows the heap (bounded by RLIMIT_DATA and RLIMIT_AS)."),
        SyscallRule("mmap", .allow, "Large malloc blocks: uploaded CSV, tables, frames."),
        SyscallRule("munmap", .allow, "Frees what mmap mapped."),
        SyscallRule("mremap", .allow, "realloc of a mapped block (a dictionary's arena, ByteArena) moves its pages to a "
                        + "larger mapping instead of copying them; added with it, after the last trace, and exercised "
                        + "by the kill-on-unlisted upload tests.", seen: false),
        SyscallRule("madvise", .allow, "malloc gives unused pages back (MADV_DONTNEED)."),
    ]

    static func process(processID: pid_t) -> [SyscallRule] {
        [
            SyscallRule("futex", .allow, "Swift runtime and Foundation locks (uncontended: the worker has one thread)."),
            SyscallRule("getrandom", .allow, "Worker keys, HPKE, signatures (swift-crypto), DP noise."),
            SyscallRule("clock_gettime", .allow, "Date() for log entry timestamps, when the vDSO cannot answer "
                            + "(some virtual machine clock sources).", seen: false),
            SyscallRule("clock_nanosleep", .allow, "nanosleep: query answers leave on the release quantum (ReleaseClock); "
                            + "added with it, after the last trace, and exercised by the kill-on-unlisted query tests.",
                        seen: false),
            SyscallRule("exit_group", .allow, "The worker ends."),
            SyscallRule("rt_sigprocmask", .allow, "Crash path: abort() blocks signals before raising SIGABRT.",
                        seen: false),
            SyscallRule("rt_sigaction", .allow, "Crash path: abort() and the Swift runtime's crash handler reset "
                            + "a handler to re-raise the signal.", seen: false),
            SyscallRule("rt_sigreturn", .allow, "Crash path: returning from a signal handler.", seen: false),
            SyscallRule("getpid", .allow, "Crash path: raise() names the worker's own thread group.", seen: false),
            SyscallRule("gettid", .allow, "Crash path: glibc (2.34 and later) raises a signal on the calling thread as gettid, then "
                            + "tgkill(getpid(), tid, sig) (nptl's __pthread_kill_implementation, reached from abort() and "
                            + "raise()); seen in the trace when a worker's malloc failed at its memory limit and it aborted."),
            SyscallRule("tgkill", .allowIf([[.int(0, equals: processID, meaning: "thread group is the worker itself")]]),
                        "Crash path: abort() and raise() (a Swift trap, a failed precondition, malloc failing at "
                            + "RLIMIT_AS) signal the worker's own thread; no other process.", seen: false),
        ]
    }

    static let io: [SyscallRule] = [
        SyscallRule("read", .allow, "Frames from the host on the inherited channel."),
        SyscallRule("sendto", .allowIf([[.word(4, equals: 0, meaning: "no destination address")]]),
                    "Frames to the host: send() on the inherited, connected channel; never to an address of its "
                        + "choosing."),
        SyscallRule("write", .allow, "Not made by the worker (it sends frames); kept for the sandbox probe, which "
                        + "prints its findings under this list. Reaches only descriptors the worker holds: "
                        + "/dev/null and its channel.", seen: false),
        SyscallRule("prlimit64", .allowIf([[.word(0, equals: 0, meaning: "pid 0 (itself)"),
                                            .word(2, equals: 0, meaning: "no new limit (read only)")]]),
                    "Not made by the worker; kept for the sandbox probe's read-back of RLIMIT_CORE. Raising a "
                        + "limit (root could) is denied.", seen: false),
        SyscallRule("prctl", .allowIf([
            [.int(0, equals: PR_GET_SECCOMP, meaning: "PR_GET_SECCOMP")],
            [.int(0, equals: PR_GET_DUMPABLE, meaning: "PR_GET_DUMPABLE")],
            [.int(0, equals: PR_GET_NO_NEW_PRIVS, meaning: "PR_GET_NO_NEW_PRIVS")],
        ]), "The filter step reads back PR_GET_SECCOMP; the probe reads back dumpable and no-new-privs. "
            + "Setting any option is denied."),
    ]

    // MARK: - Denied (documented; the default action applies)

    static let denials: [SyscallRule] = [
        ("clone", "No threads and no processes: the worker is single-threaded (re-derive the list when that changes)."),
        ("clone3", "No threads and no processes."),
        ("openat", "No file opens after lock-down (Landlock denies them too): the worker reads only its channel."),
        ("newfstatat", "Not used after lock-down (the channel is checked before)."),
        ("close", "Not used: the worker holds its descriptors until it exits."),
        ("epoll_wait", "No event loop: the worker blocks in read on its channel."),
        ("mprotect", "Not used: one thread, the main malloc arena; no W^X changes."),
        ("socket", "No new sockets: the only connection is the one the host hands over."),
        ("sendmsg", "Its destination (msg_name) is in memory seccomp cannot read; write/send suffice."),
        ("recvmsg", "Not needed (no descriptor passing); read/recv suffice."),
        ("socketpair", "No new sockets."),
        ("connect", "No outgoing connections."),
        ("bind", "No listening."),
        ("listen", "No listening."),
        ("accept", "No listening."),
        ("accept4", "No listening."),
        ("open", "Legacy open; glibc uses openat, whose flags are checked."),
        ("creat", "Creates files."),
        ("openat2", "Its flags are in memory, which seccomp cannot read (see openat)."),
        ("rename", "File system writes."),
        ("renameat2", "File system writes."),
        ("unlink", "File system writes."),
        ("unlinkat", "File system writes."),
        ("mkdir", "File system writes."),
        ("mkdirat", "File system writes."),
        ("truncate", "File system writes."),
        ("ftruncate", "Writes to an inherited file."),
        ("chmod", "File system writes."),
        ("fchmodat", "File system writes."),
        ("ptrace", "No tracing of, or by, anyone."),
        ("process_vm_readv", "No reading another process's memory."),
        ("process_vm_writev", "No writing another process's memory."),
        ("kill", "No signals to other processes (tgkill to itself is allowed)."),
        ("fork", "No new processes."),
        ("vfork", "No new processes."),
        ("execve", "No running another program."),
        ("execveat", "No running another program."),
        ("mount", "No mounts."),
        ("umount2", "No mounts."),
        ("unshare", "No new namespaces after lock-down."),
        ("setns", "No joining other namespaces."),
        ("chroot", "No changing the root."),
        ("setrlimit", "Limits are final (root could raise them)."),
        ("setuid", "No identity changes."),
        ("setgid", "No identity changes."),
        ("setresuid", "No identity changes."),
        ("setresgid", "No identity changes."),
        ("capset", "No capability changes."),
        ("memfd_create", "Would allow building an executable image in memory."),
        ("pipe2", "Not needed."),
        ("dup", "Not needed: the worker's descriptors are set up before lock-down."),
        ("dup2", "Not needed."),
        ("dup3", "Not needed."),
        ("statx", "Not used."),
        ("getdents64", "Directory listing: not needed."),
        ("getcwd", "Not needed."),
        ("access", "Not needed."),
        ("faccessat2", "Not needed."),
        ("getuid", "Not needed (Foundation asks only for the home directory, which the worker does not use)."),
        ("uname", "Not needed."),
    ].map { SyscallRule($0.0, .denied, $0.1) }

    // MARK: - Kill the process

    static let kills: [SyscallRule] = [
        ("kexec_load", "Loads a new kernel."),
        ("kexec_file_load", "Loads a new kernel."),
        ("init_module", "Loads kernel code."),
        ("finit_module", "Loads kernel code."),
        ("delete_module", "Unloads kernel code."),
        ("bpf", "Loads programs into the kernel; large attack surface."),
        ("perf_event_open", "Kernel attack surface and a side channel."),
        ("userfaultfd", "Used to win kernel races in exploits."),
        ("io_uring_setup", "io_uring operations bypass seccomp."),
        ("io_uring_enter", "io_uring operations bypass seccomp."),
        ("io_uring_register", "io_uring operations bypass seccomp."),
        ("keyctl", "Kernel keyring; attack surface."),
        ("add_key", "Kernel keyring; attack surface."),
        ("request_key", "Kernel keyring; attack surface."),
        ("pivot_root", "Changes the root mount."),
        ("open_by_handle_at", "Opens files by handle, bypassing paths (a known container escape)."),
        ("reboot", "Host control."),
        ("swapon", "Host control."),
        ("swapoff", "Host control."),
        ("iopl", "Direct hardware I/O."),
        ("ioperm", "Direct hardware I/O."),
        ("settimeofday", "Changes the host clock."),
        ("clock_settime", "Changes the host clock."),
        ("clock_adjtime", "Changes the host clock."),
        ("adjtimex", "Changes the host clock."),
        ("acct", "Host control."),
        ("quotactl", "Host control."),
        ("syslog", "Reads the kernel log."),
    ].map { SyscallRule($0.0, .killProcess, $0.1) }
}
