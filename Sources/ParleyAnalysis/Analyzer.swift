/// Checks a ``SyntaxQuery`` against a ``DatasetCatalog`` and builds the ``QueryPlan``:
/// resolves names, types every expression and applies the static privacy rules.
///
/// Identifiers are case-sensitive: `Amount` and `amount` are different columns. (Keywords are
/// case-insensitive.) When a name fails only by case, the error suggests the right spelling.
struct Analyzer {
    let catalog: DatasetCatalog
    let limits: AnalysisLimits
    /// The query's declared parameters and their types.
    var parameters: [String: ColumnType] = [:]
    var sources: [PlanSource] = []
    var sourceLocations: [SourceLocation] = []

    init(catalog: DatasetCatalog, limits: AnalysisLimits) {
        self.catalog = catalog
        self.limits = limits
    }

    mutating func analyze(_ query: SyntaxQuery) throws(AnalysisError) -> QueryPlan {
        try addSource(query.from.first)
        var joins: [JoinKey] = []
        for join in query.from.joins {
            try addSource(join.source)
            joins.append(try joinKey(join))
        }
        let filter = try query.filter.map { (expression) throws(AnalysisError) in try condition(expression) }
        let groupBy = try groupColumns(query.groupBy)
        let (aggregates, outputs) = try selectList(query.select, groupBy: groupBy)
        let unitType = sources[0].schema.columns[sources[0].schema.privacyUnitIndex].type
        return QueryPlan(sources: sources, joins: joins, filter: filter, groupBy: groupBy,
                         aggregates: aggregates, outputs: outputs, privacyUnitType: unitType)
    }

    // MARK: FROM

    func dataset(_ name: SyntaxName) throws(AnalysisError) -> DatasetSchema {
        if let schema = catalog[name.text] { return schema }
        let names = catalog.datasets.keys.sorted()
        if let near = names.first(where: { $0.lowercased() == name.text.lowercased() }) {
            throw AnalysisError(.unknownName, "unknown dataset '\(name.text)'; names are case-sensitive, did you mean '\(near)'?", at: name.location)
        }
        throw AnalysisError(.unknownName, "unknown dataset '\(name.text)'; the module declares: \(names.joined(separator: ", "))", at: name.location)
    }

    mutating func addSource(_ syntax: SyntaxSource) throws(AnalysisError) {
        let source: PlanSource
        let location: SourceLocation
        switch syntax {
        case .dataset(let name, let alias):
            source = PlanSource(qualifier: alias?.text ?? name.text, alias: alias?.text,
                                datasets: [name.text], schema: try dataset(name))
            location = alias?.location ?? name.location
            try checkNotReadYet(name)
        case .union(let members, let alias, _):
            let first = try dataset(members[0])
            try checkNotReadYet(members[0])
            for (offset, member) in members.enumerated().dropFirst() {
                if members[..<offset].contains(where: { $0.text == member.text }) {
                    throw AnalysisError(.duplicateName, "dataset '\(member.text)' appears twice in the union; list each dataset once", at: member.location)
                }
                try checkNotReadYet(member)
                try UnionCheck.requireIdentical(first, try dataset(member), at: member.location)
            }
            source = PlanSource(qualifier: alias.text, alias: alias.text, datasets: members.map(\.text), schema: first)
            location = alias.location
        }
        if sources.contains(where: { $0.qualifier == source.qualifier }) {
            throw AnalysisError(.duplicateName, "'\(source.qualifier)' names two sources in FROM; give each its own alias", at: location)
        }
        sources.append(source)
        sourceLocations.append(location)
    }

    func checkNotReadYet(_ name: SyntaxName) throws(AnalysisError) {
        if sources.contains(where: { $0.datasets.contains(name.text) }) {
            throw AnalysisError(.duplicateName, "dataset '\(name.text)' is read twice; each dataset may appear once in a query", at: name.location)
        }
    }

    func joinKey(_ join: SyntaxJoin) throws(AnalysisError) -> JoinKey {
        let joinedIndex = sources.count - 1
        let first = try identifierMatch(join.left, join.right, position: 0, existingSource: nil)
        var alternatives: [IdentifierMatch] = []
        for (offset, pair) in join.alternatives.enumerated() {
            alternatives.append(try identifierMatch(pair.left, pair.right, position: offset + 1, existingSource: first.existing.source))
        }
        // Both datasets must identify a person by the same kinds of identifier in the same order,
        // and the condition must list every one: the people the engine resolves are then the same
        // whichever side is read first, and the rule a reviewer reads is the rule that runs.
        let existingSchema = sources[first.existing.source].schema
        let joinedSchema = sources[joinedIndex].schema
        let expected = zip(existingSchema.unitIdentifiers, joinedSchema.unitIdentifiers).map {
            "\(first.existing.qualifier).\($0) = \(first.joined.qualifier).\($1)"
        }.joined(separator: " OR ")
        let families = { (schema: DatasetSchema) in schema.unitIdentifiers.map { schema.columns[schema.columnIndex(named: $0) ?? 0].type.identifierFamily } }
        guard families(existingSchema) == families(joinedSchema) else {
            throw AnalysisError(.invalidJoin, "'\(first.existing.qualifier)' identifies a person by \(existingSchema.unitIdentifiers.joined(separator: ", then ")) but '\(first.joined.qualifier)' by \(joinedSchema.unitIdentifiers.joined(separator: ", then ")); datasets matched on several identifiers must declare the same kinds in the same order (privacy_unit in the module)", at: join.left.location)
        }
        guard alternatives.count + 1 == joinedSchema.unitIdentifiers.count else {
            throw AnalysisError(.invalidJoin, "these datasets identify a person by \(joinedSchema.unitIdentifiers.count) identifier\(joinedSchema.unitIdentifiers.count == 1 ? "" : "s") in priority order; write ON \(expected)", at: join.left.location)
        }
        return JoinKey(existing: first.existing, joined: first.joined, alternatives: alternatives)
    }

    /// One equality of an ON condition: the `position`-th identifier of a person on each side.
    func identifierMatch(_ leftSyntax: SyntaxColumn, _ rightSyntax: SyntaxColumn, position: Int,
                         existingSource: Int?) throws(AnalysisError) -> IdentifierMatch {
        let joinedIndex = sources.count - 1
        let left = try resolve(leftSyntax, visible: sources.count)
        let right = try resolve(rightSyntax, visible: sources.count)
        for (reference, syntax) in [(left, leftSyntax), (right, rightSyntax)] {
            let schema = sources[reference.source].schema
            if position == 0, !reference.isPrivacyUnit {
                throw AnalysisError(.invalidJoin, "datasets may only be joined on their privacy-unit columns; \(reference) is not one (the unit of '\(reference.qualifier)' is \(reference.qualifier).\(schema.privacyUnit))", at: syntax.location)
            }
            if position > 0, schema.unitIdentifiers.count <= position || schema.unitIdentifiers[position] != reference.name {
                let which = schema.unitIdentifiers.count > position ? "\(reference.qualifier).\(schema.unitIdentifiers[position])" : "none"
                throw AnalysisError(.invalidJoin, "equality \(position + 1) of the ON condition must use identifier \(position + 1) of a person in '\(reference.qualifier)' (privacy_unit order): that is \(which), not \(reference)", at: syntax.location)
            }
        }
        let match: IdentifierMatch
        if right.source == joinedIndex, left.source != joinedIndex {
            match = IdentifierMatch(existing: left, joined: right)
        } else if left.source == joinedIndex, right.source != joinedIndex {
            match = IdentifierMatch(existing: right, joined: left)
        } else {
            throw AnalysisError(.invalidJoin, "the ON condition must equate the privacy unit of '\(sources[joinedIndex].qualifier)' with that of an earlier source", at: leftSyntax.location)
        }
        if let existingSource, match.existing.source != existingSource {
            throw AnalysisError(.invalidJoin, "every equality of one ON condition must match the same two sources", at: leftSyntax.location)
        }
        guard match.existing.type.matches(match.joined.type) else {
            throw AnalysisError(.typeMismatch, "cannot join \(match.existing) (\(match.existing.type)) with \(match.joined) (\(match.joined.type)); privacy-unit columns must have the same type, or be identifiers of one kind (email with sha256_email, phone with sha256_phone)", at: leftSyntax.location)
        }
        return match
    }

    // MARK: names

    /// Resolves a column among the first `visible` sources.
    func resolve(_ column: SyntaxColumn, visible: Int) throws(AnalysisError) -> ColumnReference {
        let scope = sources.prefix(visible)
        if let qualifier = column.qualifier {
            guard let index = scope.firstIndex(where: { $0.qualifier == qualifier.text }) else {
                if let aliased = scope.first(where: { $0.alias != nil && $0.datasets.contains(qualifier.text) }) {
                    throw AnalysisError(.unknownName, "dataset '\(qualifier.text)' is called '\(aliased.qualifier)' in this query; write \(aliased.qualifier).\(column.name.text)", at: qualifier.location)
                }
                let known = scope.map(\.qualifier).joined(separator: ", ")
                throw AnalysisError(.unknownName, "unknown dataset or alias '\(qualifier.text)'; this part of the query can use: \(known)", at: qualifier.location)
            }
            return try reference(column.name, in: index)
        }
        let matches = scope.indices.filter { scope[$0].schema.columnIndex(named: column.name.text) != nil }
        switch matches.count {
        case 1:
            return try reference(column.name, in: matches[0])
        case 0:
            let all = scope.flatMap { $0.schema.columns.map(\.name) }
            if let near = all.first(where: { $0.lowercased() == column.name.text.lowercased() }) {
                throw AnalysisError(.unknownName, "unknown column '\(column.name.text)'; names are case-sensitive, did you mean '\(near)'?", at: column.name.location)
            }
            throw AnalysisError(.unknownName, "unknown column '\(column.name.text)'; no dataset in this query has it", at: column.name.location)
        default:
            let options = matches.map { "\(scope[$0].qualifier).\(column.name.text)" }.joined(separator: " or ")
            throw AnalysisError(.unknownName, "column '\(column.name.text)' is ambiguous; write \(options)", at: column.name.location)
        }
    }

    func reference(_ name: SyntaxName, in index: Int) throws(AnalysisError) -> ColumnReference {
        let source = sources[index]
        guard let columnIndex = source.schema.columnIndex(named: name.text) else {
            let names = source.schema.columns.map(\.name)
            if let near = names.first(where: { $0.lowercased() == name.text.lowercased() }) {
                throw AnalysisError(.unknownName, "'\(source.qualifier)' has no column '\(name.text)'; names are case-sensitive, did you mean '\(near)'?", at: name.location)
            }
            throw AnalysisError(.unknownName, "'\(source.qualifier)' has no column '\(name.text)'; its columns are: \(names.joined(separator: ", "))", at: name.location)
        }
        let column = source.schema.columns[columnIndex]
        return ColumnReference(source: index, qualifier: source.qualifier, name: column.name, type: column.type,
                               isPrivacyUnit: column.name == source.schema.privacyUnit)
    }

    /// Resolves among all sources.
    func resolve(_ column: SyntaxColumn) throws(AnalysisError) -> ColumnReference {
        try resolve(column, visible: sources.count)
    }
}

/// The rule for `UNION ALL`: member datasets must have identical schemas.
enum UnionCheck {
    /// Requires the same column names (any order), types, clamping bounds and privacy unit.
    ///
    /// - Throws: ``AnalysisError`` (`unionSchemaMismatch`) naming the first difference.
    static func requireIdentical(_ first: DatasetSchema, _ other: DatasetSchema, at location: SourceLocation) throws(AnalysisError) {
        func fail(_ detail: String) -> AnalysisError {
            AnalysisError(.unionSchemaMismatch, "'\(other.name)' cannot be combined with '\(first.name)' by UNION ALL: \(detail); UNION ALL needs identical schemas (column names, types, bounds and privacy unit)", at: location)
        }
        guard first.unitIdentifiers == other.unitIdentifiers else {
            if first.privacyUnit == other.privacyUnit {
                throw fail("the identifiers of a person differ: [\(first.unitIdentifiers.joined(separator: ", "))] in '\(first.name)' but [\(other.unitIdentifiers.joined(separator: ", "))] in '\(other.name)'")
            }
            throw fail("the privacy unit is '\(first.privacyUnit)' in '\(first.name)' but '\(other.privacyUnit)' in '\(other.name)'")
        }
        for column in first.columns {
            guard let index = other.columnIndex(named: column.name) else {
                throw fail("column '\(column.name)' is missing from '\(other.name)'")
            }
            let match = other.columns[index]
            guard match.type == column.type else {
                throw fail("column '\(column.name)' is \(column.type) in '\(first.name)' but \(match.type) in '\(other.name)'")
            }
            guard match.bounds == column.bounds else {
                throw fail("column '\(column.name)' has different clamping bounds")
            }
        }
        if let extra = other.columns.first(where: { first.columnIndex(named: $0.name) == nil }) {
            throw fail("column '\(extra.name)' exists only in '\(other.name)'")
        }
    }
}
