/// FROM clause: datasets, the restricted union form and inner joins.
extension Parser {
    mutating func parseFrom() throws(AnalysisError) -> SyntaxFrom {
        let first = try parseSource()
        var joins: [SyntaxJoin] = []
        while true {
            let start = current.location
            switch current.keyword {
            case "JOIN":
                advance()
            case "INNER":
                advance()
                try expect("JOIN", " after INNER")
            case "LEFT", "RIGHT", "FULL", "OUTER":
                throw unsupported("outer joins are not supported; use [INNER] JOIN on the privacy-unit columns")
            case "CROSS", "NATURAL":
                throw unsupported("\(current.keyword ?? "") JOIN is not supported; use [INNER] JOIN ... ON a.unit = b.unit")
            default:
                if current.isSymbol(.comma) {
                    throw unsupported("comma-separated FROM lists are not supported; use [INNER] JOIN ... ON a.unit = b.unit")
                }
                return SyntaxFrom(first: first, joins: joins)
            }
            if joins.count + 1 == limits.maxJoinedSources {
                throw AnalysisError(.limitExceeded, "a query may combine at most \(limits.maxJoinedSources) sources; split the query", at: start)
            }
            let source = try parseSource()
            if current.isKeyword("USING") {
                throw unsupported("JOIN ... USING is not supported; write ON a.unit = b.unit")
            }
            try expect("ON", " after the joined dataset (ON a.unit = b.unit)")
            let pairs = try parseJoinCondition()
            joins.append(SyntaxJoin(source: source, left: pairs[0].0, right: pairs[0].1, location: start,
                                    alternatives: pairs.dropFirst().map { (left: $0.0, right: $0.1) }))
        }
    }

    /// Most equalities one ON condition may list (one per identifier of a person).
    static let maxJoinAlternatives = 4

    /// `column = column [OR column = column ...]`, optionally in parentheses. Equalities after
    /// the first are further identifiers of a person, in priority order.
    mutating func parseJoinCondition() throws(AnalysisError) -> [(SyntaxColumn, SyntaxColumn)] {
        let parenthesised = accept(.leftParen)
        var pairs: [(SyntaxColumn, SyntaxColumn)] = []
        repeat {
            let start = current.location
            guard pairs.count < Self.maxJoinAlternatives else {
                throw AnalysisError(.limitExceeded, "a join condition may list at most \(Self.maxJoinAlternatives) identifier equalities", at: start)
            }
            let left = try parseJoinColumn()
            guard accept(.equal) else {
                throw AnalysisError(.invalidJoin, "a join condition must be an equality of the two datasets' privacy-unit columns (ON a.unit = b.unit); found \(current.display)", at: current.location)
            }
            pairs.append((left, try parseJoinColumn()))
        } while accept("OR")
        if parenthesised { try expect(.rightParen) }
        if current.isKeyword("AND") || current.isKeyword("OR") {
            throw AnalysisError(.invalidJoin, "a join condition is one equality of privacy-unit columns, or identifier equalities joined by OR; move other conditions to WHERE", at: current.location)
        }
        return pairs
    }

    mutating func parseJoinColumn() throws(AnalysisError) -> SyntaxColumn {
        switch current.kind {
        case .word, .quotedIdentifier:
            if peek(1).isSymbol(.leftParen) {
                throw AnalysisError(.invalidJoin, "a join condition compares privacy-unit columns directly; functions are not allowed", at: current.location)
            }
            return try parseColumn("a privacy-unit column")
        default:
            throw AnalysisError(.invalidJoin, "a join condition must be an equality of the two datasets' privacy-unit columns (ON a.unit = b.unit); found \(current.display)", at: current.location)
        }
    }

    /// A dataset with an optional alias, or the parenthesised union form.
    mutating func parseSource() throws(AnalysisError) -> SyntaxSource {
        if current.isSymbol(.leftParen) { return try parseUnion() }
        let name = try parseName("a dataset name")
        if current.isSymbol(.dot) {
            throw unsupported("dataset names have one part; remove the project or schema prefix", at: name.location)
        }
        if current.isSymbol(.leftParen) {
            throw unsupported("table functions are not supported; name a declared dataset", at: name.location)
        }
        return .dataset(name, alias: try parseOptionalAlias())
    }

    /// `(SELECT * FROM a UNION ALL SELECT * FROM b ...) [AS] alias`.
    mutating func parseUnion() throws(AnalysisError) -> SyntaxSource {
        let start = current.location
        let form = "the only subquery allowed is (SELECT * FROM a UNION ALL SELECT * FROM b ...) AS alias"
        advance()
        var members: [SyntaxName] = []
        repeat {
            guard current.isKeyword("SELECT") else {
                throw unsupported(current.isSymbol(.leftParen) ? "nested parentheses in FROM are not supported; \(form)" : "expected SELECT; \(form)")
            }
            advance()
            guard accept(.star) else { throw unsupported("subqueries are not supported; \(form)") }
            try expect("FROM", " in the union member")
            if current.isSymbol(.leftParen) { throw unsupported("nested subqueries are not supported; \(form)") }
            members.append(try parseName("a dataset name"))
            if current.isKeyword("UNION") {
                advance()
                guard accept("ALL") else {
                    throw unsupported("UNION without ALL is not supported (it would merge identical rows of different people); use UNION ALL")
                }
                if members.count == limits.maxUnionMembers {
                    throw AnalysisError(.limitExceeded, "a union may combine at most \(limits.maxUnionMembers) datasets", at: current.location)
                }
                continue
            }
            if current.isSymbol(.rightParen) { break }
            throw unsupported("only SELECT * FROM dataset is allowed in a union member, found \(current.display); \(form)")
        } while true
        advance()
        guard members.count >= 2 else {
            throw unsupported("a subquery in FROM must be a UNION ALL of at least two datasets; to read one dataset, name it directly", at: start)
        }
        guard let alias = try parseOptionalAlias() else {
            throw AnalysisError(.syntax, "give the union an alias, e.g. ') AS r', and qualify its columns as r.column", at: current.location)
        }
        return .union(members, alias: alias, location: start)
    }
}
