/// GROUP BY and the SELECT list: aggregate shape, privacy-unit exposure, bounds and output names.
extension Analyzer {
    func groupColumns(_ columns: [SyntaxColumn]) throws(AnalysisError) -> [ColumnReference] {
        var result: [ColumnReference] = []
        for syntax in columns {
            let column = try resolve(syntax)
            if column.identifiesPeople {
                throw AnalysisError(.privacyUnitExposed, "cannot group by \(column.identityRole) \(column): that would release one group per person; group by a column that describes many people", at: syntax.location)
            }
            if result.contains(column) {
                throw AnalysisError(.duplicateName, "\(column) appears twice in GROUP BY; list it once", at: syntax.location)
            }
            result.append(column)
        }
        return result
    }

    func selectList(_ items: [SyntaxSelectItem], groupBy: [ColumnReference]) throws(AnalysisError) -> ([AggregateSpec], [OutputColumn]) {
        var aggregates: [AggregateSpec] = []
        var outputs: [OutputColumn] = []
        var names: Set<String> = []
        for item in items {
            let output: OutputColumn
            switch item.value {
            case .column(let syntax):
                let column = try resolve(syntax)
                if column.identifiesPeople {
                    throw AnalysisError(.privacyUnitExposed, "cannot select \(column.identityRole) \(column): results must never identify a person; select group-by columns and aggregates (COUNT(DISTINCT \(column)) counts people)", at: syntax.location)
                }
                guard let index = groupBy.firstIndex(of: column) else {
                    throw AnalysisError(.invalidAggregation, "\(column) is neither in GROUP BY nor aggregated; add it to GROUP BY or wrap it in SUM or AVG", at: syntax.location)
                }
                output = .groupKey(index: index, name: item.alias?.text ?? column.name)
            case .aggregate(let syntax):
                let spec = try aggregate(syntax, alias: item.alias?.text)
                aggregates.append(spec)
                output = .aggregate(index: aggregates.count - 1, name: spec.outputName)
            }
            guard names.insert(output.name).inserted else {
                throw AnalysisError(.duplicateName, "two output columns are named '\(output.name)'; give one a different name with AS", at: item.alias?.location ?? item.location)
            }
            outputs.append(output)
        }
        guard !aggregates.isEmpty else {
            throw AnalysisError(.invalidAggregation, "the query computes no aggregate; select at least one of COUNT(*), COUNT(DISTINCT <privacy unit>), SUM(column), AVG(column)", at: items[0].location)
        }
        return (aggregates, outputs)
    }

    func aggregate(_ syntax: SyntaxAggregate, alias: String?) throws(AnalysisError) -> AggregateSpec {
        guard let argument = syntax.argument else {
            return AggregateSpec(kind: .countRows, column: nil, bounds: nil, outputName: alias ?? "count")
        }
        let column = try resolve(argument)
        switch syntax.kind {
        case .countRows:
            return AggregateSpec(kind: .countRows, column: nil, bounds: nil, outputName: alias ?? "count")
        case .countDistinct:
            guard column.isPrivacyUnit else {
                let unit = sources[column.source].schema.privacyUnit
                throw AnalysisError(.invalidAggregation, "COUNT(DISTINCT ...) may only count privacy units (people), and \(column) is not one; use COUNT(DISTINCT \(column.qualifier).\(unit))", at: argument.location)
            }
            return AggregateSpec(kind: .countDistinctUnits, column: column, bounds: nil, outputName: alias ?? "count_distinct_\(column.name)")
        case .sum, .avg:
            let kind: AggregateSpec.Kind = syntax.kind == .sum ? .sum : .avg
            let function = kind == .sum ? "SUM" : "AVG"
            if column.identifiesPeople {
                throw AnalysisError(.privacyUnitExposed, "cannot compute \(function) of \(column.identityRole) \(column); aggregate a measured column instead", at: argument.location)
            }
            guard column.type.isNumeric else {
                throw AnalysisError(.typeMismatch, "\(function) needs an int or decimal column, but \(column) is \(column.type)", at: argument.location)
            }
            let schema = sources[column.source].schema
            guard let index = schema.columnIndex(named: column.name), let bounds = schema.columns[index].bounds else {
                throw AnalysisError(.missingBounds, "\(function)(\(column)) needs clamping bounds; declare lower and upper bounds for column '\(column.name)' of dataset '\(schema.name)' in the module", at: argument.location)
            }
            return AggregateSpec(kind: kind, column: column, bounds: bounds,
                                 outputName: alias ?? "\(function.lowercased())_\(column.name)")
        }
    }
}
