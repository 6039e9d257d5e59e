import Glibc

/// The worker's lock-down. Call ``lockDown(_:)`` once, first thing, before reading any input and
/// before starting threads (an unprivileged worker cannot enter a user namespace once it has them).
///
/// ```swift
/// let report = try Sandbox.lockDown(.production)   // or exit with the error's description
/// measurement.debug = report.debug
/// ```
public enum Sandbox {
    /// Applies every step of the policy in order: resource limits, network namespace,
    /// no-new-privileges, not dumpable, the seccomp allow-list.
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
                if step == .networkNamespace && policy.networkNamespace == .bestEffort {
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
    var resourceLimits: @Sendable (ResourceLimits) throws(SandboxError) -> String
    var networkNamespace: @Sendable () throws(SandboxError) -> String
    var noNewPrivileges: @Sendable () throws(SandboxError) -> String
    var notDumpable: @Sendable () throws(SandboxError) -> String
    var syscallFilter: @Sendable () throws(SandboxError) -> String

    /// The real steps.
    static let system = LockdownActions(
        resourceLimits: { limits throws(SandboxError) in try ResourceLimitStep.apply(limits) },
        networkNamespace: { () throws(SandboxError) in try NetworkNamespaceStep.apply() },
        noNewPrivileges: { () throws(SandboxError) in try ProcessHardeningStep.setNoNewPrivileges() },
        notDumpable: { () throws(SandboxError) in try ProcessHardeningStep.setNotDumpable() },
        syscallFilter: { () throws(SandboxError) in try SyscallFilterStep.apply(.worker()) })

    func run(_ step: LockdownStep, _ policy: SandboxPolicy) throws(SandboxError) -> String {
        switch step {
        case .resourceLimits: return try resourceLimits(policy.limits)
        case .networkNamespace: return try networkNamespace()
        case .noNewPrivileges: return try noNewPrivileges()
        case .notDumpable: return try notDumpable()
        case .syscallFilter: return try syscallFilter()
        }
    }
}
