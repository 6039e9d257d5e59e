import ParleyAnalysis

/// Caps applied while loading an upload; exceeding any rejects the whole upload.
public struct CSVLimits: Hashable, Sendable {
    /// Maximum size of the CSV in bytes.
    public var maxBytes: Int
    /// Maximum number of data rows (the header excluded).
    public var maxRows: Int
    /// Maximum length of one field in bytes (before `""` unescaping).
    public var maxFieldBytes: Int

    /// Creates limits; defaults: 2 GiB, ``ExecutionBounds/maxRowsPerDataset`` rows (50 million:
    /// the seal-time overflow proof relies on it), 4 KiB per field.
    public init(maxBytes: Int = 2 << 30, maxRows: Int = ExecutionBounds.maxRowsPerDataset, maxFieldBytes: Int = 4096) {
        self.maxBytes = maxBytes
        self.maxRows = maxRows
        self.maxFieldBytes = maxFieldBytes
    }

    /// The defaults.
    public static let standard = CSVLimits()
}

/// Why an upload was rejected: the row and column at fault and what is wrong.
///
/// It never quotes a field's contents (a value typed into the wrong column may be anyone's
/// data): only the row, the declared column and the type expected.
///
/// Rows are numbered from 1 and the header is row 1, so data row `n` is row `n + 1`: the number
/// a spreadsheet shows. (A quoted field may span lines; rows count records, not lines.)
public struct CSVError: Error, Hashable, Sendable, CustomStringConvertible {
    /// 1-based record number; the header is row 1 (0 when the whole file is at fault).
    public var row: Int
    /// The declared column at fault, if one is.
    public var column: String?
    /// A human explanation of what is wrong and what to do.
    public var reason: String

    /// Creates an error.
    public init(row: Int, column: String?, reason: String) {
        self.row = row
        self.column = column
        self.reason = reason
    }

    /// `row R, column 'c': reason`.
    public var description: String {
        let place = column.map { "row \(row), column '\($0)'" } ?? "row \(row)"
        return "\(place): \(reason)"
    }
}

/// Loads a dataset upload (CSV with a header row) into a columnar ``Table`` typed by the
/// dataset's schema.
///
/// The header must name every declared column exactly once, in any order. Values: `int` is a
/// signed 64-bit integer (`-12`), `decimal` has at most ``DecimalValue/scale`` fractional
/// digits (`12.5`, stored as ten-thousandths), `date` is `YYYY-MM-DD`, `text` is any valid UTF-8.
/// Numbers and dates must not be empty or padded with spaces. Any bad row rejects the whole
/// upload: nothing is kept.
public enum CSVLoader {
    /// Parses and types the whole upload.
    ///
    /// - Parameters:
    ///   - bytes: The CSV file.
    ///   - schema: The dataset's declaration.
    ///   - limits: Caps on size, rows and field length.
    /// - Throws: ``CSVError`` naming the first bad row and column.
    public static func load(_ bytes: [UInt8], schema: DatasetSchema, limits: CSVLimits = .standard) throws(CSVError) -> Table {
        try loadReporting(bytes, schema: schema, limits: limits).table
    }

    /// Parses and types the whole upload, normalising its identifier columns (see
    /// ``IdentifierReport``): rows with unusable identifiers are counted and reported, and rows
    /// with no usable identifier of a person are left out, so they can never be matched.
    ///
    /// - Throws: ``CSVError`` naming the first bad row and column.
    public static func loadReporting(_ bytes: [UInt8], schema: DatasetSchema,
                                     limits: CSVLimits = .standard) throws(CSVError) -> (table: Table, identifiers: IdentifierReport) {
        let (table, report) = try IdentifierColumns.normalise(try loadRaw(bytes, schema: schema, limits: limits))
        return (table, report)
    }

    static func loadRaw(_ bytes: [UInt8], schema: DatasetSchema, limits: CSVLimits) throws(CSVError) -> Table {
        guard bytes.count <= limits.maxBytes else {
            throw CSVError(row: 0, column: nil, reason: "the upload is \(bytes.count) bytes; the limit is \(limits.maxBytes)")
        }
        // One piece, the whole upload: the same code a streamed upload runs a piece at a time.
        var loading = Loading(schema: schema, limits: limits, expectedBytes: bytes.count)
        try loading.consume(bytes, first: true, final: true)
        return try loading.finishTable()
    }
}

/// The state of one load: builders per declared column and the file-to-schema column map. It
/// is fed the upload in pieces that each end at a record's end (``CSVStreamLoader`` finds the
/// cuts; a whole upload is one piece), and keeps only the columns between pieces.
///
/// Records are read in batches (see ``RecordBatch``): split into fields first, then converted
/// a column at a time. A batch with anything unusual in it (a fault, a quoted field with `""`)
/// is read again a record at a time by ``readRecord()``, which reports the first fault in
/// reading order.
///
/// Text values are interned as references into the piece (no copy per distinct value); at the
/// end of a piece they are copied out into the dictionaries' own storage, except at the end of
/// the last piece when the distinct text is at least half of it: then the table keeps sharing
/// the piece's bytes (at most twice the text it holds, and no copy).
struct Loading {
    /// Over the current piece while it is read; empty between pieces.
    var reader = CSVReader(UnsafeBufferPointer(start: nil, count: 0), skippingByteOrderMark: false)
    let schema: DatasetSchema
    /// The declared type of each column (read per field, so kept apart from the schema).
    let types: [ColumnType]
    let limits: CSVLimits
    var scratch: [UInt8] = []
    var row = 1
    /// For each field position in the file, the declared column index.
    var fileToSchema: [Int] = []
    var numbers: [[Int64]]
    var texts: [TextColumn]
    /// For each declared column, its index in `numbers` or `texts`.
    var slot: [Int] = []
    var headerRead = false
    /// Whether the column builders were sized (once, after the first full batch).
    var sized = false
    /// Bytes of the pieces read before the current one.
    var consumedBytes = 0
    /// The whole upload's size if known (a hint: it only sizes the column builders).
    let expectedBytes: Int?
    /// Most bytes ``reserveCapacity(afterFirstBatchOf:bytes:)`` may reserve ahead.
    var reserveLimit = Int.max
    /// Whether a text column whose first batch is all distinct gets dictionary room for the
    /// whole upload. Its slot table is zero-filled, so the room is touched memory: worth it for
    /// a whole upload already in memory, not for a stream whose first batch may mislead (a
    /// column of 20,000 people over a million rows looks all distinct at first); a stream's
    /// dictionaries get room piece by piece instead (``reserveDistinctDictionaries()``).
    var reservesDictionaries = true

    init(schema: DatasetSchema, limits: CSVLimits, expectedBytes: Int?) {
        self.schema = schema
        self.limits = limits
        self.expectedBytes = expectedBytes
        // Identifier columns are read as text, then normalised per distinct value at the end.
        types = schema.columns.map(\.type.storage)
        var numberCount = 0, textCount = 0
        for column in schema.columns {
            if column.type.isStoredAsText { slot.append(textCount); textCount += 1 } else { slot.append(numberCount); numberCount += 1 }
        }
        numbers = Array(repeating: [], count: numberCount)
        texts = (0 ..< textCount).map { _ in TextColumn(dictionary: TextDictionary()) }
    }

    func fail(_ column: Int?, _ reason: String) -> CSVError {
        CSVError(row: row, column: column.map { schema.columns[$0].name }, reason: reason)
    }

    mutating func field(column: Int?) throws(CSVError) -> CSVReader.Field {
        let field: CSVReader.Field
        do throws(CSVReader.Malformed) {
            field = try reader.nextField()
        } catch {
            throw fail(column, error.reason)
        }
        if field.content.count > limits.maxFieldBytes {
            throw fail(column, "the field is longer than the limit of \(limits.maxFieldBytes) bytes")
        }
        return field
    }

    /// Reads one piece: whole records (the header first, in the first piece). A piece that is
    /// not `final` must end at a record's end.
    ///
    /// - Parameter first: The upload's first piece (a byte order mark may open it).
    /// - Parameter count: How many of `piece`'s bytes to read (all by default; the rest is the
    ///   start of a record the next piece completes).
    mutating func consume(_ piece: [UInt8], count: Int? = nil, first: Bool, final: Bool) throws(CSVError) {
        let count = count ?? piece.count
        for index in texts.indices { texts[index].dictionary.share(piece) }
        var failure: CSVError?
        piece.withUnsafeBufferPointer { whole in
            let buffer = UnsafeBufferPointer(rebasing: whole[..<count])
            reader = CSVReader(buffer, skippingByteOrderMark: first)
            do throws(CSVError) {
                if !headerRead {
                    try readHeader()
                    headerRead = true
                }
                try readRecords()
            } catch {
                failure = error
            }
            reader = CSVReader(UnsafeBufferPointer(start: nil, count: 0), skippingByteOrderMark: false)
        }
        consumedBytes += count
        if let failure { throw failure }
        let sharedBytes = texts.reduce(0) { $0 + $1.dictionary.sharedByteCount }
        if !final || sharedBytes * 2 < count {
            for index in texts.indices { texts[index].dictionary.copyOutShared() }
        }
        if !final { reserveDistinctDictionaries() }
    }

    /// For a stream, after each piece: a text column still almost all distinct after every row
    /// read so far (identifiers) gets dictionary room for the rows the announced size projects,
    /// so its slot table does not grow (rehash every entry, zero a fresh table) by doubling.
    /// Grounded in what was read, whatever the hint says: at most eight times the entries held
    /// now, and only what fits in ``reserveLimit``; ``TextDictionary/trimCapacity()`` gives back
    /// a table far larger than needed. Profiled at 2M rows, the doublings were a tenth of an
    /// upload's time.
    mutating func reserveDistinctDictionaries() {
        guard !reservesDictionaries, let expected = expectedBytes, consumedBytes > 0, expected > consumedBytes else { return }
        let rows = rowsRead
        guard rows >= RecordBatch.capacity else { return }
        var free = reserveLimit - memoryBytes
        for index in texts.indices {
            let held = texts[index].dictionary.count
            guard texts[index].dictionary.isMostlyDistinct(over: rows) else { continue }
            let projected = Int(Double(held) * Double(expected) / Double(consumedBytes))
            let entries = min(projected, held * 8, limits.maxRows, held + max(0, free) / TextDictionary.bytesPerReservedEntry)
            guard entries > held else { continue }
            let before = texts[index].dictionary.memoryBytes
            texts[index].dictionary.reserveCapacity(entries)
            free -= texts[index].dictionary.memoryBytes - before
        }
    }

    mutating func readRecords() throws(CSVError) {
        var batch = RecordBatch(width: fileToSchema.count)
        while !reader.atEnd {
            let position = reader.position, firstRow = row
            let lengths = columnLengths()
            if (try? readBatch(&batch)) != nil, convert(&batch) {
                if !sized, batch.count == RecordBatch.capacity {
                    sized = true
                    reserveCapacity(afterFirstBatchOf: batch.count, bytes: reader.position - position)
                }
                continue
            }
            reader.position = position
            row = firstRow
            truncateColumns(to: lengths)
            for _ in 0 ..< RecordBatch.capacity where !reader.atEnd {
                try readOneRecord()
            }
        }
    }

    /// The table, once every piece is read.
    mutating func finishTable() throws(CSVError) -> Table {
        for index in texts.indices { texts[index].dictionary.trimCapacity() }
        var columns: [ColumnData] = []
        for (index, column) in schema.columns.enumerated() {
            columns.append(column.type.isStoredAsText ? .text(texts[slot[index]]) : .numbers(numbers[slot[index]]))
        }
        do throws(EngineError) {
            return try Table(schema: schema, columns: columns)
        } catch {
            throw CSVError(row: 0, column: nil, reason: error.reason)
        }
    }

    /// Data rows read so far.
    var rowsRead: Int { row - 1 }

    /// Bytes the column builders hold (their capacity).
    var memoryBytes: Int {
        numbers.reduce(0) { $0 + $1.capacity * MemoryLayout<Int64>.stride }
            + texts.reduce(0) { $0 + $1.codes.capacity * MemoryLayout<UInt32>.stride + $1.dictionary.memoryBytes }
    }

    /// Bytes the column builders have filled (their length, not capacity): what a projection
    /// of the whole upload's needs scales up.
    var usedBytes: Int {
        numbers.reduce(0) { $0 + $1.count * MemoryLayout<Int64>.stride }
            + texts.reduce(0) { $0 + $1.codes.count * MemoryLayout<UInt32>.stride + $1.dictionary.usedBytes }
    }

    /// The largest single array among the builders.
    var largestArrayBytes: Int {
        max(numbers.map { $0.capacity * MemoryLayout<Int64>.stride }.max() ?? 0,
            texts.map { max($0.codes.capacity * MemoryLayout<UInt32>.stride, $0.dictionary.largestArrayBytes) }.max() ?? 0)
    }

    mutating func readHeader() throws(CSVError) {
        guard !reader.atEnd else {
            throw fail(nil, "the upload is empty; it needs a header row naming the columns: \(schema.columns.map(\.name).joined(separator: ","))")
        }
        var seen = Set<Int>()
        while true {
            let field = try field(column: nil)
            let input = reader.bytes
            var local: [UInt8] = []
            swap(&local, &scratch)
            defer { swap(&local, &scratch) }
            let name = try CSVReader.withContent(of: field, in: input, scratch: &local) { bytes throws(CSVError) in
                guard let text = validUTF8(bytes) else { throw fail(nil, "the header is not valid UTF-8") }
                return text
            }
            guard let index = schema.columnIndex(named: name) else {
                // The field is not quoted: a file without a header would put a data value here.
                throw fail(nil, "field \(fileToSchema.count + 1) of the header is not a column that dataset '\(schema.name)' declares; its columns are \(schema.columns.map(\.name).joined(separator: ", "))")
            }
            guard seen.insert(index).inserted else { throw fail(index, "the header names this column twice") }
            fileToSchema.append(index)
            if field.terminator != .comma { break }
        }
        if let missing = schema.columns.indices.first(where: { !seen.contains($0) }) {
            throw fail(missing, "the header lacks this declared column; add it")
        }
    }

    /// Reads one record, counting it against the row limit.
    mutating func readOneRecord() throws(CSVError) {
        row += 1
        if row - 1 > limits.maxRows {
            throw fail(nil, "the upload has more than \(limits.maxRows) data rows")
        }
        try readRecord()
    }

    mutating func readRecord() throws(CSVError) {
        var position = 0
        while true {
            guard position < fileToSchema.count else {
                throw fail(nil, "the row has more than \(fileToSchema.count) fields; quote fields that contain commas")
            }
            let column = fileToSchema[position]
            let field = try field(column: column)
            try store(field, column: column)
            position += 1
            if field.terminator != .comma { break }
        }
        if position < fileToSchema.count {
            throw fail(fileToSchema[position], "the row ends before this column: it has \(position) of \(fileToSchema.count) fields")
        }
    }

    mutating func store(_ field: CSVReader.Field, column: Int) throws(CSVError) {
        let type = types[column]
        let target = slot[column]
        let input = reader.bytes
        if !field.hasEscapes {
            let bytes = UnsafeBufferPointer(rebasing: input[field.content])
            if type == .text {
                var isNew = false
                // Every value is checked, not only new ones: a batch that failed may have left
                // entries in the dictionary before this record-at-a-time pass.
                guard isValidUTF8(bytes) else { throw fail(column, "the text is not valid UTF-8") }
                let code = texts[target].dictionary.intern(sharedAt: field.content.lowerBound, count: field.content.count, isNew: &isNew)
                texts[target].codes.append(code)
            } else {
                numbers[target].append(try number(bytes, type: type, column: column))
            }
            return
        }
        var local: [UInt8] = []
        swap(&local, &scratch)
        defer { swap(&local, &scratch) }
        if type == .text {
            let code = try CSVReader.withContent(of: field, in: input, scratch: &local) { bytes throws(CSVError) -> UInt32 in
                var isNew = false
                guard isValidUTF8(bytes) else { throw fail(column, "the text is not valid UTF-8") }
                let code = texts[target].dictionary.intern(bytes, isNew: &isNew)
                return code
            }
            texts[target].codes.append(code)
            return
        }
        let value = try CSVReader.withContent(of: field, in: input, scratch: &local) { bytes throws(CSVError) -> Int64 in
            try number(bytes, type: type, column: column)
        }
        numbers[target].append(value)
    }

    /// A numeric field's stored value.
    func number(_ bytes: UnsafeBufferPointer<UInt8>, type: ColumnType, column: Int) throws(CSVError) -> Int64 {
        switch type {
        case .int:
            guard let value = parseInt(bytes) else { throw fail(column, "expected an int: a whole number between -2^63 and 2^63-1") }
            return value
        case .decimal:
            guard let value = DecimalValue(utf8: bytes) else {
                throw fail(column, "expected a decimal: a number with at most \(DecimalValue.scale) digits after the point")
            }
            return value.scaled
        default:
            guard let value = DateValue(utf8: bytes) else { throw fail(column, "expected a date: written YYYY-MM-DD") }
            return value.daysSinceEpoch
        }
    }
}

/// The bytes as a String if they are valid UTF-8.
func validUTF8(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
    let text = String(decoding: bytes, as: UTF8.self)
    return text.utf8.elementsEqual(bytes) ? text : nil
}

/// Whether the bytes are valid UTF-8; all-ASCII text (the common case) is checked eight bytes
/// at a time without building a String.
func isValidUTF8(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
    guard let base = bytes.baseAddress else { return true }
    let raw = UnsafeRawPointer(base)
    var high: UInt64 = 0
    var offset = 0
    while offset + 8 <= bytes.count {
        high |= raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
        offset += 8
    }
    while offset < bytes.count {
        high |= UInt64(bytes[offset])
        offset += 1
    }
    if high & 0x8080_8080_8080_8080 == 0 { return true }
    return validUTF8(bytes) != nil
}

/// Parses `[-|+]digits` as Int64 without allocating.
func parseInt(_ bytes: UnsafeBufferPointer<UInt8>) -> Int64? {
    var index = 0
    var negative = false
    if let first = bytes.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") {
        negative = first == UInt8(ascii: "-")
        index = 1
    }
    guard index < bytes.count else { return nil }
    var value: Int64 = 0
    while index < bytes.count {
        let byte = bytes[index]
        guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
        let digit = Int64(byte - UInt8(ascii: "0"))
        let (times10, o1) = value.multipliedReportingOverflow(by: 10)
        let (next, o2) = negative ? times10.subtractingReportingOverflow(digit) : times10.addingReportingOverflow(digit)
        if o1 || o2 { return nil }
        value = next
        index += 1
    }
    return value
}
