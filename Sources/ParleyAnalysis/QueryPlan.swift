/// A checked, typed query: what the engine executes and what a module's reviewers inspect.
///
/// A `QueryPlan` exists only as the output of ``QueryCompiler/compile(_:catalog:limits:)``, so
/// holding one means every static privacy check passed: no privacy-unit column is selected,
/// grouped by or filtered on; sources are combined only by equality of privacy-unit columns;
/// every SUM/AVG column has clamping bounds; at least one aggregate is computed.
public struct QueryPlan: Hashable, Sendable {
    /// The data sources in FROM order; ``ColumnReference/source`` indexes this array.
    public let sources: [PlanSource]
    /// One key per joined source: `joins[i]` attaches `sources[i + 1]` to an earlier source.
    public let joins: [JoinKey]
    /// The WHERE condition, if any.
    public let filter: FilterExpression?
    /// The GROUP BY columns in written order (may be empty: one group for the whole input).
    public let groupBy: [ColumnReference]
    /// The aggregates in the order they first appear in the SELECT list.
    public let aggregates: [AggregateSpec]
    /// The output columns in SELECT order.
    public let outputs: [OutputColumn]
    /// The type of the privacy-unit columns (all sources agree).
    public let privacyUnitType: ColumnType

    init(sources: [PlanSource], joins: [JoinKey], filter: FilterExpression?, groupBy: [ColumnReference],
         aggregates: [AggregateSpec], outputs: [OutputColumn], privacyUnitType: ColumnType) {
        self.sources = sources
        self.joins = joins
        self.filter = filter
        self.groupBy = groupBy
        self.aggregates = aggregates
        self.outputs = outputs
        self.privacyUnitType = privacyUnitType
    }

    /// Every dataset the query reads, in FROM order (union members in written order).
    public var datasetNames: [String] { sources.flatMap(\.datasets) }

    /// The parameters the condition uses, by name, with their declared types.
    public var parameters: [String: ColumnType] {
        var found: [String: ColumnType] = [:]
        func walk(_ expression: FilterExpression) {
            switch expression {
            case .and(let terms), .or(let terms): terms.forEach(walk)
            case .not(let inner): walk(inner)
            case .comparison(_, let left, let right, _):
                for operand in [left, right] { if case .parameter(let name, let type) = operand { found[name] = type } }
            case .inList(let operand, _, _):
                if case .parameter(let name, let type) = operand { found[name] = type }
            }
        }
        if let filter { walk(filter) }
        return found
    }

    /// The plan with every parameter replaced by its value, converted to each comparison's
    /// domain as literals are.
    ///
    /// - Throws: ``AnalysisError`` if a parameter has no value or one of another type (the
    ///   module's declaration checks values before this; this is the plan's own guard).
    public func binding(_ values: [String: ScalarValue]) throws(AnalysisError) -> QueryPlan {
        func bound(_ operand: FilterOperand, _ domain: ComparisonDomain) throws(AnalysisError) -> FilterOperand {
            guard case .parameter(let name, let type) = operand else { return operand }
            guard let value = values[name], value.type == type else {
                throw AnalysisError(.unknownName, "parameter @\(name) needs a \(type) value", at: SourceLocation(line: 1, column: 1))
            }
            if domain == .decimal, case .int(let whole) = value {
                guard let decimal = DecimalValue(integer: whole) else {
                    throw AnalysisError(.invalidToken, "parameter @\(name) is too large to compare with a decimal", at: SourceLocation(line: 1, column: 1))
                }
                return .literal(.decimal(decimal))
            }
            return .literal(value)
        }
        func walk(_ expression: FilterExpression) throws(AnalysisError) -> FilterExpression {
            switch expression {
            case .and(let terms): return .and(try terms.map { (term) throws(AnalysisError) in try walk(term) })
            case .or(let terms): return .or(try terms.map { (term) throws(AnalysisError) in try walk(term) })
            case .not(let inner): return .not(try walk(inner))
            case .comparison(let op, let left, let right, let domain):
                return .comparison(op, try bound(left, domain), try bound(right, domain), domain: domain)
            case .inList(let operand, let list, let domain):
                return .inList(try bound(operand, domain), list, domain: domain)
            }
        }
        return QueryPlan(sources: sources, joins: joins, filter: try filter.map { (f) throws(AnalysisError) in try walk(f) },
                         groupBy: groupBy, aggregates: aggregates, outputs: outputs, privacyUnitType: privacyUnitType)
    }
}

/// One source in FROM: a dataset, or a `UNION ALL` of datasets with identical schemas.
public struct PlanSource: Hashable, Sendable {
    /// The name columns are qualified with: the alias if given, else the dataset name.
    public let qualifier: String
    /// The alias as written, if any.
    public let alias: String?
    /// The datasets read: one, or the members of a union in written order.
    public let datasets: [String]
    /// The schema of the source (for a union, the first member's; all members are identical
    /// up to column order, provider and dataset name).
    public let schema: DatasetSchema

    /// Whether the source is a `UNION ALL`.
    public var isUnion: Bool { datasets.count > 1 }
}

/// A resolved column: which source, which column, its type and whether it is the privacy unit.
public struct ColumnReference: Hashable, Sendable, CustomStringConvertible {
    /// Index into ``QueryPlan/sources``.
    public let source: Int
    /// The source's qualifier (alias or dataset name), for messages and display.
    public let qualifier: String
    /// The column name.
    public let name: String
    /// The column's type.
    public let type: ColumnType
    /// Whether the column is its source's privacy unit.
    public let isPrivacyUnit: Bool

    /// `qualifier.name`.
    public var description: String { "\(qualifier).\(name)" }

    /// Whether the column identifies a person: the privacy unit, or any identifier-typed column
    /// (`email`, `phone`, `sha256_email`, `sha256_phone`). Such a column is never selected,
    /// grouped by, filtered on or aggregated; it only matches datasets.
    public var identifiesPeople: Bool { isPrivacyUnit || type.isIdentifier }

    /// How messages name a column that identifies people.
    var identityRole: String { isPrivacyUnit ? "the privacy unit" : "the \(type) identifier" }
}

/// `joins[i]`: the privacy-unit column of `sources[i + 1]` equals that of an earlier source.
///
/// For datasets that identify a person by several identifier columns (`privacy_unit = ["email",
/// "phone"]`), ``alternatives`` holds the further equalities in priority order; the engine
/// resolves people by them (see docs/privacy.md, "Matching on several identifiers").
public struct JoinKey: Hashable, Sendable {
    /// The privacy-unit column of an earlier source.
    public let existing: ColumnReference
    /// The privacy-unit column of the source being joined.
    public let joined: ColumnReference
    /// Further identifier equalities after the first, in priority order.
    public let alternatives: [IdentifierMatch]

    init(existing: ColumnReference, joined: ColumnReference, alternatives: [IdentifierMatch] = []) {
        self.existing = existing
        self.joined = joined
        self.alternatives = alternatives
    }

    /// Every equality, the privacy units first.
    public var matches: [IdentifierMatch] { [IdentifierMatch(existing: existing, joined: joined)] + alternatives }
}

/// One identifier equality of a join: a column of an earlier source and one of the joined source.
public struct IdentifierMatch: Hashable, Sendable, CustomStringConvertible {
    /// The earlier source's column.
    public let existing: ColumnReference
    /// The joined source's column.
    public let joined: ColumnReference
    /// `e.email = p.email`.
    public var description: String { "\(existing) = \(joined)" }
}

/// Comparison operators of WHERE conditions.
public enum ComparisonOperator: String, Hashable, Sendable {
    /// `=`
    case equal = "="
    /// `<>` or `!=`
    case notEqual = "<>"
    /// `<`
    case less = "<"
    /// `<=`
    case lessEqual = "<="
    /// `>`
    case greater = ">"
    /// `>=`
    case greaterEqual = ">="
}

/// The type in which a comparison is evaluated.
///
/// `decimal` is used whenever an `int` meets a `decimal`: the `int` side is scaled by
/// ``DecimalValue/unit`` before comparing (literals are already converted in the plan).
public enum ComparisonDomain: Hashable, Sendable {
    /// Byte-wise comparison of UTF-8 text (so `'B' < 'a'`).
    case text
    /// 64-bit integers.
    case int
    /// Fixed-point decimals (scaled `Int64`).
    case decimal
    /// Dates (day numbers).
    case date
}

/// One side of a comparison.
public enum FilterOperand: Hashable, Sendable {
    /// A (non privacy-unit) column.
    case column(ColumnReference)
    /// A constant, already converted to the comparison's domain.
    case literal(ScalarValue)
    /// A declared parameter of this type, bound at run time (``QueryPlan/binding(_:)``); the
    /// engine only ever runs bound plans.
    case parameter(String, ColumnType)
}

/// A typed WHERE condition. `BETWEEN` is expressed as two comparisons, `NOT IN` as `.not(.inList)`.
public indirect enum FilterExpression: Hashable, Sendable {
    /// All conditions hold.
    case and([FilterExpression])
    /// At least one condition holds.
    case or([FilterExpression])
    /// The condition does not hold.
    case not(FilterExpression)
    /// `left op right`, evaluated in `domain`.
    case comparison(ComparisonOperator, FilterOperand, FilterOperand, domain: ComparisonDomain)
    /// `operand IN (values)`; the values are distinct and in `domain`.
    case inList(FilterOperand, [ScalarValue], domain: ComparisonDomain)
}

/// One aggregate of the SELECT list.
public struct AggregateSpec: Hashable, Sendable {
    /// What is computed.
    public enum Kind: String, Hashable, Sendable {
        /// `COUNT(*)`: rows, each unit's count per group clamped by the engine's max rows.
        case countRows
        /// `COUNT(DISTINCT unit)`: distinct privacy units in the group.
        case countDistinctUnits
        /// `SUM(column)`: each unit's per-group sum clamped to the column's bounds.
        case sum
        /// `AVG(column)`: clamped sum divided by row count, charged as both.
        case avg
        /// `MEDIAN(column)` or `PERCENTILE_CONT(column, p)`: the `p`-quantile of the units'
        /// clamped totals, chosen by the exponential mechanism over the column's bounds.
        case quantile
        /// `VAR_POP(column)`: the population variance of the units' clamped totals.
        case variance
        /// `STDDEV_POP(column)`: the square root of `VAR_POP(column)`.
        case standardDeviation
        /// `HISTOGRAM(column, e0, ..., ek)`: how many units' totals fall in each declared bin.
        case histogram
    }

    /// What is computed.
    public let kind: Kind
    /// The aggregated column (`nil` for `COUNT(*)`; the unit column for COUNT DISTINCT).
    public let column: ColumnReference?
    /// The column's declared clamping bounds (SUM and AVG only).
    public let bounds: ClampBounds?
    /// The output name: the alias, or a generated name such as `sum_amount`.
    public let outputName: String
    /// The quantile's fraction `p` (``Kind/quantile`` only; `1/2` for MEDIAN).
    public let fraction: QuantileFraction?
    /// The histogram's bin edges in the column's storage units, strictly increasing
    /// (``Kind/histogram`` only). Bin `i` is `[edges[i], edges[i + 1])`, the last one closed.
    public let binEdges: [Int64]

    init(kind: Kind, column: ColumnReference?, bounds: ClampBounds?, outputName: String,
         fraction: QuantileFraction? = nil, binEdges: [Int64] = []) {
        self.kind = kind
        self.column = column
        self.bounds = bounds
        self.outputName = outputName
        self.fraction = fraction
        self.binEdges = binEdges
    }
}

/// The fraction `p` of a quantile, exactly: `numerator / denominator` in lowest terms, in
/// `[0, 1]`. Written in the query as a decimal with at most four fractional digits.
public struct QuantileFraction: Hashable, Sendable, CustomStringConvertible {
    /// The numerator, at most ``denominator``.
    public let numerator: UInt64
    /// The denominator, positive.
    public let denominator: UInt64

    /// The median, `1/2`.
    public static let median = QuantileFraction(reducing: 1, 2)

    /// Parses `0`, `1`, `0.5`, `0.9999`: a decimal between 0 and 1 with at most four
    /// fractional digits, or `nil`.
    public init?(parsing text: String) {
        guard let value = DecimalValue(parsing: Substring(text)), value.scaled >= 0, value.scaled <= DecimalValue.unit else {
            return nil
        }
        self.init(reducing: UInt64(value.scaled), UInt64(DecimalValue.unit))
    }

    init(reducing numerator: UInt64, _ denominator: UInt64) {
        var (a, b) = (numerator, denominator)
        while b != 0 { (a, b) = (b, a % b) }
        let divisor = max(a, 1)
        self.numerator = numerator / divisor
        self.denominator = denominator / divisor
    }

    /// `p` as a decimal (`0.5`), exactly.
    public var description: String {
        DecimalValue(scaled: Int64(numerator * UInt64(DecimalValue.unit) / denominator)).description
    }
}

/// One column of the result, in SELECT order.
public enum OutputColumn: Hashable, Sendable {
    /// The value of ``QueryPlan/groupBy``[index], named `name`.
    case groupKey(index: Int, name: String)
    /// The value of ``QueryPlan/aggregates``[index], named `name`.
    case aggregate(index: Int, name: String)

    /// The output column's name.
    public var name: String {
        switch self {
        case .groupKey(_, let name), .aggregate(_, let name): name
        }
    }
}
