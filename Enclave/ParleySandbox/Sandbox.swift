import Glibc

/// The worker's lock-down. Call ``lockDown(_:)`` once, first thing, before reading any input and
/// before starting threads (an unprivileged worker cannot enter a user namespace once it has them).
///
/// ```swift
/// let report = try Sandbox.lockDown(.production)   // or exit with the error's description
/// measurement.debug = report.debug
/// ```
public enum Sandbox {
    /// Applies every step of the policy in order: descriptors, resource limits, network namespace,
    /// identity (no uid 0, no capability), no-new-privileges, file system (Landlock), not
    /// dumpable, the seccomp allow-list.
    ///
    /// Outside debug mode the first step that cannot be applied stops the lock-down with an error
    /// (steps already applied stay applied: the caller must exit). In debug mode every failure is
    /// recorded in the report and the remaining steps still run.
    /// - Parameter policy: what to apply.
    /// - Returns: each step's outcome and the debug flag, for the launch measurement.
    /// - Throws: ``SandboxError`` naming the step that failed and the `errno`.
    public static func lockDown(_ policy: SandboxPolicy) throws(SandboxError) -> LockdownReport {
        try lockDown(policy, using: .system)
    }

    /// Applies one step on its own, outside the lock-down: the sandbox probe uses it to show what
    /// a single step does (an identity switch without the filter, so the result can be read back).
    /// A worker calls ``lockDown(_:)``.
    /// - Throws: ``SandboxError`` as the step would inside the lock-down.
    public static func apply(_ step: LockdownStep, _ policy: SandboxPolicy) throws(SandboxError) -> String {
        try LockdownActions.system.run(step, policy)
    }

    /// The lock-down with the step implementations injected (tests use failing fakes).
    static func lockDown(_ policy: SandboxPolicy, using actions: LockdownActions) throws(SandboxError)
        -> LockdownReport {
        let problems = policy.limits.problems()
        if !problems.isEmpty {
            // Refused even in debug mode: this is a mistake in the caller, not the kernel.
            throw SandboxError(.invalidPolicy, step: .resourceLimits,
                               reason: "the policy's limits are unusable: " + problems.joined(separator: "; "))
        }
        var steps: [(step: LockdownStep, outcome: StepOutcome)] = []
        for step in LockdownStep.allCases {
            do throws(SandboxError) {
                steps.append((step, .applied(detail: try actions.run(step, policy))))
            } catch {
                if (step == .networkNamespace && policy.networkNamespace == .bestEffort)
                    || (step == .fileSystem && error.code == .unavailable) {
                    steps.append((step, .unavailable(error)))
                } else if policy.debug {
                    steps.append((step, .failedInDebugMode(error)))
                } else {
                    throw error
                }
            }
        }
        return LockdownReport(debug: policy.debug, steps: steps)
    }
}

/// The implementation of each lock-down step; a seam so tests can make any step fail without
/// locking down the test process itself.
struct LockdownActions: Sendable {
    var descriptors: @Sendable (DescriptorPolicy) throws(SandboxError) -> String
    var resourceLimits: @Sendable (ResourceLimits) throws(SandboxError) -> String
    var networkNamespace: @Sendable () throws(SandboxError) -> String
    var identity: @Sendable (WorkerIdentity) throws(SandboxError) -> String
    var noNewPrivileges: @Sendable () throws(SandboxError) -> String
    var fileSystem: @Sendable () throws(SandboxError) -> String
    var notDumpable: @Sendable () throws(SandboxError) -> String
    var syscallFilter: @Sendable (UnlistedSyscallAction) throws(SandboxError) -> String

    /// The real steps.
    static let system = LockdownActions(
        descriptors: { policy throws(SandboxError) in try DescriptorStep.apply(policy) },
        resourceLimits: { limits throws(SandboxError) in try ResourceLimitStep.apply(limits) },
        networkNamespace: { () throws(SandboxError) in try NetworkNamespaceStep.apply() },
        identity: { identity throws(SandboxError) in try IdentityStep.apply(identity) },
        noNewPrivileges: { () throws(SandboxError) in try ProcessHardeningStep.setNoNewPrivileges() },
        fileSystem: { () throws(SandboxError) in try FileSystemStep.apply() },
        notDumpable: { () throws(SandboxError) in try ProcessHardeningStep.setNotDumpable() },
        syscallFilter: { unlisted throws(SandboxError) in
            try SyscallFilterStep.apply(.worker(), unlisted: unlisted)
        })

    func run(_ step: LockdownStep, _ policy: SandboxPolicy) throws(SandboxError) -> String {
        switch step {
        case .descriptors: return try descriptors(policy.descriptors)
        case .resourceLimits: return try resourceLimits(policy.limits)
        case .networkNamespace: return try networkNamespace()
        case .identity: return try identity(policy.identity)
        case .noNewPrivileges: return try noNewPrivileges()
        case .fileSystem: return try fileSystem()
        case .notDumpable: return try notDumpable()
        case .syscallFilter: return try syscallFilter(policy.unlistedSyscalls)
        }
    }
}
