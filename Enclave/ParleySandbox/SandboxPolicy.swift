/// What the worker's lock-down must achieve. A value: the worker builds it from its launch
/// arguments, and the chosen policy (above all ``debug``) belongs in the launch measurement.
public struct SandboxPolicy: Sendable, Hashable {
    /// The resource limits to set.
    public var limits: ResourceLimits
    /// Whether a new network namespace is required or only attempted.
    public var networkNamespace: NetworkNamespaceRequirement
    /// Which descriptors survive the lock-down.
    public var descriptors: DescriptorPolicy
    /// Who the worker becomes when it starts as root.
    public var identity: WorkerIdentity
    /// What a system call the allow-list does not name gets: `EPERM` (production), or the
    /// process killed (tests run every worker so, making any call the list lacks fail the test).
    public var unlistedSyscalls: UnlistedSyscallAction
    /// Debug mode: a step that cannot be applied is reported instead of stopping the worker.
    ///
    /// Security consequence: a debug worker may run with no filter at all. The report says
    /// `debug: true`; the caller must record it in the measurement, and verifiers refuse
    /// debug evidence unless their policy explicitly allows it. Defaults to `false`.
    public var debug: Bool

    /// Creates a policy.
    /// - Parameters:
    ///   - limits: resource limits; ``ResourceLimits/standard`` by default.
    ///   - networkNamespace: ``NetworkNamespaceRequirement/bestEffort`` by default, since the
    ///     syscall filter denies sockets either way and the report records the outcome.
    ///   - descriptors: 0-2 on /dev/null and nothing else kept, by default.
    ///   - identity: the uid/gid to switch to when root; ``WorkerIdentity/standard()`` by default.
    ///   - unlistedSyscalls: ``UnlistedSyscallAction/fail`` (EPERM) by default.
    ///   - debug: `false` by default; see ``debug``.
    public init(limits: ResourceLimits = .standard,
                networkNamespace: NetworkNamespaceRequirement = .bestEffort,
                descriptors: DescriptorPolicy = DescriptorPolicy(),
                identity: WorkerIdentity = .standard(),
                unlistedSyscalls: UnlistedSyscallAction = .fail,
                debug: Bool = false) {
        self.limits = limits
        self.networkNamespace = networkNamespace
        self.descriptors = descriptors
        self.identity = identity
        self.unlistedSyscalls = unlistedSyscalls
        self.debug = debug
    }

    /// The production policy: standard limits, best-effort namespace, 0-2 on /dev/null, not debug.
    public static var production: SandboxPolicy { SandboxPolicy() }
}

/// The seccomp filter's default action: what a call the allow-list does not name gets.
public enum UnlistedSyscallAction: String, Sendable, Hashable {
    /// Fails with `EPERM`: a library probing a feature gets an error it can handle.
    case fail
    /// Kills the process (`SIGSYS`). Stricter; the test suite runs every worker so, so a worker
    /// that needs a call not on the list fails its test instead of limping on.
    case killProcess = "kill-process"
}
