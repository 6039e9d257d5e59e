/// The resource limits the worker sets on itself before it reads any input.
///
/// Each limit becomes both the soft and the hard `rlimit`, so the worker cannot raise it again
/// (the syscall filter also denies `setrlimit` and writing `prlimit64`). If the inherited hard
/// limit is already lower, the lower one stays. `RLIMIT_CORE` is always 0 and not configurable.
public struct ResourceLimits: Sendable, Hashable {
    /// `RLIMIT_AS` and `RLIMIT_DATA`: bytes of address space. A balloon gets `ENOMEM` from
    /// `mmap`/`brk` (so `malloc` returns NULL) instead of pushing the host into the OOM killer.
    /// Default 4 GiB. Thread stacks (8 MiB each) and the Swift runtime count against it.
    public var addressSpaceBytes: UInt64
    /// `RLIMIT_CPU`: seconds of CPU time (all threads). At the limit the kernel sends `SIGXCPU`
    /// (which terminates the worker); the hard limit is one second later, when it sends `SIGKILL`.
    /// Default 3600.
    public var cpuSeconds: UInt64
    /// `RLIMIT_NOFILE`: the highest file descriptor number plus one. Default 64.
    public var openFiles: UInt64
    /// `RLIMIT_NPROC`: processes *and threads* of the real user id, counted across the whole host.
    /// The kernel does not enforce it for root (or any holder of `CAP_SYS_RESOURCE`/`CAP_SYS_ADMIN`),
    /// and it counts threads, so it cannot be small; the syscall filter (clone only with
    /// `CLONE_THREAD`) is the real guard against new processes. Every worker of a root host runs
    /// as the one user `parley-worker`, so the count is of all of them together. Default 8192.
    public var processes: UInt64
    /// `RLIMIT_FSIZE`: bytes a write may extend a regular file to. The worker cannot open files
    /// for writing, so this only bounds growth of an inherited file (a log on stderr, say);
    /// beyond it a write raises `SIGXFSZ`. Default 64 MiB.
    public var fileSizeBytes: UInt64

    /// Creates limits; every parameter defaults to the value ``standard`` uses.
    public init(addressSpaceBytes: UInt64 = 4 << 30, cpuSeconds: UInt64 = 3600, openFiles: UInt64 = 64,
                processes: UInt64 = 8192, fileSizeBytes: UInt64 = 64 << 20) {
        self.addressSpaceBytes = addressSpaceBytes
        self.cpuSeconds = cpuSeconds
        self.openFiles = openFiles
        self.processes = processes
        self.fileSizeBytes = fileSizeBytes
    }

    /// 4 GiB of address space, one hour of CPU, 64 descriptors, 512 tasks, 64 MiB file size.
    public static let standard = ResourceLimits()

    /// Smallest values a Swift worker can start threads and run with; anything below is refused
    /// as an invalid policy before any step runs (it would fail later in confusing ways).
    public static let minimum = ResourceLimits(addressSpaceBytes: 64 << 20, cpuSeconds: 1, openFiles: 8,
                                               processes: 16, fileSizeBytes: 0)

    /// Reasons the limits are unusable, or an empty list.
    public func problems() -> [String] {
        let floor = ResourceLimits.minimum
        var problems: [String] = []
        if addressSpaceBytes < floor.addressSpaceBytes {
            problems.append("address space \(addressSpaceBytes) bytes is below \(floor.addressSpaceBytes)")
        }
        if cpuSeconds < floor.cpuSeconds { problems.append("CPU time must be at least 1 second") }
        if openFiles < floor.openFiles { problems.append("open files \(openFiles) is below \(floor.openFiles)") }
        if processes < floor.processes { problems.append("processes \(processes) is below \(floor.processes)") }
        return problems
    }
}
