/// What the worker's lock-down must achieve. A value: the worker builds it from its launch
/// arguments, and the chosen policy (above all ``debug``) belongs in the launch measurement.
public struct SandboxPolicy: Sendable, Hashable {
    /// The resource limits to set.
    public var limits: ResourceLimits
    /// Whether a new network namespace is required or only attempted.
    public var networkNamespace: NetworkNamespaceRequirement
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
    ///   - debug: `false` by default; see ``debug``.
    public init(limits: ResourceLimits = .standard,
                networkNamespace: NetworkNamespaceRequirement = .bestEffort,
                debug: Bool = false) {
        self.limits = limits
        self.networkNamespace = networkNamespace
        self.debug = debug
    }

    /// The production policy: standard limits, best-effort namespace, not debug.
    public static let production = SandboxPolicy()
}
