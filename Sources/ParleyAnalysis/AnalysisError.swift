/// A position in the SQL text of a query, 1-based.
///
/// Columns count Unicode scalars (not bytes, not grapheme clusters) from the start of the line.
/// Lines are separated by LF; a CR before the LF is part of the previous line. Callers that embed
/// the SQL in a larger file (a TOML module source) offset these numbers into that file.
public struct SourceLocation: Hashable, Sendable, CustomStringConvertible {
    /// 1-based line number within the SQL text.
    public var line: Int
    /// 1-based column (Unicode scalar index) within the line.
    public var column: Int

    /// Creates a location.
    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    /// `line L, column C`.
    public var description: String { "line \(line), column \(column)" }
}

/// Why a query was refused at seal time: a code for programs, a reason for people, and where.
///
/// Every refusal of the analysis language is one of these. The ``reason`` says what is wrong and
/// what to do instead, in English a module author can act on.
public struct AnalysisError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A stable, extensible category of refusal.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The code's stable spelling, e.g. `privacy-unit-exposed`.
        public let rawValue: String
        /// Creates a code from its stable spelling.
        public init(_ rawValue: String) { self.rawValue = rawValue }
        /// The stable spelling.
        public var description: String { rawValue }

        /// The query text is longer, or has more tokens, nesting or list items, than allowed.
        public static let limitExceeded = Code("limit-exceeded")
        /// A character or token the lexer does not accept (bad literal, stray symbol).
        public static let invalidToken = Code("invalid-token")
        /// The text does not follow the grammar of the subset.
        public static let syntax = Code("syntax")
        /// A valid SQL feature that the subset deliberately does not support.
        public static let unsupported = Code("unsupported")
        /// A dataset, alias or column that does not exist, or is ambiguous.
        public static let unknownName = Code("unknown-name")
        /// A name used twice where it must be unique (alias, output column, dataset read twice).
        public static let duplicateName = Code("duplicate-name")
        /// Operands of incompatible types, or an aggregate over the wrong type.
        public static let typeMismatch = Code("type-mismatch")
        /// A query that would output, group by, filter on or compute with a privacy-unit column.
        public static let privacyUnitExposed = Code("privacy-unit-exposed")
        /// A join that is not an equality of privacy-unit columns.
        public static let invalidJoin = Code("invalid-join")
        /// SUM or AVG of a column without declared clamping bounds.
        public static let missingBounds = Code("missing-bounds")
        /// A union whose member datasets do not have identical schemas.
        public static let unionSchemaMismatch = Code("union-schema-mismatch")
        /// A SELECT list that is not aggregate-shaped (no aggregate, column not grouped, ...).
        public static let invalidAggregation = Code("invalid-aggregation")
    }

    /// The category of refusal.
    public var code: Code
    /// A human explanation: what is wrong and what to do.
    public var reason: String
    /// Where in the SQL text the problem starts.
    public var location: SourceLocation

    /// Creates an error.
    public init(_ code: Code, _ reason: String, at location: SourceLocation) {
        self.code = code
        self.reason = reason
        self.location = location
    }

    /// `line L, column C: reason`.
    public var description: String { "\(location): \(reason)" }
}

/// Why a dataset declaration is unusable (duplicate columns, missing privacy unit, bad bounds).
///
/// Dataset declarations come from the module source, whose parser reports its own positions;
/// this error names the dataset and column instead.
public struct SchemaError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A human explanation naming the dataset (and column) and what to change.
    public var reason: String

    /// Creates an error.
    public init(_ reason: String) { self.reason = reason }

    /// The reason.
    public var description: String { reason }
}
