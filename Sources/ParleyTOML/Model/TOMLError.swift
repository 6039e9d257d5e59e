import Foundation

/// Why a TOML document, or a value a caller read from it, was refused.
///
/// Every error points at a line and column of the file, so `description` reads
/// `policy.toml:3:10: "module" must be a string of 96 hex digits`. All codes except
/// ``Code/unreadableFile`` describe a defect in the file (the author's to fix), never an
/// internal failure.
public struct TOMLError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A machine-readable kind of failure. Extensible: callers may define their own codes.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String

        public init(rawValue: String) {
            self.rawValue = rawValue
        }

        public var description: String { rawValue }

        /// The text is not TOML (a missing `=`, an unexpected character, ...).
        public static let syntax = Code(rawValue: "syntax")
        /// The same key is set twice in one table.
        public static let duplicateKey = Code(rawValue: "duplicate-key")
        /// A table is defined twice, or a key is used both as a table and as a value.
        public static let tableConflict = Code(rawValue: "table-conflict")
        /// A string, array or inline table is not closed.
        public static let unterminated = Code(rawValue: "unterminated")
        /// A backslash escape that TOML 1.0 does not define, or a bad `\u` value.
        public static let invalidEscape = Code(rawValue: "invalid-escape")
        /// A number TOML does not allow (leading zeros, misplaced underscores, out of range).
        public static let invalidNumber = Code(rawValue: "invalid-number")
        /// A control character where TOML forbids it.
        public static let controlCharacter = Code(rawValue: "control-character")
        /// The bytes are not valid UTF-8.
        public static let invalidUTF8 = Code(rawValue: "invalid-utf8")
        /// A size, length or depth limit of ``TOMLLimits`` was exceeded.
        public static let limitExceeded = Code(rawValue: "limit-exceeded")
        /// Valid TOML that this parser deliberately does not support (dates and times).
        public static let unsupported = Code(rawValue: "unsupported")
        /// A key the caller requires is absent.
        public static let missingKey = Code(rawValue: "missing-key")
        /// A value has the wrong TOML type for what the caller expects.
        public static let wrongType = Code(rawValue: "wrong-type")
        /// A value has the right type but the caller's check refused it.
        public static let invalidValue = Code(rawValue: "invalid-value")
        /// A key the caller does not know.
        public static let unknownKey = Code(rawValue: "unknown-key")
        /// The file could not be read at all (not a defect of its content); line and column are 0.
        public static let unreadableFile = Code(rawValue: "unreadable-file")
    }

    /// The kind of failure.
    public let code: Code
    /// The name of the file as given to the parser, used as the prefix of `description`.
    public let fileName: String
    /// The 1-based line of the defect (0 only for ``Code/unreadableFile``).
    public let line: Int
    /// The 1-based column of the defect, in Unicode scalars (0 only for ``Code/unreadableFile``).
    public let column: Int
    /// What is wrong and, where it can say, what to do about it.
    public let message: String

    /// Creates an error at a position of a file.
    public init(code: Code, fileName: String, position: TOMLPosition, message: String) {
        self.code = code
        self.fileName = fileName
        self.line = position.line
        self.column = position.column
        self.message = message
    }

    /// The line and column as a position.
    public var position: TOMLPosition { TOMLPosition(line: line, column: column) }

    /// `file:line:column: message`, or `file: message` when there is no position.
    public var description: String {
        line == 0 ? "\(fileName): \(message)" : "\(fileName):\(line):\(column): \(message)"
    }
}

extension TOMLError: LocalizedError {
    public var errorDescription: String? { description }
}
