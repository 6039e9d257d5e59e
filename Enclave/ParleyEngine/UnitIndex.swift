import ParleyAnalysis

/// Every source's rows bucketed by privacy unit, with units numbered densely across sources.
///
/// Unit ids come from the first source (its text dictionary codes, or its distinct integers in
/// order of appearance); a unit of a later source that the first lacks cannot survive an inner
/// join and is dropped. Rows are kept only if they pass the source's pushed-down condition.
/// Bucketing is a counting sort into contiguous arrays (no hash table per row for text units).
struct UnitIndex {
    /// Number of unit ids.
    let unitCount: Int
    /// `offsets[source][unit] ..< offsets[source][unit + 1]` indexes `rows[source]`.
    let offsets: [[Int32]]
    /// Row numbers of each source, grouped by unit.
    let rows: [[Int32]]
    /// For integer units, the value of each unit id (for hashing); empty for text units.
    let intUnits: [Int64]
    /// For text units, the first source's dictionary (unit id = code).
    let textUnits: TextDictionary?

    init(tables: [Table], data: SourceColumns, unitColumns: [Int],
         keep: (_ source: Int, _ row: Int) -> Bool) {
        var unitOfRow: [[Int32]] = []
        var intUnits: [Int64] = []
        var textUnits: TextDictionary?
        let first = unitColumns[0]
        if case .text(let column) = tables[0].columns[first] {
            textUnits = column.dictionary
            unitOfRow.append(column.codes.map { Int32(bitPattern: $0) })
            for (source, table) in tables.enumerated().dropFirst() {
                guard case .text(let other) = table.columns[unitColumns[source]] else { unitOfRow.append([]); continue }
                let remap = column.dictionary.codes(of: other.dictionary)
                unitOfRow.append(other.codes.map { remap[Int($0)] })
            }
        } else {
            var ids: [Int64: Int32] = [:]
            for (source, table) in tables.enumerated() {
                let values = data.numbers[source][unitColumns[source]]
                var mapped = [Int32](repeating: -1, count: table.rowCount)
                for (row, value) in values.enumerated() {
                    if source == 0 {
                        if let id = ids[value] {
                            mapped[row] = id
                        } else {
                            let id = Int32(intUnits.count)
                            ids[value] = id
                            intUnits.append(value)
                            mapped[row] = id
                        }
                    } else {
                        mapped[row] = ids[value] ?? -1
                    }
                }
                unitOfRow.append(mapped)
            }
        }
        let unitCount = textUnits?.count ?? intUnits.count
        var offsets: [[Int32]] = []
        var rows: [[Int32]] = []
        for (source, units) in unitOfRow.enumerated() {
            var counts = [Int32](repeating: 0, count: unitCount + 1)
            var kept = [Bool](repeating: false, count: units.count)
            for (row, unit) in units.enumerated() where unit >= 0 && keep(source, row) {
                kept[row] = true
                counts[Int(unit) + 1] += 1
            }
            for unit in 0..<unitCount { counts[unit + 1] += counts[unit] }
            var next = counts
            var sorted = [Int32](repeating: 0, count: Int(counts[unitCount]))
            for (row, unit) in units.enumerated() where kept[row] {
                sorted[Int(next[Int(unit)])] = Int32(row)
                next[Int(unit)] += 1
            }
            offsets.append(counts)
            rows.append(sorted)
        }
        self.unitCount = unitCount
        self.offsets = offsets
        self.rows = rows
        self.intUnits = intUnits
        self.textUnits = textUnits
    }

    /// Feeds the canonical bytes of a unit (its text, or its 8 little-endian bytes) to a hasher.
    func combine(unit: Int, into hasher: inout SipHasher) {
        if let textUnits {
            hasher.combine(Int64(textUnits.withBytes(UInt32(unit)) { $0.count }))
            textUnits.withBytes(UInt32(unit)) { hasher.combine($0) }
        } else {
            hasher.combine(intUnits[unit])
        }
    }
}
