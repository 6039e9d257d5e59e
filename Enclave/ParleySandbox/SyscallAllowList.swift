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
        SyscallAllowList(rules: memory + threads(processID: processID) + io + files + denials + kills)
    }

    // MARK: - Allowed

    static let memory: [SyscallRule] = [
        SyscallRule("brk", .allow, "malloc grows the heap (bounded by RLIMIT_DATA and RLIMIT_AS)."),
        SyscallRule("mmap", .allow, "Large malloc blocks, thread stacks, malloc arenas."),
        SyscallRule("munmap", .allow, "Frees what mmap mapped."),
        SyscallRule("mprotect", .allow, "Thread stack guard pages; new malloc arenas."),
        SyscallRule("madvise", .allow, "malloc and Dispatch give unused pages back (MADV_DONTNEED)."),
        SyscallRule("mremap", .allow, "realloc of a large (mmap-backed) block: big arrays and Data growing.",
                    seen: false),
    ]

    /// Bits of `clone` flags that must be exactly `CLONE_THREAD`: a thread, and no new namespace.
    static let cloneMask: UInt64 = UInt64(CLONE_THREAD | CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS
                                          | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET)

    static func threads(processID: pid_t) -> [SyscallRule] {
        [
            SyscallRule("clone", .allowIf([[.masked(0, mask: cloneMask, equals: UInt64(CLONE_THREAD),
                                                    meaning: "flags include CLONE_THREAD and no CLONE_NEW* flag")]]),
                        "pthread_create (Dispatch and Swift concurrency threads). A new process (fork, "
                            + "vfork, posix_spawn) has no CLONE_THREAD and is denied."),
            SyscallRule("clone3", .fail(errno: ENOSYS),
                        "Its flags are in memory, which seccomp cannot read; ENOSYS makes glibc fall back "
                            + "to clone, whose flags it can (seen: every thread start does this)."),
            SyscallRule("set_robust_list", .allow, "Every new thread registers its robust futex list."),
            SyscallRule("rseq", .allow, "Every new thread registers restartable sequences (glibc 2.35+)."),
            SyscallRule("futex", .allow, "Locks, condition variables, semaphores, thread join."),
            SyscallRule("gettid", .allow, "Thread ids (Dispatch, Foundation locks)."),
            SyscallRule("getpid", .allow, "The process id (Foundation, raise)."),
            SyscallRule("sched_yield", .allow, "Spin locks in the Swift runtime and Dispatch back off under "
                            + "contention.", seen: false),
            SyscallRule("sched_getaffinity", .allow, "CPU count (sysconf, Dispatch's pool width) on hosts without "
                            + "cgroup CPU files.", seen: false),
            SyscallRule("setpriority", .ignore,
                        "Dispatch sets thread priorities per QoS and writes to syslog (a socket) when that "
                            + "fails; the worker must not change its priority, so the call does nothing."),
            SyscallRule("exit", .allow, "A thread ends."),
            SyscallRule("exit_group", .allow, "The worker ends."),
            SyscallRule("rt_sigaction", .allow, "Signal handlers (Swift runtime, Dispatch)."),
            SyscallRule("rt_sigprocmask", .allow, "Threads block signals while they start."),
            SyscallRule("rt_sigreturn", .allow, "Returning from a signal handler (the Swift runtime's crash "
                            + "handler).", seen: false),
            SyscallRule("sigaltstack", .allow, "Alternate signal stack, for stack-overflow crash reports.",
                        seen: false),
            SyscallRule("tgkill", .allowIf([[.int(0, equals: processID, meaning: "thread group is the worker itself")]]),
                        "abort() and raise() (a Swift trap, a failed precondition) signal the worker's own "
                            + "thread; no other process.", seen: false),
            SyscallRule("clock_gettime", .allow, "Date(), Dispatch timers, when the vDSO cannot answer "
                            + "(some virtual machine clock sources).", seen: false),
            SyscallRule("gettimeofday", .allow, "The same, for legacy callers.", seen: false),
            SyscallRule("clock_nanosleep", .allow, "usleep, Thread.sleep, Dispatch timers."),
            SyscallRule("getrandom", .allow, "SystemRandomNumberGenerator, UUID, key generation, DP noise."),
        ]
    }

    static let io: [SyscallRule] = [
        SyscallRule("read", .allow, "The inherited host connection, stdin, read-only files."),
        SyscallRule("write", .allow, "The inherited host connection, stdout, stderr."),
        SyscallRule("writev", .allow, "glibc stdio writes a buffer and new data in one call.", seen: false),
        SyscallRule("recvfrom", .allow, "recv() on the inherited, already-connected socket.", seen: false),
        SyscallRule("sendto", .allowIf([[.word(4, equals: 0, meaning: "no destination address")]]),
                    "send() on the inherited, connected socket; never to an address of its choosing.",
                    seen: false),
        SyscallRule("close", .allow, "Closing descriptors."),
        SyscallRule("fcntl", .allow, "Descriptor flags (O_NONBLOCK, FD_CLOEXEC); cannot change an access mode.",
                    seen: false),
        SyscallRule("ioctl", .allowIf([[.int(1, equals: Int32(TCGETS), meaning: "request is TCGETS")]]),
                    "isatty() on stdio (glibc, Foundation); no other device control.", seen: false),
        SyscallRule("poll", .allow, "Waiting for the host connection to be readable.", seen: false),
        SyscallRule("epoll_create1", .allow, "Dispatch's event loop (timers, sources)."),
        SyscallRule("epoll_ctl", .allow, "Dispatch's event loop."),
        SyscallRule("epoll_wait", .allow, "Dispatch's event loop."),
        SyscallRule("eventfd2", .allow, "Dispatch wakes its event loop with an eventfd."),
        SyscallRule("timerfd_create", .allow, "Dispatch timers."),
        SyscallRule("timerfd_settime", .allow, "Dispatch timers."),
        SyscallRule("lseek", .allow, "glibc reading the time zone file; seeking in read-only files."),
    ]

    /// `openat` flags that would write, create, truncate, append or make an unnamed file.
    static let writeOpenFlags: UInt64 = UInt64(O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND) | 0o20000000

    static let files: [SyscallRule] = [
        SyscallRule("openat", .allowIf([[.masked(2, mask: writeOpenFlags, equals: 0,
                                                  meaning: "flags has none of O_WRONLY, O_RDWR, O_CREAT, "
                                                      + "O_TRUNC, O_APPEND, O_TMPFILE")]]),
                    "Read-only opens: time zone data (/etc/localtime, /usr/share/zoneinfo), cgroup CPU "
                        + "quota and /proc/self/status (Foundation's CPU count), /dev/urandom. Any open that "
                        + "could write, create or truncate is denied."),
        SyscallRule("newfstatat", .allow, "fstat() and stat() in glibc 2.33+; metadata only."),
        SyscallRule("fstat", .allow, "fstat() from code built against older glibc; metadata only.", seen: false),
        SyscallRule("readlink", .allow, "Foundation resolves /etc/localtime to name the time zone."),
        SyscallRule("sysinfo", .allow, "ProcessInfo.physicalMemory."),
        SyscallRule("prlimit64", .allowIf([[.word(0, equals: 0, meaning: "pid 0 (itself)"),
                                            .word(2, equals: 0, meaning: "no new limit (read only)")]]),
                    "getrlimit() in glibc; raising a limit (root could) is denied."),
        SyscallRule("prctl", .allowIf([
            [.int(0, equals: PR_SET_NAME, meaning: "PR_SET_NAME")],
            [.int(0, equals: PR_GET_NAME, meaning: "PR_GET_NAME")],
            [.int(0, equals: PR_GET_DUMPABLE, meaning: "PR_GET_DUMPABLE")],
            [.int(0, equals: PR_GET_SECCOMP, meaning: "PR_GET_SECCOMP")],
            [.int(0, equals: PR_GET_NO_NEW_PRIVS, meaning: "PR_GET_NO_NEW_PRIVS")],
        ]), "Dispatch names its threads; the worker reads back its own hardening (the filter step "
            + "itself checks PR_GET_SECCOMP). Setting dumpable, or any other option, is denied."),
    ]

    // MARK: - Denied (documented; the default action applies)

    static let denials: [SyscallRule] = [
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
        ("statx", "Not seen (glibc 2.36 stat uses newfstatat)."),
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
