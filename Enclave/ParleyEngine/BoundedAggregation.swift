import ParleyAnalysis

/// One execution of a plan: the join-by-unit loop and per-unit contribution bounding.
struct BoundedAggregation {
    let plan: QueryPlan
    let tables: [Table]
    let bounds: ContributionBounds
    let key: BoundingKey
    let maxJoinedRows: Int
    let data: SourceColumns
    /// `(source, column)` of each GROUP BY column, and whether it is text.
    let groupColumns: [(source: Int, column: Int, isText: Bool)]
    /// For each SUM/AVG aggregate, `(source, column)`; other aggregates have `nil`.
    let summed: [(source: Int, column: Int)?]
    let sumSlots: [Int]
    let sumCount: Int
    /// The clamping bounds of each SUM/AVG slot.
    let sumClamps: [(sum: Int, clamp: ClampBounds)]

    init(plan: QueryPlan, tables: [Table], bounds: ContributionBounds, key: BoundingKey, maxJoinedRows: Int) {
        self.plan = plan
        self.maxJoinedRows = maxJoinedRows
        self.tables = tables
        self.bounds = bounds
        self.key = key
        data = SourceColumns(tables)
        groupColumns = plan.groupBy.map { column in
            (column.source, BoundPredicate.columnIndex(column, tables), column.type.isStoredAsText)
        }
        summed = plan.aggregates.map { aggregate in
            guard aggregate.kind != .countRows, aggregate.kind != .countDistinctUnits, let column = aggregate.column else { return nil }
            return (column.source, BoundPredicate.columnIndex(column, tables))
        }
        var slots: [Int] = []
        var next = 0
        for entry in summed {
            slots.append(entry == nil ? -1 : next)
            if entry != nil { next += 1 }
        }
        sumSlots = slots
        sumCount = next
        sumClamps = zip(plan.aggregates, slots).compactMap { aggregate, slot in
            guard slot >= 0, aggregate.kind == .sum || aggregate.kind == .avg, let clamp = aggregate.bounds else { return nil }
            return (slot, clamp)
        }
        detailed = zip(plan.aggregates, slots).enumerated().compactMap { index, pair in
            let (aggregate, slot) = pair
            guard slot >= 0 else { return nil }
            let clamp = aggregate.bounds ?? ClampBounds(lower: .min, upper: .max)
            switch aggregate.kind {
            case .quantile: return (index, slot, clamp, .values)
            case .variance, .standardDeviation:
                guard let centering = aggregate.centering else { return nil }
                return (index, slot, clamp, .moments(centering))
            case .histogram: return (index, slot, clamp, .bins(aggregate.binEdges))
            default: return nil
            }
        }
    }

    /// The aggregates that keep more than a total per group: which aggregate, its sum slot (the
    /// unit's per-group total, clamped by `clamp`), and what is kept of it.
    let detailed: [(aggregate: Int, sum: Int, clamp: ClampBounds, rule: DetailRule)]

    mutating func run() throws(EngineError) -> GroupedAggregates {
        // Split the condition: conjuncts reading at most one source are applied before the join.
        var pushed: [[BoundPredicate]] = Array(repeating: [], count: tables.count)
        var residual: [BoundPredicate] = []
        if let filter = plan.filter {
            let bound = BoundPredicate.bind(filter, tables, data)
            let conjuncts: [BoundPredicate] = if case .and(let terms) = bound { terms } else { [bound] }
            for conjunct in conjuncts {
                let sources = conjunct.sources
                if sources.count <= 1 { pushed[sources.first ?? 0].append(conjunct) } else { residual.append(conjunct) }
            }
        }
        let sourceCount = tables.count
        let data = self.data
        var probe = [Int](repeating: 0, count: sourceCount)
        let units = UnitIndex(tables: tables, data: data, unitColumns: tables.map(\.schema.privacyUnitIndex)) { source, row in
            if pushed[source].isEmpty { return true }
            probe[source] = row
            return probe.withUnsafeBufferPointer { rows in pushed[source].allSatisfy { $0.evaluate(rows, data) } }
        }
        let residualCondition: BoundPredicate? = residual.isEmpty ? nil : .and(residual)

        // The GROUP BY and summed values of every kept row, in unit order. Gathered here in
        // loops of independent loads, whose cache misses overlap; read row by row in the join
        // loop below, each would be waited for in turn.
        let groupValues: [[Int64]] = groupColumns.map { column in
            if column.isText {
                let codes = data.codes[column.source][column.column]
                return units.rows[column.source].map { Int64(codes[Int($0)]) }
            }
            let numbers = data.numbers[column.source][column.column]
            return units.rows[column.source].map { numbers[Int($0)] }
        }
        let summedValues: [[Int64]] = summed.map { entry in
            guard let entry else { return [] }
            let numbers = data.numbers[entry.source][entry.column]
            return units.rows[entry.source].map { numbers[Int($0)] }
        }

        var totals = GroupTotals(aggregateCount: plan.aggregates.count, sumCount: sumCount, detailed: detailed)
        var groups = GroupKeyTable(width: groupColumns.count)
        var partials = UnitPartials(sumCount: sumCount)
        var rows = [Int](repeating: 0, count: sourceCount)
        var cursor = [Int](repeating: 0, count: sourceCount)
        var keyBuffer = [Int64](repeating: 0, count: max(1, groupColumns.count))

        var joinedRows = 0
        // In a join, each unit's rows per source are cut before the product is formed.
        let rowCap = sourceCount > 1 ? max(1, bounds.maxJoinRowsPerUnit) : Int.max
        var end = [Int](repeating: 0, count: sourceCount)
        for unit in 0..<units.unitCount {
            var combinations = 1
            for source in 0..<sourceCount {
                let first = Int(units.offsets[source][unit])
                let count = min(Int(units.offsets[source][unit + 1]) - first, rowCap)
                end[source] = first + count
                let (product, overflow) = combinations.multipliedReportingOverflow(by: count)
                combinations = overflow ? Int.max : product
            }
            if combinations == 0 { continue }
            let (total, overflow) = joinedRows.addingReportingOverflow(combinations)
            guard !overflow, total <= maxJoinedRows else {
                throw EngineError("the join produces more than \(maxJoinedRows) row combinations; some privacy unit has very many rows in every joined dataset")
            }
            joinedRows = total
            for source in 0..<sourceCount { cursor[source] = Int(units.offsets[source][unit]) }
            // Odometer over the product of this unit's rows in every source.
            while true {
                for source in 0..<sourceCount { rows[source] = Int(units.rows[source][cursor[source]]) }
                let passes = residualCondition.map { condition in
                    rows.withUnsafeBufferPointer { condition.evaluate($0, data) }
                } ?? true
                if passes {
                    for (index, column) in groupColumns.enumerated() {
                        keyBuffer[index] = groupValues[index][cursor[column.source]]
                    }
                    let group = keyBuffer.withUnsafeBufferPointer { groups.id(of: $0) }
                    let slot = partials.slot(for: group)
                    for (index, entry) in summed.enumerated() {
                        guard let entry else { continue }
                        partials.add(summedValues[index][cursor[entry.source]], slot: slot, sum: sumSlots[index])
                    }
                }
                var source = sourceCount - 1
                while source >= 0 {
                    cursor[source] += 1
                    if cursor[source] < end[source] { break }
                    cursor[source] = Int(units.offsets[source][unit])
                    source -= 1
                }
                if source < 0 { break }
            }
            try finishUnit(unit, units: units, partials: &partials, groups: groups, totals: &totals)
        }
        return output(groups: groups, totals: totals)
    }

    /// Bounds one unit's partial results and adds them to the totals.
    func finishUnit(_ unit: Int, units: UnitIndex, partials: inout UnitPartials, groups: GroupKeyTable,
                    totals: inout GroupTotals) throws(EngineError) {
        defer { partials.reset() }
        if partials.groups.count <= bounds.maxGroupsPerUnit {
            for slot in 0 ..< partials.groups.count { try add(slot, of: partials, to: &totals) }
            return
        }
        var kept = Array(0..<partials.groups.count)
        let ranks = partials.groups.map { rank(unit: unit, group: Int($0), units: units, groups: groups) }
        kept.sort { (ranks[$0], $0) < (ranks[$1], $1) }
        kept.removeLast(kept.count - bounds.maxGroupsPerUnit)
        for slot in kept { try add(slot, of: partials, to: &totals) }
    }

    /// Adds one kept group of a unit to the totals, its row count and sums clamped.
    private func add(_ slot: Int, of partials: UnitPartials, to totals: inout GroupTotals) throws(EngineError) {
        let group = Int(partials.groups[slot])
        totals.ensure(group)
        totals.addUnit(group: group)
        try totals.addRows(min(partials.rows[slot], bounds.maxRowsPerUnit), group: group)
        for (sum, clamp) in sumClamps {
            try totals.addSum(clamp.clamp(partials.sums[slot * sumCount + sum]), group: group, sum: sum)
        }
        for entry in detailed {
            try totals.addDetail(entry.clamp.clamp(partials.sums[slot * sumCount + entry.sum]), rule: entry.rule,
                                 group: group, aggregate: entry.aggregate)
        }
    }

    /// The keyed hash of a unit and a group's canonical key: lower ranks are kept.
    func rank(unit: Int, group: Int, units: UnitIndex, groups: GroupKeyTable) -> UInt64 {
        var hasher = SipHasher(key: key)
        units.combine(unit: unit, into: &hasher)
        for (index, value) in groups.key(of: group).enumerated() {
            let column = groupColumns[index]
            if column.isText {
                let dictionary = data.dictionaries[column.source][column.column]
                dictionary.withBytes(UInt32(value)) { bytes in
                    hasher.combine(Int64(bytes.count))
                    hasher.combine(bytes)
                }
            } else {
                hasher.combine(value)
            }
        }
        return hasher.finalize()
    }
}
