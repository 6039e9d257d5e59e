/// One lexical token of the SQL subset.
struct Token: Hashable, Sendable {
    enum Kind: Hashable, Sendable {
        /// An unquoted word: a keyword or an identifier, as written.
        case word(String)
        /// A `"double"` or `` `back` `` quoted identifier, unescaped; never a keyword.
        case quotedIdentifier(String)
        /// A `'single quoted'` text literal, unescaped.
        case string(String)
        /// Digits without a point.
        case integer(String)
        /// Digits with a point.
        case decimal(String)
        /// `@name`: a query parameter the receiver binds at run time (the name without `@`).
        case parameter(String)
        /// Punctuation or an operator.
        case symbol(Symbol)
        /// The end of the text.
        case end
    }

    enum Symbol: String, Hashable, Sendable {
        case comma = ",", dot = ".", leftParen = "(", rightParen = ")", star = "*"
        case equal = "=", notEqual = "<>", bangEqual = "!=", less = "<", lessEqual = "<="
        case greater = ">", greaterEqual = ">=", semicolon = ";", minus = "-", plus = "+"
        case slash = "/", percent = "%", concat = "||"
    }

    var kind: Kind
    var location: SourceLocation

    /// The keyword this token spells (upper-cased), if it is an unquoted word.
    var keyword: String? {
        if case .word(let text) = kind { return text.uppercased() }
        return nil
    }

    /// Whether the token is the unquoted word `keyword` (case-insensitive).
    func isKeyword(_ keyword: String) -> Bool { self.keyword == keyword }

    /// Whether the token is this symbol.
    func isSymbol(_ symbol: Symbol) -> Bool { kind == .symbol(symbol) }

    /// How the token reads in an error message.
    var display: String {
        switch kind {
        case .word(let text): "'\(text)'"
        case .quotedIdentifier(let text): "\"\(text)\""
        case .string(let text): "'\(text)' (text)"
        case .integer(let text), .decimal(let text): "'\(text)'"
        case .parameter(let name): "'@\(name)'"
        case .symbol(let symbol): "'\(symbol.rawValue)'"
        case .end: "the end of the query"
        }
    }
}

/// Identifier rules shared by the lexer and the dataset declarations.
enum Identifier {
    /// Words that are never identifiers unless quoted. Function names (COUNT, SUM, AVG) and DATE
    /// are not reserved: `date` and `count` are common column names.
    static let reserved: Set<String> = [
        "SELECT", "FROM", "WHERE", "GROUP", "BY", "JOIN", "INNER", "LEFT", "RIGHT", "FULL", "OUTER",
        "CROSS", "NATURAL", "USING", "ON", "AND", "OR", "NOT", "IN", "BETWEEN", "AS", "UNION", "ALL",
        "DISTINCT", "ORDER", "LIMIT", "OFFSET", "HAVING", "IS", "NULL", "TRUE", "FALSE", "LIKE",
        "CASE", "WHEN", "THEN", "ELSE", "END", "WITH", "WINDOW", "QUALIFY", "EXCEPT", "INTERSECT",
        "OVER", "EXISTS", "INTO", "VALUES", "ASC", "DESC", "LATERAL", "TABLESAMPLE",
    ]

    /// Whether `text` is a plain identifier: ASCII letter or `_`, then letters, digits, `_`,
    /// and not a reserved word.
    static func isPlain(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, isWordStart(first) else { return false }
        guard text.unicodeScalars.allSatisfy(isWordPart) else { return false }
        return !reserved.contains(text.uppercased())
    }

    static func isWordStart(_ scalar: Unicode.Scalar) -> Bool {
        (scalar >= "a" && scalar <= "z") || (scalar >= "A" && scalar <= "Z") || scalar == "_"
    }

    static func isWordPart(_ scalar: Unicode.Scalar) -> Bool {
        isWordStart(scalar) || (scalar >= "0" && scalar <= "9")
    }
}
