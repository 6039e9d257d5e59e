/// The one error type of ParleyLog: a code a caller can switch on, a human reason, and where it
/// was raised.
///
/// "Bad input" (a malformed note, a corrupt entry file) and "the machine failed" (an `fsync`
/// error) have different codes, so a caller can tell the sender's fault from its own.
public struct LogError: Error, Equatable, CustomStringConvertible, Sendable {
    /// What went wrong, coarsely; extensible without breaking callers that use `default`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String

        /// A hash, proof or key had the wrong length or shape.
        public static let malformedHash = Code(name: "malformedHash")
        /// A signed note or checkpoint body did not follow its grammar.
        public static let malformedNote = Code(name: "malformedNote")
        /// A verifier or signer key in text form did not parse.
        public static let malformedKey = Code(name: "malformedKey")
        /// An input was larger than the cap for its kind.
        public static let oversize = Code(name: "oversize")
        /// A tree size, leaf index or proof range is impossible for this tree.
        public static let outOfRange = Code(name: "outOfRange")
        /// The entry file is damaged somewhere other than a torn tail (not a crash artefact).
        public static let corruptStorage = Code(name: "corruptStorage")
        /// A system call on the log's files failed (open, write, read, lock).
        public static let ioFailure = Code(name: "ioFailure")
        /// An earlier write or fsync failed; the writer refuses all further appends.
        public static let writerStopped = Code(name: "writerStopped")
        /// Signing failed inside the crypto library.
        public static let signingFailure = Code(name: "signingFailure")

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

    /// Errors compare by code and reason; where they were raised does not matter to callers.
    public static func == (lhs: LogError, rhs: LogError) -> Bool {
        lhs.code == rhs.code && lhs.reason == rhs.reason
    }
}
