import ParleyAnalysis

/// The column data of the plan's sources, pre-extracted for row-at-a-time access.
struct SourceColumns {
    /// `numbers[source][column]`: values of numeric columns (empty for text columns).
    var numbers: [[[Int64]]]
    /// `codes[source][column]`: dictionary codes of text columns (empty for numeric columns).
    var codes: [[[UInt32]]]
    /// `dictionaries[source][column]`: text dictionaries (empty dictionary for numeric columns).
    var dictionaries: [[TextDictionary]]

    init(_ tables: [Table]) {
        numbers = []
        codes = []
        dictionaries = []
        for table in tables {
            var n: [[Int64]] = [], c: [[UInt32]] = [], d: [TextDictionary] = []
            for column in table.columns {
                switch column {
                case .numbers(let values):
                    n.append(values); c.append([]); d.append(TextDictionary())
                case .text(let text):
                    n.append([]); c.append(text.codes); d.append(text.dictionary)
                }
            }
            numbers.append(n)
            codes.append(c)
            dictionaries.append(d)
        }
    }
}

/// One side of a numeric comparison, bound to column storage.
enum NumericOperand {
    /// `numbers[source][column][row] * scale` (scale 1, or ``DecimalValue/unit`` for an int
    /// column compared in the decimal domain; saturating).
    case column(source: Int, column: Int, scale: Int64)
    /// A constant.
    case constant(Int64)
}

/// A WHERE condition bound to the loaded tables: text literals become per-code masks, numbers
/// become `Int64` comparisons, so evaluating a row allocates nothing.
indirect enum BoundPredicate {
    case constant(Bool)
    case and([BoundPredicate])
    case or([BoundPredicate])
    case not(BoundPredicate)
    case numeric(ComparisonOperator, NumericOperand, NumericOperand)
    case numericIn(NumericOperand, Set<Int64>)
    /// `mask[codes[source][column][row]]`.
    case textMask(source: Int, column: Int, mask: [Bool])
    /// Two text columns compared byte-wise.
    case textColumns(ComparisonOperator, source: Int, column: Int, otherSource: Int, otherColumn: Int)

    /// Binds a typed filter to the tables (`tables[i]` is the data of `plan.sources[i]`).
    static func bind(_ filter: FilterExpression, _ tables: [Table], _ data: SourceColumns) -> BoundPredicate {
        switch filter {
        case .and(let terms): return .and(terms.map { bind($0, tables, data) })
        case .or(let terms): return .or(terms.map { bind($0, tables, data) })
        case .not(let inner): return .not(bind(inner, tables, data))
        case .comparison(let op, let left, let right, let domain):
            if domain == .text { return bindText(op, left, right, tables, data) }
            return .numeric(op, numeric(left, domain, tables), numeric(right, domain, tables))
        case .inList(let operand, let values, let domain):
            if domain == .text {
                let set = Set(values.compactMap { if case .text(let text) = $0 { text } else { nil } })
                switch operand {
                case .literal(.text(let text)): return .constant(set.contains(text))
                case .column(let column):
                    let index = columnIndex(column, tables)
                    let dictionary = data.dictionaries[column.source][index]
                    let mask = (0..<dictionary.count).map { set.contains(dictionary.string(UInt32($0))) }
                    return .textMask(source: column.source, column: index, mask: mask)
                default: return .constant(false)
                }
            }
            return .numericIn(numeric(operand, domain, tables), Set(values.map(storage)))
        }
    }

    static func columnIndex(_ column: ColumnReference, _ tables: [Table]) -> Int {
        tables[column.source].schema.columnIndex(named: column.name) ?? 0
    }

    static func storage(_ value: ScalarValue) -> Int64 {
        switch value {
        case .int(let value): value
        case .decimal(let value): value.scaled
        case .date(let value): value.daysSinceEpoch
        case .text: 0
        }
    }

    static func numeric(_ operand: FilterOperand, _ domain: ComparisonDomain, _ tables: [Table]) -> NumericOperand {
        switch operand {
        case .literal(let value): return .constant(storage(value))
        // Unreachable: QueryEngine.run refuses a plan with unbound parameters.
        case .parameter: return .constant(0)
        case .column(let column):
            let scale = (domain == .decimal && column.type == .int) ? DecimalValue.unit : 1
            return .column(source: column.source, column: columnIndex(column, tables), scale: scale)
        }
    }

    static func bindText(_ op: ComparisonOperator, _ left: FilterOperand, _ right: FilterOperand,
                         _ tables: [Table], _ data: SourceColumns) -> BoundPredicate {
        switch (left, right) {
        case (.literal(.text(let a)), .literal(.text(let b))):
            return .constant(compare(op, Array(a.utf8), Array(b.utf8)))
        case (.column(let column), .literal(.text(let literal))), (.literal(.text(let literal)), .column(let column)):
            let columnOnLeft: Bool = if case .column = left { true } else { false }
            let index = columnIndex(column, tables)
            let dictionary = data.dictionaries[column.source][index]
            let literalBytes = Array(literal.utf8)
            let mask = (0..<dictionary.count).map { code in
                let value = dictionary.withBytes(UInt32(code)) { Array($0) }
                return columnOnLeft ? compare(op, value, literalBytes) : compare(op, literalBytes, value)
            }
            return .textMask(source: column.source, column: index, mask: mask)
        case (.column(let a), .column(let b)):
            return .textColumns(op, source: a.source, column: columnIndex(a, tables),
                                otherSource: b.source, otherColumn: columnIndex(b, tables))
        default:
            return .constant(false)
        }
    }

    static func compare<T: Comparable>(_ op: ComparisonOperator, _ a: T, _ b: T) -> Bool {
        switch op {
        case .equal: a == b
        case .notEqual: a != b
        case .less: a < b
        case .lessEqual: a <= b
        case .greater: a > b
        case .greaterEqual: a >= b
        }
    }

    static func compare(_ op: ComparisonOperator, _ a: [UInt8], _ b: [UInt8]) -> Bool {
        let order: Int = a == b ? 0 : (a.lexicographicallyPrecedes(b) ? -1 : 1)
        return compare(op, order, 0)
    }

    /// Evaluates the condition for one combination of rows (`rows[source]`).
    func evaluate(_ rows: UnsafeBufferPointer<Int>, _ data: SourceColumns) -> Bool {
        switch self {
        case .constant(let value): return value
        case .and(let terms):
            for term in terms where !term.evaluate(rows, data) { return false }
            return true
        case .or(let terms):
            for term in terms where term.evaluate(rows, data) { return true }
            return false
        case .not(let inner): return !inner.evaluate(rows, data)
        case .numeric(let op, let left, let right):
            return Self.compare(op, Self.value(left, rows, data), Self.value(right, rows, data))
        case .numericIn(let operand, let set):
            return set.contains(Self.value(operand, rows, data))
        case .textMask(let source, let column, let mask):
            return mask[Int(data.codes[source][column][rows[source]])]
        case .textColumns(let op, let source, let column, let otherSource, let otherColumn):
            let a = data.dictionaries[source][column].withBytes(data.codes[source][column][rows[source]]) { Array($0) }
            let b = data.dictionaries[otherSource][otherColumn].withBytes(data.codes[otherSource][otherColumn][rows[otherSource]]) { Array($0) }
            return Self.compare(op, a, b)
        }
    }

    @inline(__always)
    static func value(_ operand: NumericOperand, _ rows: UnsafeBufferPointer<Int>, _ data: SourceColumns) -> Int64 {
        switch operand {
        case .constant(let value): return value
        case .column(let source, let column, let scale):
            let raw = data.numbers[source][column][rows[source]]
            if scale == 1 { return raw }
            let (product, overflow) = raw.multipliedReportingOverflow(by: scale)
            return overflow ? (raw < 0 ? Int64.min : Int64.max) : product
        }
    }

    /// The sources a condition reads (for pushing single-source conjuncts below the join).
    var sources: Set<Int> {
        switch self {
        case .constant: return []
        case .and(let terms), .or(let terms): return terms.reduce(into: Set<Int>()) { $0.formUnion($1.sources) }
        case .not(let inner): return inner.sources
        case .numeric(_, let left, let right): return Self.sources(left).union(Self.sources(right))
        case .numericIn(let operand, _): return Self.sources(operand)
        case .textMask(let source, _, _): return [source]
        case .textColumns(_, let source, _, let otherSource, _): return [source, otherSource]
        }
    }

    private static func sources(_ operand: NumericOperand) -> Set<Int> {
        if case .column(let source, _, _) = operand { return [source] }
        return []
    }
}
