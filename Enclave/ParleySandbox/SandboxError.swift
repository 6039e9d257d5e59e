import Glibc

/// Why the worker could not lock itself down: the step that failed, the `errno` the kernel or
/// libseccomp returned (if any), and a reason a person can act on.
public struct SandboxError: Error, Sendable, CustomStringConvertible {
    /// The kind of failure; extensible without breaking callers.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The code's stable name.
        public let rawValue: String
        /// The policy asks for something no kernel can grant (checked before any step runs).
        public static let invalidPolicy = Code(rawValue: "invalid-policy")
        /// A system call that applies the step failed.
        public static let kernelRefused = Code(rawValue: "kernel-refused")
        /// libseccomp could not build or load the filter.
        public static let filterNotLoaded = Code(rawValue: "filter-not-loaded")
        /// The step reported success but a read-back shows it did not take effect.
        public static let notInEffect = Code(rawValue: "not-in-effect")
        /// The kernel lacks the feature the step uses (Landlock): recorded as unavailable, not fatal.
        public static let unavailable = Code(rawValue: "unavailable")
        /// The code's stable name.
        public var description: String { rawValue }
    }

    /// What kind of failure this is.
    public let code: Code
    /// The lock-down step that could not be applied.
    public let step: LockdownStep
    /// The `errno` value behind the failure, when a system call reported one.
    public let errno: Int32?
    /// A human reason naming the call or value that failed.
    public let reason: String
    /// Where the error was raised (`#fileID`).
    public let file: String
    /// Where the error was raised (`#line`).
    public let line: Int

    /// Creates an error for a failed step.
    /// - Parameters:
    ///   - code: the kind of failure.
    ///   - step: the lock-down step that failed.
    ///   - errno: the `errno` a system call reported, if any.
    ///   - reason: what failed, in words (the `errno` text is appended by ``description``).
    public init(_ code: Code, step: LockdownStep, errno: Int32? = nil, reason: String,
                file: String = #fileID, line: Int = #line) {
        self.code = code
        self.step = step
        self.errno = errno
        self.reason = reason
        self.file = file
        self.line = line
    }

    /// "sandbox step 'syscall-filter' failed: seccomp_load: Operation not permitted (errno 1)".
    public var description: String {
        var text = "sandbox step '\(step)' failed: \(reason)"
        if let errno {
            text += ": \(SandboxError.errnoText(errno)) (errno \(errno))"
        }
        return text
    }

    /// The C library's text for an `errno` value ("Operation not permitted").
    public static func errnoText(_ value: Int32) -> String {
        guard let text = strerror(value) else { return "errno \(value)" }
        return String(cString: text)
    }
}
