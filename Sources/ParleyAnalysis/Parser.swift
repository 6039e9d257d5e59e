/// Recursive-descent parser for the SQL subset: tokens in, ``SyntaxQuery`` out.
///
/// Refuses, with a position and a suggestion, every construct outside the subset that it can
/// recognise (ORDER BY, LIMIT, HAVING, outer joins, subqueries other than the union form,
/// functions, arithmetic, ...). Expression nesting is capped by
/// ``AnalysisLimits/maxExpressionDepth`` so hostile input cannot exhaust the stack.
struct Parser {
    var tokens: [Token]
    var position = 0
    let limits: AnalysisLimits
    var depth = 0

    /// Parses one query.
    ///
    /// - Throws: ``AnalysisError`` for text outside the subset's grammar.
    static func parse(_ sql: String, limits: AnalysisLimits) throws(AnalysisError) -> SyntaxQuery {
        var parser = Parser(tokens: try Lexer.tokenize(sql, limits: limits), limits: limits)
        return try parser.parseQuery()
    }

    // MARK: token helpers

    var current: Token { tokens[position] }

    func peek(_ offset: Int) -> Token {
        tokens[min(position + offset, tokens.count - 1)]
    }

    mutating func advance() {
        if position < tokens.count - 1 { position += 1 }
    }

    /// Consumes the keyword if it is next.
    mutating func accept(_ keyword: String) -> Bool {
        guard current.isKeyword(keyword) else { return false }
        advance()
        return true
    }

    /// Consumes the symbol if it is next.
    mutating func accept(_ symbol: Token.Symbol) -> Bool {
        guard current.isSymbol(symbol) else { return false }
        advance()
        return true
    }

    mutating func expect(_ keyword: String, _ hint: String = "") throws(AnalysisError) {
        guard accept(keyword) else { throw expected(keyword + hint) }
    }

    mutating func expect(_ symbol: Token.Symbol, _ hint: String = "") throws(AnalysisError) {
        guard accept(symbol) else { throw expected("'\(symbol.rawValue)'" + hint) }
    }

    func expected(_ what: String) -> AnalysisError {
        AnalysisError(.syntax, "expected \(what) but found \(current.display)", at: current.location)
    }

    func unsupported(_ reason: String, at location: SourceLocation? = nil) -> AnalysisError {
        AnalysisError(.unsupported, reason, at: location ?? current.location)
    }

    /// Whether the next token can start an unquoted alias (a non-reserved word).
    var atBareName: Bool {
        if case .word(let text) = current.kind { return !Identifier.reserved.contains(text.uppercased()) }
        return false
    }

    /// A dataset, alias or column name: a non-reserved word or a quoted identifier.
    mutating func parseName(_ what: String) throws(AnalysisError) -> SyntaxName {
        switch current.kind {
        case .word(let text) where !Identifier.reserved.contains(text.uppercased()):
            defer { advance() }
            return SyntaxName(text: text, location: current.location)
        case .quotedIdentifier(let text):
            defer { advance() }
            return SyntaxName(text: text, location: current.location)
        case .word(let text):
            throw AnalysisError(.syntax,
                                "expected \(what) but found the keyword '\(text)'; if it is a name, write it in double quotes",
                                at: current.location)
        default:
            throw expected(what)
        }
    }

    /// `[AS] name`, or nothing.
    mutating func parseOptionalAlias() throws(AnalysisError) -> SyntaxName? {
        if accept("AS") { return try parseName("a name after AS") }
        if atBareName { return try parseName("an alias") }
        return nil
    }

    // MARK: query

    mutating func parseQuery() throws(AnalysisError) -> SyntaxQuery {
        if current.isKeyword("WITH") {
            throw unsupported("WITH (common table expressions) is not supported; write a single SELECT over the declared datasets")
        }
        try expect("SELECT", " at the start of the query")
        if current.isKeyword("DISTINCT") || current.isKeyword("ALL") {
            throw unsupported("SELECT \(current.keyword ?? "") is not supported; the result already has one row per group, remove it")
        }
        var select: [SyntaxSelectItem] = []
        repeat {
            if select.count == limits.maxSelectItems {
                throw AnalysisError(.limitExceeded, "the SELECT list has more than \(limits.maxSelectItems) items; split the query", at: current.location)
            }
            select.append(try parseSelectItem())
        } while accept(.comma)
        if current.isKeyword("INTO") { throw unsupported("SELECT INTO is not supported; queries only return aggregates") }
        try expect("FROM", " after the SELECT list")
        let from = try parseFrom()
        var filter: SyntaxExpression?
        if accept("WHERE") { filter = try parseCondition() }
        var groupBy: [SyntaxColumn] = []
        if accept("GROUP") {
            try expect("BY", " after GROUP")
            repeat {
                if groupBy.count == limits.maxSelectItems {
                    throw AnalysisError(.limitExceeded, "GROUP BY has more than \(limits.maxSelectItems) columns; split the query", at: current.location)
                }
                if case .integer(let text) = current.kind {
                    throw unsupported("GROUP BY \(text) (by position) is not supported; name the column instead")
                }
                groupBy.append(try parseColumn("a column to group by"))
            } while accept(.comma)
        }
        try rejectTrailingClause()
        _ = accept(.semicolon)
        guard current.kind == .end else {
            throw AnalysisError(.syntax, "unexpected \(current.display) after the end of the query; remove it or check the clause order (SELECT, FROM, WHERE, GROUP BY)", at: current.location)
        }
        return SyntaxQuery(select: select, from: from, filter: filter, groupBy: groupBy)
    }

    /// Refuses clauses the subset recognises but never allows after WHERE / GROUP BY.
    func rejectTrailingClause() throws(AnalysisError) {
        switch current.keyword {
        case "HAVING":
            throw unsupported("HAVING is not supported; the egress gate decides which groups are released (min_group_size), remove HAVING")
        case "ORDER":
            throw unsupported("ORDER BY is not supported; released groups come in a fixed order, remove ORDER BY and sort the result yourself")
        case "LIMIT", "OFFSET":
            throw unsupported("\(current.keyword ?? "") is not supported; every released group is returned, remove it")
        case "UNION", "EXCEPT", "INTERSECT":
            throw unsupported("set operations are only allowed inside FROM, as (SELECT * FROM a UNION ALL SELECT * FROM b) AS alias")
        case "QUALIFY", "WINDOW":
            throw unsupported("window functions are not supported; use GROUP BY with COUNT, SUM or AVG")
        case "WHERE":
            throw unsupported("WHERE must come before GROUP BY, and only once; combine conditions with AND")
        default:
            return
        }
    }

    // MARK: SELECT list

    mutating func parseSelectItem() throws(AnalysisError) -> SyntaxSelectItem {
        let start = current.location
        if current.isSymbol(.star) {
            throw AnalysisError(.unsupported, "SELECT * would return individual rows; select group-by columns and aggregates (COUNT, SUM, AVG) instead", at: start)
        }
        let value: SyntaxSelectItem.Value
        if case .word = current.kind, peek(1).isSymbol(.leftParen) {
            value = .aggregate(try parseAggregate())
        } else {
            switch current.kind {
            case .string, .integer, .decimal:
                throw unsupported("constants cannot be selected; select group-by columns and aggregates")
            case .symbol(.leftParen):
                throw unsupported("subqueries and parenthesised expressions are not supported in the SELECT list; select columns and aggregates")
            default:
                value = .column(try parseColumn("a column or an aggregate"))
            }
        }
        try rejectArithmetic()
        let alias = try parseOptionalAlias()
        return SyntaxSelectItem(value: value, alias: alias, location: start)
    }

    /// Refuses `+ - * / % ||` after a value.
    func rejectArithmetic() throws(AnalysisError) {
        if case .symbol(let symbol) = current.kind,
           [.plus, .minus, .star, .slash, .percent, .concat].contains(symbol) {
            throw unsupported("arithmetic ('\(symbol.rawValue)') is not supported; use plain columns, literals and the aggregates COUNT, SUM, AVG")
        }
    }

    /// Most bin edges one `HISTOGRAM` may declare (so at most 100 bins).
    static let maxHistogramEdges = 101

    mutating func parseAggregate() throws(AnalysisError) -> SyntaxAggregate {
        let start = current.location
        let name = current.keyword ?? ""
        let kind: SyntaxAggregate.Kind
        switch name {
        case "COUNT": kind = .countRows
        case "SUM": kind = .sum
        case "AVG": kind = .avg
        case "MEDIAN": kind = .median
        case "PERCENTILE_CONT": kind = .percentile
        case "VAR_POP": kind = .variance
        case "STDDEV_POP": kind = .standardDeviation
        case "HISTOGRAM": kind = .histogram
        case "STDDEV", "VARIANCE", "VAR_SAMP", "STDDEV_SAMP":
            throw unsupported("\(name) is not supported; use VAR_POP(column) or STDDEV_POP(column) (the population variance and standard deviation over privacy units)")
        case "PERCENTILE_DISC", "APPROX_QUANTILES", "QUANTILE":
            throw unsupported("\(name) is not supported; use PERCENTILE_CONT(column, p) with a constant p between 0 and 1, or MEDIAN(column)")
        case "MIN", "MAX":
            throw unsupported("\(name) is not supported: the extreme value is one person's; use PERCENTILE_CONT(column, 0.05) or PERCENTILE_CONT(column, 0.95) for a robust low or high value, or COUNT(*), SUM, AVG")
        case "APPROX_COUNT_DISTINCT", "ARRAY_AGG", "STRING_AGG", "ANY_VALUE":
            throw unsupported("\(name) is not supported; the aggregates are COUNT(*), COUNT(DISTINCT unit), SUM, AVG, MEDIAN, PERCENTILE_CONT, VAR_POP, STDDEV_POP and HISTOGRAM")
        default:
            throw unsupported("function \(current.display) is not supported; the functions are COUNT, SUM, AVG, MEDIAN, PERCENTILE_CONT, VAR_POP, STDDEV_POP and HISTOGRAM")
        }
        advance()
        try expect(.leftParen)
        var argument: SyntaxColumn?
        var finalKind = kind
        var constants: [(text: String, location: SourceLocation)] = []
        if kind == .countRows {
            if accept(.star) {
                argument = nil
            } else if accept("DISTINCT") {
                finalKind = .countDistinct
                argument = try parseAggregateArgument(name: "COUNT(DISTINCT ...)")
            } else {
                throw unsupported("COUNT(column) is not supported; use COUNT(*) to count rows or COUNT(DISTINCT <privacy unit>) to count people")
            }
        } else {
            if current.isKeyword("DISTINCT") {
                throw unsupported("\(name)(DISTINCT ...) is not supported; use \(name)(column)")
            }
            argument = try parseAggregateArgument(name: "\(name)(...)")
            switch kind {
            case .percentile:
                try expect(.comma, " and a constant fraction p between 0 and 1: PERCENTILE_CONT(column, 0.9)")
                constants.append(try parseNumericConstant(for: "PERCENTILE_CONT's fraction p (a number between 0 and 1)"))
            case .histogram:
                guard current.isSymbol(.comma) else {
                    throw unsupported("HISTOGRAM needs its bin edges: HISTOGRAM(column, e0, e1, ..., ek) with constant, increasing edges")
                }
                while accept(.comma) {
                    if constants.count == Self.maxHistogramEdges {
                        throw AnalysisError(.limitExceeded, "HISTOGRAM has more than \(Self.maxHistogramEdges) bin edges; use at most \(Self.maxHistogramEdges - 1) bins", at: current.location)
                    }
                    constants.append(try parseNumericConstant(for: "a bin edge (a number)"))
                }
            default:
                if current.isSymbol(.comma) {
                    throw unsupported("\(name) takes one column; PERCENTILE_CONT(column, p) takes a fraction")
                }
            }
        }
        try expect(.rightParen, " to close \(name)(")
        if current.isKeyword("WITHIN") {
            throw unsupported("WITHIN GROUP (ORDER BY ...) is not supported; write PERCENTILE_CONT(column, p)")
        }
        if current.isKeyword("OVER") { throw unsupported("window functions (OVER) are not supported; use GROUP BY") }
        return SyntaxAggregate(kind: finalKind, argument: argument, location: start, constants: constants)
    }

    /// A numeric literal, optionally negated: `0.5`, `10`, `-2.25`.
    mutating func parseNumericConstant(for what: String) throws(AnalysisError) -> (text: String, location: SourceLocation) {
        let location = current.location
        var sign = ""
        if accept(.minus) { sign = "-" }
        switch current.kind {
        case .integer(let text), .decimal(let text):
            advance()
            return (sign + text, location)
        default:
            throw unsupported("expected \(what) but found \(current.display); it must be a constant written in the query, not a column or an expression", at: location)
        }
    }

    mutating func parseAggregateArgument(name: String) throws(AnalysisError) -> SyntaxColumn {
        if current.isSymbol(.star) {
            throw unsupported("\(name) takes one column, not *")
        }
        if case .word = current.kind, peek(1).isSymbol(.leftParen) {
            throw unsupported("\(name) takes a single column; nested functions are not supported")
        }
        switch current.kind {
        case .word, .quotedIdentifier: break
        default: throw unsupported("\(name) takes a single column, not \(current.display)")
        }
        let column = try parseColumn("a column")
        if !current.isSymbol(.rightParen) {
            try rejectArithmetic()
        }
        return column
    }

    /// `name` or `qualifier.name`.
    mutating func parseColumn(_ what: String) throws(AnalysisError) -> SyntaxColumn {
        let first = try parseName(what)
        guard accept(.dot) else { return SyntaxColumn(qualifier: nil, name: first) }
        if current.isSymbol(.star) {
            throw AnalysisError(.unsupported, "\(first.text).* would return individual rows; select group-by columns and aggregates instead", at: first.location)
        }
        let second = try parseName("a column name after '\(first.text).'")
        if current.isSymbol(.dot) {
            throw unsupported("names have at most two parts (alias.column); remove the project or schema prefix", at: first.location)
        }
        return SyntaxColumn(qualifier: first, name: second)
    }
}
