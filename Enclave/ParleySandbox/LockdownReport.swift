/// What happened to one lock-down step.
public enum StepOutcome: Sendable, CustomStringConvertible {
    /// The step took effect; the detail says what was set ("RLIMIT_AS=4294967296 …").
    case applied(detail: String)
    /// A best-effort step the kernel refused; lock-down went on without it (not debug-only).
    case unavailable(SandboxError)
    /// The step failed and lock-down went on only because the policy is in debug mode.
    case failedInDebugMode(SandboxError)

    /// Whether the step took effect.
    public var isApplied: Bool {
        if case .applied = self { return true }
        return false
    }

    /// "applied: …", "unavailable: …" or "FAILED (debug mode): …".
    public var description: String {
        switch self {
        case .applied(let detail): return "applied: \(detail)"
        case .unavailable(let error): return "unavailable: \(error)"
        case .failedInDebugMode(let error): return "FAILED (debug mode): \(error)"
        }
    }
}

/// The result of a lock-down: each step and its outcome, in order, and whether debug mode was on.
///
/// A worker records ``debug`` (and may record ``summary``) in its launch measurement, so the
/// evidence shows what the sandbox really was.
public struct LockdownReport: Sendable, CustomStringConvertible {
    /// Whether the lock-down ran in debug mode. Evidence from a debug worker must say so.
    public let debug: Bool
    /// Every step with its outcome, in the order they were applied.
    public let steps: [(step: LockdownStep, outcome: StepOutcome)]

    /// Creates a report.
    public init(debug: Bool, steps: [(step: LockdownStep, outcome: StepOutcome)]) {
        self.debug = debug
        self.steps = steps
    }

    /// The outcome of one step, if it ran.
    public func outcome(of step: LockdownStep) -> StepOutcome? {
        steps.first { $0.step == step }?.outcome
    }

    /// Every step took effect.
    public var isComplete: Bool { steps.allSatisfy { $0.outcome.isApplied } }

    /// The errors of steps that failed in debug mode (empty outside debug mode).
    public var debugFailures: [SandboxError] {
        steps.compactMap {
            if case .failedInDebugMode(let error) = $0.outcome { return error }
            return nil
        }
    }

    /// One line per step: "debug=false", then "<step> <outcome>".
    public var description: String {
        (["debug=\(debug)"] + steps.map { "\($0.step) \($0.outcome)" }).joined(separator: "\n")
    }
}
