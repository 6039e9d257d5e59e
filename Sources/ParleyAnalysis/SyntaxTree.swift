/// The parsed, not yet checked, shape of a query. Names are unresolved and types unknown; the
/// ``Analyzer`` turns this into a ``QueryPlan`` or refuses it.
struct SyntaxQuery: Sendable {
    var select: [SyntaxSelectItem]
    var from: SyntaxFrom
    var filter: SyntaxExpression?
    var groupBy: [SyntaxColumn]
}

/// A name as written, with where it was written.
struct SyntaxName: Hashable, Sendable {
    var text: String
    var location: SourceLocation
}

/// `column` or `qualifier.column`.
struct SyntaxColumn: Hashable, Sendable {
    var qualifier: SyntaxName?
    var name: SyntaxName
    var location: SourceLocation { qualifier?.location ?? name.location }
    var display: String { qualifier.map { "\($0.text).\(name.text)" } ?? name.text }
}

/// One item of the SELECT list.
struct SyntaxSelectItem: Sendable {
    enum Value: Sendable {
        case column(SyntaxColumn)
        case aggregate(SyntaxAggregate)
    }
    var value: Value
    var alias: SyntaxName?
    var location: SourceLocation
}

/// `COUNT(*)`, `COUNT(DISTINCT c)`, `SUM(c)`, `AVG(c)`, `MEDIAN(c)`, `PERCENTILE_CONT(c, p)`,
/// `VAR_POP(c)`, `STDDEV_POP(c)`, `HISTOGRAM(c, e0, e1, ...)`.
struct SyntaxAggregate: Sendable {
    enum Kind: Sendable { case countRows, countDistinct, sum, avg, median, percentile, variance, standardDeviation, histogram }
    var kind: Kind
    var argument: SyntaxColumn?
    var location: SourceLocation
    /// The numeric constants after the column, as written: `p` of PERCENTILE_CONT, the bin
    /// edges of HISTOGRAM (unchecked: the analyzer converts and checks them).
    var constants: [(text: String, location: SourceLocation)] = []
}

/// The FROM clause: a first source and inner joins.
struct SyntaxFrom: Sendable {
    var first: SyntaxSource
    var joins: [SyntaxJoin]
}

/// A dataset, or `(SELECT * FROM a UNION ALL SELECT * FROM b ...) AS alias`.
enum SyntaxSource: Sendable {
    case dataset(SyntaxName, alias: SyntaxName?)
    case union([SyntaxName], alias: SyntaxName, location: SourceLocation)
}

/// `[INNER] JOIN source ON left = right`.
struct SyntaxJoin: Sendable {
    var source: SyntaxSource
    var left: SyntaxColumn
    var right: SyntaxColumn
    var location: SourceLocation
    /// Further equalities after `OR`, in written (priority) order: `ON a.email = b.email OR
    /// a.phone = b.phone` has one. Only for datasets that identify a person by several columns.
    var alternatives: [(left: SyntaxColumn, right: SyntaxColumn)] = []
}

/// A literal as written; numbers keep their text (with a leading `-` if negated).
enum SyntaxLiteral: Sendable {
    case text(String)
    case integer(String)
    case decimal(String)
    case date(String)
}

/// A value position: a column or a literal.
enum SyntaxOperand: Sendable {
    case column(SyntaxColumn)
    case literal(SyntaxLiteral, SourceLocation)
    /// `@name`: a declared query parameter.
    case parameter(String, SourceLocation)

    var location: SourceLocation {
        switch self {
        case .column(let column): column.location
        case .literal(_, let location), .parameter(_, let location): location
        }
    }
}

/// Comparison operators.
enum SyntaxComparison: String, Sendable {
    case equal = "=", notEqual = "<>", less = "<", lessEqual = "<=", greater = ">", greaterEqual = ">="
}

/// A WHERE condition, or a bare value in condition position (refused by the analyzer).
indirect enum SyntaxExpression: Sendable {
    case and([SyntaxExpression])
    case or([SyntaxExpression])
    case not(SyntaxExpression, SourceLocation)
    case comparison(SyntaxComparison, SyntaxOperand, SyntaxOperand, SourceLocation)
    case inList(SyntaxOperand, [SyntaxOperand], negated: Bool, SourceLocation)
    case between(SyntaxOperand, SyntaxOperand, SyntaxOperand, negated: Bool, SourceLocation)
    case operand(SyntaxOperand)
}
