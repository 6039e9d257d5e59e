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
            throw AnalysisError(.invalidAggregation, "the query computes no aggregate; select at least one of COUNT(*), COUNT(DISTINCT <privacy unit>), SUM(column), AVG(column), MEDIAN(column), PERCENTILE_CONT(column, p), VAR_POP(column), STDDEV_POP(column), HISTOGRAM(column, edges...)", at: items[0].location)
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
            let bounds = try requireBounds(column, function: function, at: argument.location)
            return AggregateSpec(kind: kind, column: column, bounds: bounds,
                                 outputName: alias ?? "\(function.lowercased())_\(column.name)")
        case .median, .percentile:
            let function = syntax.kind == .median ? "MEDIAN" : "PERCENTILE_CONT"
            let bounds = try requireBounds(column, function: function, at: argument.location)
            var fraction = QuantileFraction.median
            if syntax.kind == .percentile {
                guard let written = syntax.constants.first, let parsed = QuantileFraction(parsing: written.text) else {
                    throw AnalysisError(.invalidAggregation, "PERCENTILE_CONT's fraction p must be a number between 0 and 1 with at most \(DecimalValue.scale) digits after the point, such as 0.9", at: syntax.constants.first?.location ?? syntax.location)
                }
                fraction = parsed
            }
            let name = syntax.kind == .median ? "median_\(column.name)" : "percentile_\(column.name)"
            return AggregateSpec(kind: .quantile, column: column, bounds: bounds, outputName: alias ?? name, fraction: fraction)
        case .variance, .standardDeviation:
            let function = syntax.kind == .variance ? "VAR_POP" : "STDDEV_POP"
            let bounds = try requireBounds(column, function: function, at: argument.location)
            guard bounds.lower < bounds.upper else {
                throw AnalysisError(.invalidAggregation, "\(function)(\(column)) is always 0: the clamping bounds of '\(column.name)' are one value; widen them", at: argument.location)
            }
            return AggregateSpec(kind: syntax.kind == .variance ? .variance : .standardDeviation, column: column, bounds: bounds,
                                 outputName: alias ?? "\(function.lowercased())_\(column.name)")
        case .histogram:
            try requireMeasured(column, function: "HISTOGRAM", at: argument.location)
            var edges: [Int64] = []
            for written in syntax.constants {
                guard let edge = Self.edge(written.text, type: column.type) else {
                    throw AnalysisError(.typeMismatch, "HISTOGRAM bin edge \(written.text) is not \(column.type == .int ? "an integer" : "a decimal with at most \(DecimalValue.scale) digits after the point") like the values of \(column)", at: written.location)
                }
                if let last = edges.last, edge <= last {
                    throw AnalysisError(.invalidAggregation, "HISTOGRAM bin edges must increase strictly; \(written.text) is not above the edge before it", at: written.location)
                }
                edges.append(edge)
            }
            guard edges.count >= 2 else {
                throw AnalysisError(.invalidAggregation, "HISTOGRAM needs at least two bin edges (one bin): HISTOGRAM(column, e0, e1, ...)", at: syntax.location)
            }
            let schema = sources[column.source].schema
            let bounds = schema.columnIndex(named: column.name).flatMap { schema.columns[$0].bounds }
            return AggregateSpec(kind: .histogram, column: column, bounds: bounds,
                                 outputName: alias ?? "histogram_\(column.name)", binEdges: edges)
        }
    }

    /// A bin edge in the column's storage units.
    static func edge(_ text: String, type: ColumnType) -> Int64? {
        switch type {
        case .int: return Int64(text)
        case .decimal: return DecimalValue(parsing: Substring(text))?.scaled
        default: return nil
        }
    }

    /// Refuses the privacy unit and non-numeric columns as the argument of `function`.
    func requireMeasured(_ column: ColumnReference, function: String, at location: SourceLocation) throws(AnalysisError) {
        if column.identifiesPeople {
            throw AnalysisError(.privacyUnitExposed, "cannot compute \(function) of \(column.identityRole) \(column); aggregate a measured column instead", at: location)
        }
        guard column.type.isNumeric else {
            throw AnalysisError(.typeMismatch, "\(function) needs an int or decimal column, but \(column) is \(column.type)", at: location)
        }
    }

    /// The column's declared clamping bounds, which `function` needs.
    func requireBounds(_ column: ColumnReference, function: String, at location: SourceLocation) throws(AnalysisError) -> ClampBounds {
        try requireMeasured(column, function: function, at: location)
        let schema = sources[column.source].schema
        guard let index = schema.columnIndex(named: column.name), let bounds = schema.columns[index].bounds else {
            throw AnalysisError(.missingBounds, "\(function)(\(column)) needs clamping bounds; declare lower and upper bounds for column '\(column.name)' of dataset '\(schema.name)' in the module", at: location)
        }
        return bounds
    }
}
