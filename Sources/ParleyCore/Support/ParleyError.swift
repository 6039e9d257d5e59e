/// The error every ParleyCore API throws: a stable code a program can switch on, a reason a
/// person can act on, and where in the code it was raised.
///
/// Reasons never contain secret material or an expected value that an attacker could use.
public struct ParleyError: Error, CustomStringConvertible, Sendable, Equatable {
    /// Stable, extensible classification of the failure.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// Input bytes are not well-formed for the format being read (the caller's fault).
        public static let malformed = Code("malformed")
        /// Input is well-formed but breaks a rule of a deterministic/canonical encoding.
        public static let nonCanonical = Code("non-canonical")
        /// Input exceeds a configured cap (size, depth, count).
        public static let limitExceeded = Code("limit-exceeded")
        /// A cryptographic check failed (signature, AEAD tag, key mismatch).
        public static let verificationFailed = Code("verification-failed")
        /// The input uses a feature or algorithm this implementation does not accept.
        public static let unsupported = Code("unsupported")
        /// A key or key file is unusable.
        public static let badKey = Code("bad-key")
        /// What was asked for does not exist (a job this host does not run): the request names
        /// something unknown, which is not the same as malformed input.
        public static let notFound = Code("not-found")
        /// What was asked for exists but its state refuses the request (a job that has ended).
        public static let conflict = Code("conflict")
        /// File-system or other I/O failed.
        public static let io = Code("io")
        /// A bug or an unexpected failure inside Parley or a library it calls.
        public static let `internal` = Code("internal")
    }

    public let code: Code
    public let reason: String
    public let fileID: String
    public let line: Int

    public init(_ code: Code, _ reason: String, fileID: String = #fileID, line: Int = #line) {
        self.code = code
        self.reason = reason
        self.fileID = fileID
        self.line = line
    }

    public var description: String { "\(code): \(reason)" }

    /// Equality ignores the source location, so tests can compare code and reason.
    public static func == (lhs: ParleyError, rhs: ParleyError) -> Bool {
        lhs.code == rhs.code && lhs.reason == rhs.reason
    }
}
