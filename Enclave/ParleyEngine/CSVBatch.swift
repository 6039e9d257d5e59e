import ParleyAnalysis

/// The fields of up to ``capacity`` records, split but not yet converted, stored a column at a
/// time: field `f` of record `r` lies at `starts[f * capacity + r] ..< ends[f * capacity + r]`.
struct RecordBatch {
    static let capacity = 256
    /// Fields per record.
    let width: Int
    var starts: [Int]
    var ends: [Int]
    /// Records in the batch.
    var count = 0
    /// Scratch for interning a column.
    var probes = TextDictionary.ProbeScratch()

    init(width: Int) {
        self.width = width
        starts = Array(repeating: 0, count: width * Self.capacity)
        ends = Array(repeating: 0, count: width * Self.capacity)
    }
}

extension Loading {
    /// Splits up to ``RecordBatch/capacity`` records into `batch`.
    ///
    /// - Throws: At any fault, and at a field with `""` escapes (the record-at-a-time path
    ///   handles those). The caller then rereads the batch a record at a time, which finds the
    ///   first fault in reading order and words it for the uploader, so the errors thrown here
    ///   are never shown.
    mutating func readBatch(_ batch: inout RecordBatch) throws(CSVError) {
        batch.count = 0
        let width = batch.width
        while batch.count < RecordBatch.capacity, !reader.atEnd {
            row += 1
            if row - 1 > limits.maxRows { throw fail(nil, "over the row limit") }
            var position = 0
            while true {
                guard position < width else { throw fail(nil, "too many fields") }
                let field = try field(column: fileToSchema[position])
                if field.hasEscapes { throw fail(nil, "escaped quotes") }
                batch.starts[position * RecordBatch.capacity + batch.count] = field.content.lowerBound
                batch.ends[position * RecordBatch.capacity + batch.count] = field.content.upperBound
                position += 1
                if field.terminator != .comma { break }
            }
            guard position == width else { throw fail(nil, "too few fields") }
            batch.count += 1
        }
    }

    /// Converts a split batch into the columns, a column at a time; `false` at the first bad
    /// value (the columns may then hold part of the batch).
    mutating func convert(_ batch: inout RecordBatch) -> Bool {
        let count = batch.count
        for position in 0 ..< batch.width {
            let column = fileToSchema[position]
            let target = slot[column]
            let offset = position * RecordBatch.capacity
            let succeeded = batch.starts.withUnsafeBufferPointer { starts in
                batch.ends.withUnsafeBufferPointer { ends in
                    let starts = UnsafeBufferPointer(rebasing: starts[offset ..< offset + count])
                    let ends = UnsafeBufferPointer(rebasing: ends[offset ..< offset + count])
                    if types[column] == .text {
                        var codes: [UInt32] = []
                        swap(&codes, &texts[target].codes)
                        defer { swap(&codes, &texts[target].codes) }
                        return texts[target].dictionary.internShared(starts: starts, ends: ends, scratch: &batch.probes,
                                                                     into: &codes, isValid: isValidUTF8)
                    }
                    return convertNumbers(starts: starts, ends: ends, type: types[column], target: target)
                }
            }
            if !succeeded { return false }
        }
        return true
    }

    private mutating func convertNumbers(starts: UnsafeBufferPointer<Int>, ends: UnsafeBufferPointer<Int>,
                                         type: ColumnType, target: Int) -> Bool {
        let input = reader.bytes
        for index in starts.indices {
            let bytes = UnsafeBufferPointer(rebasing: input[starts[index] ..< ends[index]])
            let value: Int64?
            switch type {
            case .int: value = parseInt(bytes)
            case .decimal: value = DecimalValue(utf8: bytes)?.scaled
            default: value = DateValue(utf8: bytes)?.daysSinceEpoch
            }
            guard let value else { return false }
            numbers[target].append(value)
        }
        return true
    }

    /// Sizes the column builders for the whole upload, so they do not grow by doubling (each
    /// doubling copies and touches fresh memory). The row count is estimated from the first
    /// batch (`records` records in `bytes` bytes) and the upload's size (for a streamed upload,
    /// the size its uploader announced: a hint, which if wrong costs only growth or unused
    /// room, both counted against the worker's memory) with a tenth to spare, and capped at the row
    /// limit; room reserved in an array but never used is never touched, so costs no memory. A
    /// text column whose first batch was almost all distinct (identifiers) gets that much room
    /// in its dictionary too: never more than an upload of that many distinct values needs
    /// anyway, and ``TextDictionary/trimCapacity()`` gives back what was not used.
    mutating func reserveCapacity(afterFirstBatchOf records: Int, bytes: Int) {
        // The rest of the upload if its size is known, else the rest of this piece.
        let read = consumedBytes + reader.position
        let remaining = (expectedBytes ?? (consumedBytes + reader.bytes.count)) - read
        guard records == RecordBatch.capacity, bytes > 0, remaining > 0 else { return }
        let expected = Double(remaining) / Double(bytes) * Double(records)
        // Room is reserved only up to `reserveLimit` (the worker's memory for this upload): a
        // size hint that is wrong, or a lie, must not reserve what the worker does not have.
        let distinct = reservesDictionaries ? texts.indices.filter { texts[$0].dictionary.isMostlyDistinct(over: records) } : []
        let perRow = numbers.count * MemoryLayout<Int64>.stride + texts.count * MemoryLayout<UInt32>.stride
            + distinct.count * TextDictionary.bytesPerReservedEntry
        let affordable = reserveLimit / max(1, perRow)
        let rows = min(limits.maxRows, records + Int(expected * 1.1), affordable)
        for index in numbers.indices { numbers[index].reserveCapacity(rows) }
        for index in texts.indices {
            texts[index].codes.reserveCapacity(rows)
        }
        for index in distinct {
            // Without the spare tenth: the slot table is zero-filled, so its room is not free.
            texts[index].dictionary.reserveCapacity(min(limits.maxRows, records + Int(expected), affordable))
        }
    }

    /// The number of values in each column builder (text columns first, then numeric).
    func columnLengths() -> [Int] {
        texts.map(\.codes.count) + numbers.map(\.count)
    }

    /// Drops values past `lengths` (from ``columnLengths()``).
    mutating func truncateColumns(to lengths: [Int]) {
        for index in texts.indices { texts[index].codes.removeSubrange(lengths[index]...) }
        for index in numbers.indices { numbers[index].removeSubrange(lengths[texts.count + index]...) }
    }
}

