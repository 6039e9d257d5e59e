/// A test on one system call argument: `(argument & mask) == value`.
public struct ArgumentCondition: Sendable, Hashable, CustomStringConvertible {
    /// Zero-based argument index (arg0 is the first argument).
    public let argument: UInt32
    /// The bits compared.
    public let mask: UInt64
    /// The value the masked argument must equal.
    public let value: UInt64
    /// What the test means ("flags has none of O_WRONLY|O_RDWR|…"), for docs and reports.
    public let meaning: String

    /// `(argument & mask) == value`.
    public static func masked(_ argument: UInt32, mask: UInt64, equals value: UInt64,
                              meaning: String) -> ArgumentCondition {
        ArgumentCondition(argument: argument, mask: mask, value: value, meaning: meaning)
    }

    /// The low 32 bits of an `int` argument equal `value` (the kernel ignores the upper half).
    public static func int(_ argument: UInt32, equals value: Int32, meaning: String) -> ArgumentCondition {
        ArgumentCondition(argument: argument, mask: 0xffff_ffff, value: UInt64(UInt32(bitPattern: value)),
                          meaning: meaning)
    }

    /// A 64-bit argument (a pointer) equals `value`.
    public static func word(_ argument: UInt32, equals value: UInt64, meaning: String) -> ArgumentCondition {
        ArgumentCondition(argument: argument, mask: .max, value: value, meaning: meaning)
    }

    /// "arg2: flags has none of …".
    public var description: String { "arg\(argument): \(meaning)" }
}

/// The filter's decision for one system call, with the reason it is there.
public struct SyscallRule: Sendable, Hashable {
    /// What the filter does when the call is made.
    public enum Decision: Sendable, Hashable {
        /// Always allowed.
        case allow
        /// Allowed when *any one* of the alternatives holds, where an alternative is a list of
        /// conditions that must *all* hold; otherwise the default action (`EPERM`) applies.
        case allowIf([[ArgumentCondition]])
        /// Fails with this `errno` instead of the default `EPERM` (`ENOSYS` makes libraries fall back).
        case fail(errno: Int32)
        /// Returns 0 without doing anything: for calls a library makes and complains about
        /// (through syslog) when they fail, although their effect is not wanted.
        case ignore
        /// Listed to document a deliberate denial; the filter's default action (`EPERM`) applies.
        case denied
        /// The whole process is killed with `SIGSYS`: no legitimate worker code path makes the
        /// call, so making it means the worker is compromised.
        case killProcess
    }

    /// The system call's name as libseccomp knows it ("openat").
    public let name: String
    /// What the filter does.
    public let decision: Decision
    /// Why the call is allowed or denied, in words.
    public let reason: String
    /// For an allowed call: whether strace showed the probe's Swift runtime, Foundation and
    /// Dispatch workload making it under the filter (`false`: kept for a path the probe does not
    /// reach, such as a crash report or lock contention; the reason says which).
    public let seen: Bool

    /// Creates a rule.
    public init(_ name: String, _ decision: Decision, _ reason: String, seen: Bool = true) {
        self.name = name
        self.decision = decision
        self.reason = reason
        self.seen = seen
    }
}
