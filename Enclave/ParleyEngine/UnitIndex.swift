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
    /// For people resolved over several identifiers, each unit's founding key: the identifier's
    /// priority position (one byte) and its stored value. Empty otherwise.
    let founders: [[UInt8]]

    init(tables: [Table], data: SourceColumns, unitColumns: [Int],
         keep: (_ source: Int, _ row: Int) -> Bool) {
        var unitOfRow: [[Int32]] = []
        var intUnits: [Int64] = []
        var textUnits: TextDictionary?
        var founders: [[UInt8]] = []
        let first = unitColumns[0]
        if tables[0].schema.unitIdentifiers.count > 1 {
            (unitOfRow, founders) = Self.resolvePeople(tables)
        } else if case .text(let column) = tables[0].columns[first] {
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
        let unitCount = founders.isEmpty ? (textUnits?.count ?? intUnits.count) : founders.count
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
        self.founders = founders
    }

    /// People over several identifiers, in priority order (docs/privacy.md, "Matching on several
    /// identifiers"), across every source at once:
    ///
    /// 1. each distinct value of the first identifier (say email) is one person;
    /// 2. at each later identifier (say phone), a row not yet placed joins the person that the
    ///    already placed rows sharing its value belong to, if they all belong to one; if none do,
    ///    or they belong to several (a shared household number), the unplaced rows sharing that
    ///    value become one new person. A later identifier never merges two people.
    ///
    /// Every row with any usable identifier is placed in exactly one person, and the outcome
    /// depends on the data only, not on row order, the query's filter or which side is read first.
    /// The empty value (an unusable field) never matches.
    static func resolvePeople(_ tables: [Table]) -> (unitOfRow: [[Int32]], founders: [[UInt8]]) {
        let levels = tables[0].schema.unitIdentifiers.count
        var person = tables.map { [Int32](repeating: -1, count: $0.rowCount) }
        var founders: [[UInt8]] = []
        for level in 0 ..< levels {
            // One dictionary of this identifier's values over every source.
            var merged = TextDictionary()
            var valueOfRow: [[Int32]] = []
            for table in tables {
                let name = table.schema.unitIdentifiers[level]
                guard let index = table.schema.columnIndex(named: name), case .text(let column) = table.columns[index] else {
                    valueOfRow.append([Int32](repeating: -1, count: table.rowCount))
                    continue
                }
                var remap = [Int32](repeating: -1, count: column.dictionary.count)
                for code in 0 ..< column.dictionary.count {
                    column.dictionary.withBytes(UInt32(code)) { bytes in
                        guard !bytes.isEmpty else { return }
                        var isNew = false
                        remap[code] = Int32(bitPattern: merged.intern(bytes, isNew: &isNew))
                    }
                }
                valueOfRow.append(column.codes.map { remap[Int($0)] })
            }
            // The person already placed rows give each value: -1 none, -2 several.
            var owner = [Int32](repeating: -1, count: merged.count)
            for source in tables.indices {
                for (row, value) in valueOfRow[source].enumerated() where value >= 0 {
                    let placed = person[source][row]
                    guard placed >= 0 else { continue }
                    let current = owner[Int(value)]
                    if current == -1 { owner[Int(value)] = placed } else if current != placed { owner[Int(value)] = -2 }
                }
            }
            var founded = [Int32](repeating: -1, count: merged.count)
            for source in tables.indices {
                for (row, value) in valueOfRow[source].enumerated() where value >= 0 && person[source][row] < 0 {
                    let known = owner[Int(value)]
                    if known >= 0 {
                        person[source][row] = known
                        continue
                    }
                    if founded[Int(value)] < 0 {
                        founded[Int(value)] = Int32(founders.count)
                        founders.append([UInt8(level)] + merged.withBytes(UInt32(value)) { Array($0) })
                    }
                    person[source][row] = founded[Int(value)]
                }
            }
        }
        return (person, founders)
    }

    /// Feeds the canonical bytes of a unit (its text, or its 8 little-endian bytes) to a hasher.
    func combine(unit: Int, into hasher: inout SipHasher) {
        if !founders.isEmpty {
            hasher.combine(Int64(founders[unit].count))
            founders[unit].withUnsafeBufferPointer { hasher.combine($0) }
        } else if let textUnits {
            hasher.combine(Int64(textUnits.withBytes(UInt32(unit)) { $0.count }))
            textUnits.withBytes(UInt32(unit)) { hasher.combine($0) }
        } else {
            hasher.combine(intUnits[unit])
        }
    }
}
