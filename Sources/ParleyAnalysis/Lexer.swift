/// Splits SQL text into tokens with 1-based line and column positions.
///
/// Accepts: words, `"quoted"` and `` `quoted` `` identifiers, `'text'` literals (`''` escapes a
/// quote), integers, decimals, punctuation and comparison operators, `-- line` and `/* block */`
/// comments. Anything else is refused with its position.
struct Lexer {
    private let scalars: [Unicode.Scalar]
    private var index = 0
    private var line = 1
    private var column = 1

    private init(_ text: String) {
        self.scalars = Array(text.unicodeScalars)
    }

    /// Tokenizes the whole text; the last token is always `.end`.
    ///
    /// - Throws: ``AnalysisError`` with code `limitExceeded` or `invalidToken`.
    static func tokenize(_ text: String, limits: AnalysisLimits) throws(AnalysisError) -> [Token] {
        guard text.utf8.count <= limits.maxSQLBytes else {
            throw AnalysisError(.limitExceeded,
                                "the query is \(text.utf8.count) bytes long; the limit is \(limits.maxSQLBytes). Shorten it",
                                at: SourceLocation(line: 1, column: 1))
        }
        var lexer = Lexer(text)
        var tokens: [Token] = []
        while true {
            let token = try lexer.next()
            tokens.append(token)
            if token.kind == .end { return tokens }
            if tokens.count > limits.maxTokens {
                throw AnalysisError(.limitExceeded,
                                    "the query has more than \(limits.maxTokens) tokens; simplify it",
                                    at: token.location)
            }
        }
    }

    private var here: SourceLocation { SourceLocation(line: line, column: column) }

    private func peek(_ offset: Int = 0) -> Unicode.Scalar? {
        let position = index + offset
        return position < scalars.count ? scalars[position] : nil
    }

    private mutating func advance() {
        if scalars[index] == "\n" {
            line += 1
            column = 1
        } else {
            column += 1
        }
        index += 1
    }

    private mutating func skipSpaceAndComments() throws(AnalysisError) {
        while let scalar = peek() {
            if scalar == " " || scalar == "\t" || scalar == "\n" || scalar == "\r" {
                advance()
            } else if scalar == "-", peek(1) == "-" {
                while let next = peek(), next != "\n" { advance() }
            } else if scalar == "/", peek(1) == "*" {
                let start = here
                advance(); advance()
                while true {
                    guard let next = peek() else {
                        throw AnalysisError(.invalidToken, "this comment is never closed; end it with */", at: start)
                    }
                    if next == "*", peek(1) == "/" { advance(); advance(); break }
                    advance()
                }
            } else {
                return
            }
        }
    }

    private mutating func next() throws(AnalysisError) -> Token {
        try skipSpaceAndComments()
        let start = here
        guard let scalar = peek() else { return Token(kind: .end, location: start) }
        if Identifier.isWordStart(scalar) {
            var text = String.UnicodeScalarView()
            while let next = peek(), Identifier.isWordPart(next) { text.append(next); advance() }
            if let next = peek(), next.properties.isAlphabetic {
                throw AnalysisError(.invalidToken,
                                    "'\(next)' cannot appear in an unquoted name; write the name in double quotes",
                                    at: here)
            }
            return Token(kind: .word(String(text)), location: start)
        }
        if scalar >= "0" && scalar <= "9" { return try number(start) }
        if scalar == "@" {
            advance()
            var text = String.UnicodeScalarView()
            while let next = peek(), Identifier.isWordPart(next) { text.append(next); advance() }
            guard let first = text.first, Identifier.isWordStart(first) else {
                throw AnalysisError(.invalidToken, "'@' starts a parameter and must be followed by its name, as in @since", at: start)
            }
            return Token(kind: .parameter(String(text)), location: start)
        }
        switch scalar {
        case "'":
            return Token(kind: .string(try quoted(by: "'", start: start, what: "text literal")), location: start)
        case "\"", "`":
            let name = try quoted(by: scalar, start: start, what: "quoted name")
            guard !name.isEmpty else {
                throw AnalysisError(.invalidToken, "a quoted name cannot be empty", at: start)
            }
            return Token(kind: .quotedIdentifier(name), location: start)
        default:
            return Token(kind: .symbol(try symbol(scalar, start)), location: start)
        }
    }

    private mutating func number(_ start: SourceLocation) throws(AnalysisError) -> Token {
        var text = ""
        var sawDot = false
        while let next = peek() {
            if next >= "0" && next <= "9" {
                text.unicodeScalars.append(next)
            } else if next == ".", !sawDot, let after = peek(1), after >= "0" && after <= "9" {
                sawDot = true
                text.unicodeScalars.append(next)
            } else {
                break
            }
            advance()
        }
        if let next = peek(), Identifier.isWordPart(next) || next == "." {
            let hint = (next == "e" || next == "E")
                ? "exponent notation is not supported; write the number in full"
                : "a number cannot be followed by '\(next)'; separate them with a space"
            throw AnalysisError(.invalidToken, hint, at: here)
        }
        return Token(kind: sawDot ? .decimal(text) : .integer(text), location: start)
    }

    private mutating func quoted(by quote: Unicode.Scalar, start: SourceLocation, what: String) throws(AnalysisError) -> String {
        advance()
        var text = String.UnicodeScalarView()
        while true {
            guard let next = peek() else {
                throw AnalysisError(.invalidToken, "this \(what) is never closed; end it with \(quote)", at: start)
            }
            advance()
            if next == quote {
                if peek() == quote { text.append(quote); advance(); continue }
                return String(text)
            }
            text.append(next)
        }
    }

    private mutating func symbol(_ scalar: Unicode.Scalar, _ start: SourceLocation) throws(AnalysisError) -> Token.Symbol {
        let two: String = String(scalar) + (peek(1).map { String($0) } ?? "")
        for candidate in [Token.Symbol.notEqual, .bangEqual, .lessEqual, .greaterEqual, .concat]
        where candidate.rawValue == two {
            advance(); advance()
            return candidate
        }
        if let single = Token.Symbol(rawValue: String(scalar)) {
            advance()
            return single
        }
        throw AnalysisError(.invalidToken,
                            "unexpected character '\(scalar)'; the query language has no use for it here",
                            at: start)
    }
}
