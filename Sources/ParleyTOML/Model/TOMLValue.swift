/// A parsed TOML value together with where it was written.
///
/// Values are read-only and compare equal only when both the value and every position match.
public struct TOMLValue: Sendable, Equatable {
    /// What the value is.
    public enum Kind: Sendable, Equatable {
        /// A string, after escapes are decoded. Multi-line strings use `\n` line endings.
        case string(String)
        /// A 64-bit signed integer.
        case integer(Int64)
        /// A float, with its text exactly as written in the file (sign, digits, underscores and
        /// exponent included, e.g. `"1.0"`, `"1e-9"`, `"-inf"`), so that a caller can read it
        /// exactly as a decimal or rational instead of through `Double`.
        case float(Double, text: String)
        /// `true` or `false`.
        case bool(Bool)
        /// An array (possibly of mixed types) or an array of tables (`[[name]]`).
        case array([TOMLValue])
        /// A table: a `[header]` section, a dotted-key table or an inline table.
        case table(TOMLTable)
    }

    /// What the value is.
    public let kind: Kind
    /// Where the value starts: its opening quote, bracket or brace, its first digit or sign, or
    /// the `[` of the header that defined the table.
    public let position: TOMLPosition
    /// For strings only: how decoded content maps back to the file. `nil` for other kinds.
    public let stringSource: TOMLStringSourceMap?

    /// Creates a value. Parsers build these; callers rarely need to.
    public init(kind: Kind, position: TOMLPosition, stringSource: TOMLStringSourceMap? = nil) {
        self.kind = kind
        self.position = position
        self.stringSource = stringSource
    }

    /// For strings, the position of the first character of the content: just after the opening
    /// quote, or for a multi-line string whose opening `"""` or `'''` ends its line, column 1 of
    /// the next line. To map a later line and column of the content (say a SQL error at line 3,
    /// column 7 of a query) back into the file, use ``TOMLStringSourceMap/sourcePosition(line:column:)``
    /// on ``stringSource``, which also accounts for escapes and line-ending backslashes.
    public var stringContentStart: TOMLPosition? { stringSource?.contentStart }

    /// The string, if this is a string.
    public var stringValue: String? {
        if case .string(let value) = kind { value } else { nil }
    }

    /// The integer, if this is an integer.
    public var integerValue: Int64? {
        if case .integer(let value) = kind { value } else { nil }
    }

    /// The float and its text as written, if this is a float.
    public var floatValue: TOMLFloat? {
        if case .float(let value, let text) = kind { TOMLFloat(value: value, text: text) } else { nil }
    }

    /// The boolean, if this is a boolean.
    public var boolValue: Bool? {
        if case .bool(let value) = kind { value } else { nil }
    }

    /// The elements, if this is an array or an array of tables.
    public var arrayValue: [TOMLValue]? {
        if case .array(let value) = kind { value } else { nil }
    }

    /// The table, if this is a table.
    public var tableValue: TOMLTable? {
        if case .table(let value) = kind { value } else { nil }
    }

    /// The type with an article, for messages: "a string", "an integer", "a float",
    /// "a boolean", "an array", "a table".
    public var typeDescription: String {
        switch kind {
        case .string: "a string"
        case .integer: "an integer"
        case .float: "a float"
        case .bool: "a boolean"
        case .array: "an array"
        case .table: "a table"
        }
    }
}

/// A float as parsed and as written.
public struct TOMLFloat: Sendable, Equatable {
    /// The nearest `Double`.
    public let value: Double
    /// The literal exactly as written in the file (e.g. `"1.0"`, `"1e-9"`, `"6.02e23"`,
    /// `"1_000.5"`); for an integer accepted as a float, its decimal digits.
    public let text: String

    /// Creates a float from its value and text.
    public init(value: Double, text: String) {
        self.value = value
        self.text = text
    }
}
