import ParleyAnalysis

/// One privacy unit's partial results, per group it touches; reused across units without
/// reallocating.
struct UnitPartials {
    let sumCount: Int
    /// Slot of each group id for the current unit, or -1.
    private var slotOfGroup: [Int32] = []
    /// Group id of each slot.
    private(set) var groups: [Int32] = []
    /// Row (join combination) count of each slot.
    private(set) var rows: [Int64] = []
    /// `sums[slot * sumCount + s]`: the unit's unclamped (saturating) sum for SUM/AVG `s`.
    private(set) var sums: [Int64] = []

    init(sumCount: Int) { self.sumCount = sumCount }

    /// Counts one row for `group` and returns its slot.
    mutating func slot(for group: Int32) -> Int {
        let index = Int(group)
        if index >= slotOfGroup.count {
            slotOfGroup.append(contentsOf: repeatElement(-1, count: index + 1 - slotOfGroup.count))
        }
        var slot = Int(slotOfGroup[index])
        if slot < 0 {
            slot = groups.count
            slotOfGroup[index] = Int32(slot)
            groups.append(group)
            rows.append(0)
            sums.append(contentsOf: repeatElement(0, count: sumCount))
        }
        rows[slot] += 1
        return slot
    }

    /// Adds a value to the unit's sum `sum` in `slot`, saturating (it is clamped later anyway).
    mutating func add(_ value: Int64, slot: Int, sum: Int) {
        let index = slot * sumCount + sum
        let (total, overflow) = sums[index].addingReportingOverflow(value)
        sums[index] = overflow ? (value < 0 ? Int64.min : Int64.max) : total
    }

    /// Forgets the current unit.
    mutating func reset() {
        for group in groups { slotOfGroup[Int(group)] = -1 }
        groups.removeAll(keepingCapacity: true)
        rows.removeAll(keepingCapacity: true)
        sums.removeAll(keepingCapacity: true)
    }
}

/// What an aggregate keeps of each unit's clamped per-group total, beyond a sum.
enum DetailRule {
    /// Every value (a quantile).
    case values
    /// The centred value and its rounded square, summed (a variance).
    case moments(VarianceCentering)
    /// A count per bin `[edges[i], edges[i + 1])`, the last bin closed (a histogram).
    case bins([Int64])

    /// The detail of a group no unit has reached yet.
    var empty: [Int64] {
        switch self {
        case .values: []
        case .moments: [0, 0]
        case .bins(let edges): Array(repeating: 0, count: edges.count - 1)
        }
    }

    /// The bin of `value`, or `nil` outside the edges.
    static func bin(of value: Int64, edges: [Int64]) -> Int? {
        guard let first = edges.first, let last = edges.last, value >= first, value <= last else { return nil }
        if value == last { return edges.count - 2 }
        var low = 0, high = edges.count - 1  // edges[low] <= value < edges[high]
        while high - low > 1 {
            let middle = (low + high) / 2
            if edges[middle] <= value { low = middle } else { high = middle }
        }
        return low
    }
}

/// Totals per group of bounded contributions.
struct GroupTotals {
    let aggregateCount: Int
    let sumCount: Int
    private(set) var distinctUnits: [Int64] = []
    private(set) var rows: [Int64] = []
    private(set) var sums: [Int64] = []
    /// `details[group * aggregateCount + aggregate]`, for the aggregates with a ``DetailRule``.
    private(set) var details: [[Int64]] = []
    private let emptyDetails: [[Int64]]
    private let hasDetails: Bool

    init(aggregateCount: Int, sumCount: Int, detailed: [(aggregate: Int, sum: Int, clamp: ClampBounds, rule: DetailRule)] = []) {
        self.aggregateCount = aggregateCount
        self.sumCount = sumCount
        var empty = [[Int64]](repeating: [], count: aggregateCount)
        for entry in detailed { empty[entry.aggregate] = entry.rule.empty }
        emptyDetails = empty
        hasDetails = !detailed.isEmpty
    }

    var groupCount: Int { distinctUnits.count }

    /// Makes room for `group`.
    mutating func ensure(_ group: Int) {
        guard group >= distinctUnits.count else { return }
        let extra = group + 1 - distinctUnits.count
        distinctUnits.append(contentsOf: repeatElement(0, count: extra))
        rows.append(contentsOf: repeatElement(0, count: extra))
        sums.append(contentsOf: repeatElement(0, count: extra * sumCount))
        // Only queries with a statistic keep details (no cost for the others).
        if hasDetails { for _ in 0..<extra { details.append(contentsOf: emptyDetails) } }
    }

    /// The details of `aggregate` in `group`.
    func detail(group: Int, aggregate: Int) -> [Int64] { details[group * aggregateCount + aggregate] }

    /// Adds one unit's clamped total to a detailed aggregate. The sums cannot overflow for a
    /// module that passed ``ExecutionBounds/problem(with:maxRowsPerUnit:maxJoinRowsPerUnit:)``.
    mutating func addDetail(_ value: Int64, rule: DetailRule, group: Int, aggregate: Int) throws(EngineError) {
        let index = group * aggregateCount + aggregate
        switch rule {
        case .values:
            details[index].append(value)
        case .moments(let centering):
            let centred = centering.centred(value)
            let (sum, overflowSum) = details[index][0].addingReportingOverflow(centred)
            let (squares, overflowSquares) = details[index][1].addingReportingOverflow(centering.square(centred))
            if overflowSum || overflowSquares { throw EngineError("a variance's sums overflow 64 bits; narrow the column's clamping bounds") }
            details[index][0] = sum
            details[index][1] = squares
        case .bins(let edges):
            if let bin = DetailRule.bin(of: value, edges: edges) { details[index][bin] += 1 }
        }
    }

    mutating func addUnit(group: Int) { distinctUnits[group] += 1 }

    mutating func addRows(_ count: Int64, group: Int) throws(EngineError) {
        let (total, overflow) = rows[group].addingReportingOverflow(count)
        if overflow { throw EngineError("a row count overflows 64 bits") }
        rows[group] = total
    }

    mutating func addSum(_ value: Int64, group: Int, sum: Int) throws(EngineError) {
        let index = group * sumCount + sum
        let (total, overflow) = sums[index].addingReportingOverflow(value)
        if overflow { throw EngineError("a sum overflows 64 bits; narrow the column's clamping bounds") }
        sums[index] = total
    }
}

extension BoundedAggregation {
    /// Converts the totals into the public result, groups sorted by key.
    func output(groups: GroupKeyTable, totals: GroupTotals) -> GroupedAggregates {
        var totals = totals
        if groupColumns.isEmpty { totals.ensure(0) }
        var result: [AggregatedGroup] = []
        for group in 0..<totals.groupCount where totals.distinctUnits[group] > 0 || groupColumns.isEmpty {
            let key: [ScalarValue] = groups.key(of: group).enumerated().map { index, value in
                let column = groupColumns[index]
                switch plan.groupBy[index].type {
                // Identifier columns are refused in GROUP BY by the analyzer; stored as text.
                case .text, .email, .phone, .sha256Email, .sha256Phone: return .text(data.dictionaries[column.source][column.column].string(UInt32(value)))
                case .int: return .int(value)
                case .decimal: return .decimal(DecimalValue(scaled: value))
                case .date: return .date(DateValue(daysSinceEpoch: value))
                }
            }
            let values: [AggregateTotal] = plan.aggregates.enumerated().map { index, aggregate in
                switch aggregate.kind {
                case .countRows: .count(totals.rows[group])
                case .countDistinctUnits: .count(totals.distinctUnits[group])
                case .sum: .sum(totals.sums[group * sumCount + sumSlots[index]])
                case .avg: .average(sum: totals.sums[group * sumCount + sumSlots[index]], count: totals.rows[group])
                case .quantile: .values(totals.detail(group: group, aggregate: index).sorted())
                case .variance, .standardDeviation:
                    .moments(centredSum: totals.detail(group: group, aggregate: index)[0],
                             centredSquares: totals.detail(group: group, aggregate: index)[1])
                case .histogram: .bins(totals.detail(group: group, aggregate: index))
                }
            }
            result.append(AggregatedGroup(key: key, distinctUnits: totals.distinctUnits[group], totals: values))
        }
        result.sort { ScalarOrdering.precedes($0.key, $1.key) }
        return GroupedAggregates(aggregates: plan.aggregates, groupBy: plan.groupBy, groups: result)
    }
}

/// A total order on group keys: numbers and dates by value, text by UTF-8 bytes.
enum ScalarOrdering {
    static func precedes(_ a: [ScalarValue], _ b: [ScalarValue]) -> Bool {
        for (x, y) in zip(a, b) {
            let order = compare(x, y)
            if order != 0 { return order < 0 }
        }
        return a.count < b.count
    }

    static func compare(_ x: ScalarValue, _ y: ScalarValue) -> Int {
        switch (x, y) {
        case (.text(let a), .text(let b)):
            return a == b ? 0 : (a.utf8.lexicographicallyPrecedes(b.utf8) ? -1 : 1)
        case (.int(let a), .int(let b)): return a == b ? 0 : (a < b ? -1 : 1)
        case (.decimal(let a), .decimal(let b)): return a == b ? 0 : (a < b ? -1 : 1)
        case (.date(let a), .date(let b)): return a == b ? 0 : (a < b ? -1 : 1)
        default: return 0
        }
    }
}
