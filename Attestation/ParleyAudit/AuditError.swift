/// The one error type of ParleyAudit: a code a caller can switch on, a human reason, and where
/// it was raised.
///
/// What a replay *finds* is never thrown: it is a failure or a warning in the report. Errors are
/// for the writer (the log cannot be written) and for bundles that cannot be read at all.
public struct AuditError: Error, Equatable, CustomStringConvertible, Sendable {
    /// What went wrong, coarsely; extensible without breaking callers that use `default`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String

        /// The log's files, the key file or a bundle file could not be read or written.
        public static let storage = Code(name: "storage")
        /// The log key file is missing, unreadable, too widely readable, or for another origin.
        public static let badKey = Code(name: "badKey")
        /// A record to log is invalid (a job id or field the format does not allow).
        public static let invalidRecord = Code(name: "invalidRecord")
        /// A bundle is missing a required file or its MANIFEST does not parse.
        public static let malformedBundle = Code(name: "malformedBundle")
        /// A read-side request is out of range (an index past the end, a bad proof range).
        public static let outOfRange = Code(name: "outOfRange")

        /// The code's name.
        public var description: String { name }
    }

    /// The coarse kind of failure.
    public let code: Code
    /// An English sentence a person can act on.
    public let reason: String
    /// Source file that raised the error.
    public let fileID: String
    /// Source line that raised the error.
    public let line: Int

    /// Creates an error; `fileID` and `line` default to the call site.
    public init(_ code: Code, _ reason: String, fileID: String = #fileID, line: Int = #line) {
        self.code = code
        self.reason = reason
        self.fileID = fileID
        self.line = line
    }

    /// The code and the reason, for logs and messages.
    public var description: String { "\(code): \(reason)" }

    /// Equality ignores the source location.
    public static func == (lhs: AuditError, rhs: AuditError) -> Bool {
        lhs.code == rhs.code && lhs.reason == rhs.reason
    }
}
