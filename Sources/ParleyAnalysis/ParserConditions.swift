/// WHERE conditions: OR of ANDs of (NOT) predicates; predicates are comparisons, IN and BETWEEN
/// over columns and literals. Nesting is capped by ``AnalysisLimits/maxExpressionDepth``.
extension Parser {
    mutating func parseCondition() throws(AnalysisError) -> SyntaxExpression {
        try enterNesting()
        defer { depth -= 1 }
        var terms = [try parseConjunction()]
        while accept("OR") { terms.append(try parseConjunction()) }
        return terms.count == 1 ? terms[0] : .or(terms)
    }

    mutating func enterNesting() throws(AnalysisError) {
        depth += 1
        if depth > limits.maxExpressionDepth {
            throw AnalysisError(.limitExceeded, "conditions are nested more than \(limits.maxExpressionDepth) levels deep; simplify the WHERE clause", at: current.location)
        }
    }

    mutating func parseConjunction() throws(AnalysisError) -> SyntaxExpression {
        var terms = [try parseNegation()]
        while accept("AND") { terms.append(try parseNegation()) }
        return terms.count == 1 ? terms[0] : .and(terms)
    }

    mutating func parseNegation() throws(AnalysisError) -> SyntaxExpression {
        let start = current.location
        guard accept("NOT") else { return try parsePredicate() }
        try enterNesting()
        defer { depth -= 1 }
        return .not(try parseNegation(), start)
    }

    mutating func parsePredicate() throws(AnalysisError) -> SyntaxExpression {
        if current.isSymbol(.leftParen) {
            if peek(1).isKeyword("SELECT") {
                throw unsupported("subqueries are not supported in WHERE; filter with comparisons, IN (literals) and BETWEEN")
            }
            advance()
            let inner = try parseCondition()
            try expect(.rightParen, " to close the parenthesis")
            if case .operand(let operand) = inner { return try parsePredicateTail(operand) }
            if isPredicateOperator {
                throw AnalysisError(.typeMismatch, "a condition cannot be compared with a value; compare columns and literals", at: current.location)
            }
            return inner
        }
        return try parsePredicateTail(try parseOperand())
    }

    var isPredicateOperator: Bool {
        if case .symbol(let symbol) = current.kind {
            return [.equal, .notEqual, .bangEqual, .less, .lessEqual, .greater, .greaterEqual].contains(symbol)
        }
        return current.isKeyword("IN") || current.isKeyword("BETWEEN")
            || (current.isKeyword("NOT") && (peek(1).isKeyword("IN") || peek(1).isKeyword("BETWEEN")))
    }

    mutating func parsePredicateTail(_ left: SyntaxOperand) throws(AnalysisError) -> SyntaxExpression {
        try rejectArithmetic()
        let start = left.location
        if case .symbol(let symbol) = current.kind, let op = Self.comparison(symbol) {
            advance()
            let right = try parseOperand()
            try rejectArithmetic()
            return .comparison(op, left, right, start)
        }
        var negated = false
        if current.isKeyword("NOT"), peek(1).isKeyword("IN") || peek(1).isKeyword("BETWEEN") || peek(1).isKeyword("LIKE") {
            negated = true
            advance()
        }
        switch current.keyword {
        case "IN":
            advance()
            return .inList(left, try parseInList(), negated: negated, start)
        case "BETWEEN":
            advance()
            let low = try parseOperand()
            try rejectArithmetic()
            try expect("AND", " between the BETWEEN bounds")
            let high = try parseOperand()
            try rejectArithmetic()
            return .between(left, low, high, negated: negated, start)
        case "IS":
            throw unsupported("IS [NOT] NULL is not supported: uploaded datasets have no missing values; remove the test")
        case "LIKE":
            throw unsupported("LIKE is not supported; use = or IN (...) with the exact values")
        default:
            return .operand(left)
        }
    }

    static func comparison(_ symbol: Token.Symbol) -> SyntaxComparison? {
        switch symbol {
        case .equal: .equal
        case .notEqual, .bangEqual: .notEqual
        case .less: .less
        case .lessEqual: .lessEqual
        case .greater: .greater
        case .greaterEqual: .greaterEqual
        default: nil
        }
    }

    /// `( value, value, ... )`, at most ``AnalysisLimits/maxInListLength`` values.
    mutating func parseInList() throws(AnalysisError) -> [SyntaxOperand] {
        try expect(.leftParen, " after IN")
        if current.isKeyword("SELECT") {
            throw unsupported("IN (SELECT ...) is not supported; list the literal values")
        }
        var values: [SyntaxOperand] = []
        repeat {
            if values.count == limits.maxInListLength {
                throw AnalysisError(.limitExceeded, "the IN list has more than \(limits.maxInListLength) values; shorten it or use BETWEEN", at: current.location)
            }
            values.append(try parseOperand())
            try rejectArithmetic()
        } while accept(.comma)
        try expect(.rightParen, " to close the IN list")
        return values
    }

    /// A column, a literal, `-number`, `DATE 'YYYY-MM-DD'` or a `@parameter`.
    mutating func parseOperand() throws(AnalysisError) -> SyntaxOperand {
        let start = current.location
        switch current.kind {
        case .parameter(let name):
            advance()
            return .parameter(name, start)
        case .string(let text):
            advance()
            return .literal(.text(text), start)
        case .integer(let text):
            advance()
            return .literal(.integer(text), start)
        case .decimal(let text):
            advance()
            return .literal(.decimal(text), start)
        case .symbol(.minus):
            advance()
            switch current.kind {
            case .integer(let text):
                advance()
                return .literal(.integer("-" + text), start)
            case .decimal(let text):
                advance()
                return .literal(.decimal("-" + text), start)
            default:
                throw unsupported("'-' may only precede a number; arithmetic is not supported", at: start)
            }
        case .symbol(.leftParen):
            throw unsupported("parentheses are not allowed around a value here; remove them")
        case .word(let text):
            let keyword = text.uppercased()
            if keyword == "DATE", case .string(let date) = peek(1).kind {
                advance(); advance()
                return .literal(.date(date), start)
            }
            if peek(1).isSymbol(.leftParen) {
                if ["COUNT", "SUM", "AVG", "MIN", "MAX"].contains(keyword) {
                    throw unsupported("aggregates cannot be used in WHERE and HAVING is not supported; the egress gate filters small groups")
                }
                throw unsupported("function '\(text)' is not supported; compare columns with literals directly")
            }
            switch keyword {
            case "NULL": throw unsupported("NULL is not supported: uploaded datasets have no missing values")
            case "TRUE", "FALSE": throw unsupported("boolean literals are not supported; write the condition itself")
            case "CASE": throw unsupported("CASE is not supported; use AND, OR and NOT")
            case "EXISTS": throw unsupported("EXISTS (subqueries) is not supported")
            default: break
            }
            return .column(try parseColumn("a column or a literal"))
        case .quotedIdentifier:
            return .column(try parseColumn("a column or a literal"))
        default:
            throw expected("a column or a literal")
        }
    }
}
