/// The error thrown while parsing TPM evidence (TPM2B_PUBLIC, TPMS_ATTEST, TPMT_SIGNATURE): a
/// stable code a program can switch on, a reason a person can act on, and where it was raised.
///
/// Parse errors mean the evidence is bad (the caller's fault), except ``Code/internal``, which
/// means a library call failed. Reasons name offsets and sizes, never key material.
public struct TPMEvidenceError: Error, CustomStringConvertible, Sendable, Equatable {
    /// Stable, extensible classification of the failure.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The code's stable text form.
        public let rawValue: String
        /// Creates a code from its stable text form.
        public init(_ rawValue: String) { self.rawValue = rawValue }
        /// The stable text form.
        public var description: String { rawValue }

        /// The bytes are truncated, have trailing data, or a field is out of its range.
        public static let malformed = Code("malformed")
        /// A size or count exceeds the cap this parser allows.
        public static let limitExceeded = Code("limit-exceeded")
        /// Well-formed, but uses an algorithm or structure this verifier does not accept.
        public static let unsupported = Code("unsupported")
        /// A library call failed unexpectedly; not the evidence's fault.
        public static let `internal` = Code("internal")
    }

    /// What kind of failure this is.
    public let code: Code
    /// A human-readable explanation.
    public let reason: String
    /// The source file that raised the error.
    public let fileID: String
    /// The source line that raised the error.
    public let line: Int

    /// Creates an error; the source location is captured automatically.
    public init(_ code: Code, _ reason: String, fileID: String = #fileID, line: Int = #line) {
        self.code = code
        self.reason = reason
        self.fileID = fileID
        self.line = line
    }

    /// `code: reason`.
    public var description: String { "\(code): \(reason)" }

    /// Equality ignores the source location, so tests can compare code and reason.
    public static func == (lhs: TPMEvidenceError, rhs: TPMEvidenceError) -> Bool {
        lhs.code == rhs.code && lhs.reason == rhs.reason
    }
}
