import ParleyAnalysis

/// Loads an upload as it arrives: fed the CSV in chunks of any size, it reads every complete
/// record as soon as a piece of ``pieceBytes`` has gathered, so the plaintext never exists
/// whole (only the columns and at most a piece plus one record) and parsing overlaps the
/// transfer. The result is the table ``CSVLoader`` makes from the same bytes held whole, with
/// the same errors for the same faults (the two run the same code; a whole upload is one piece).
///
/// A piece is cut after the last line feed that is outside quotes, found by the parity of the
/// double quotes before it: every quote of well-formed CSV opens or closes a quoted field or is
/// half of a `""` pair, so a line feed with an even number of quotes before it (counted from a
/// record's start) ends a record. A stray quote in an unquoted field upsets the count, but the
/// reader refuses that quote itself, at the same row, whichever piece it lands in.
public struct CSVStreamLoader {
    /// Bytes gathered before complete records are read (the last incomplete record waits).
    public static let defaultPieceBytes = 4 << 20

    private var loading: Loading
    /// Bytes not yet read: a record boundary at its start. Its room is reserved exactly (a
    /// piece and the chunk that completes it), never doubled.
    private var buffer: [UInt8] = []
    private var piecesRead = 0
    private let pieceBytes: Int
    /// The longest a well-formed record can be (every field at the field limit, quoted, with a
    /// separator; a CRLF; a byte order mark): a buffer longer than this with no record end in
    /// it is read as it is, so that its fault is reported.
    private let maxRecordBytes: Int
    private var finished = false
    private var limits: CSVLimits { loading.limits }
    /// Plaintext bytes fed so far.
    public private(set) var bytesFed = 0

    /// - Parameters:
    ///   - expectedBytes: The upload's size if the uploader said (a hint that only sizes the
    ///     column builders; the load does not depend on it being right).
    ///   - reserveLimit: Most bytes of room to reserve ahead on that hint.
    ///   - pieceBytes: Bytes gathered before they are read (tests use small pieces).
    public init(schema: DatasetSchema, limits: CSVLimits = .standard, expectedBytes: Int? = nil,
                reserveLimit: Int = .max, pieceBytes: Int = CSVStreamLoader.defaultPieceBytes) {
        loading = Loading(schema: schema, limits: limits, expectedBytes: expectedBytes)
        loading.reserveLimit = reserveLimit
        loading.reservesDictionaries = false
        self.pieceBytes = max(1, pieceBytes)
        maxRecordBytes = schema.columns.count * (limits.maxFieldBytes + 3) + 2 + 3
    }

    /// Data rows read so far (records of the pieces read; the header is not counted).
    public var rowsRead: Int { loading.headerRead ? loading.rowsRead : 0 }

    /// Bytes the load holds now: the column builders' capacity and the unread buffers.
    public var memoryBytes: Int { loading.memoryBytes + buffer.capacity }

    /// For each text column in order: its distinct entries and its dictionary's slots so far.
    var dictionarySizes: [(entries: Int, slots: Int)] {
        loading.texts.map { ($0.dictionary.count, $0.dictionary.slotCount) }
    }

    /// Bytes the columns have filled so far (``memoryBytes`` counts reserved room too).
    public var usedBytes: Int { loading.usedBytes }

    /// What the load could hold at its next step: the next doubling of its largest builder
    /// allocates the new array while the old one is still held (the piece buffer is reserved
    /// exactly and never doubles).
    public var nextPeakBytes: Int { memoryBytes + 2 * loading.largestArrayBytes }

    /// Feeds the next bytes of the upload; reads the complete records once a piece has gathered.
    ///
    /// - Throws: ``CSVError`` at the first fault (the load is then over: nothing is kept).
    public mutating func feed(_ bytes: UnsafeBufferPointer<UInt8>) throws(CSVError) {
        precondition(!finished, "fed after finish")
        bytesFed += bytes.count
        guard bytesFed <= limits.maxBytes else {
            throw CSVError(row: 0, column: nil, reason: "the upload is over the limit of \(limits.maxBytes) bytes")
        }
        if buffer.capacity < buffer.count + bytes.count {
            // A piece's room (less for an upload announced smaller), or what this chunk needs.
            buffer.reserveCapacity(max(min(pieceBytes, loading.expectedBytes ?? pieceBytes), buffer.count + bytes.count))
        }
        buffer.append(contentsOf: bytes)
        if buffer.count >= pieceBytes { try readCompleteRecords() }
    }

    /// ``feed(_:)`` for an array.
    public mutating func feed(_ bytes: [UInt8]) throws(CSVError) {
        var outcome: CSVError?
        bytes.withUnsafeBufferPointer { buffer in
            do throws(CSVError) { try feed(buffer) } catch { outcome = error }
        }
        if let outcome { throw outcome }
    }

    /// Reads what is left (the last record needs no line break) and returns the table with its
    /// identifier columns normalised, as ``CSVLoader/loadReporting(_:schema:limits:)`` does.
    public mutating func finish() throws(CSVError) -> (table: Table, identifiers: IdentifierReport) {
        precondition(!finished, "finished twice")
        finished = true
        if !buffer.isEmpty || piecesRead == 0 {
            let last = buffer
            buffer = []
            try loading.consume(last, first: piecesRead == 0, final: true)
            piecesRead += 1
        }
        return try IdentifierColumns.normalise(try loading.finishTable())
    }

    /// Reads the buffer up to its last record end, keeping the rest for the next piece.
    private mutating func readCompleteRecords() throws(CSVError) {
        guard let end = buffer.withUnsafeBufferPointer({ Self.lastRecordEnd(in: $0) }) else {
            // No record ends in the buffer. Past the longest a record can be, the first record
            // is at fault: reading it as the upload's end reports where.
            if buffer.count > maxRecordBytes {
                do throws(CSVError) {
                    try loading.consume(buffer, first: piecesRead == 0, final: true)
                } catch where error.reason == CSVReader.neverClosed {
                    // The quote may close later, but past any field's limit either way.
                    throw CSVError(row: error.row, column: error.column,
                                   reason: "a quoted field runs on longer than the limit of \(limits.maxFieldBytes) bytes; close its quote sooner")
                }
                throw CSVError(row: loading.row + 1, column: nil,
                               reason: "the row is longer than \(maxRecordBytes) bytes without ending")
            }
            return
        }
        try loading.consume(buffer, count: end + 1, first: piecesRead == 0, final: false)
        piecesRead += 1
        // The dictionaries let go of the piece, so this moves the unread rest (less than a
        // record, as a rule) to the front of the same buffer: no copy of the piece, no new room.
        buffer.removeSubrange(...end)
    }

    /// The index of the last line feed outside quotes (see the type's documentation), if any.
    static func lastRecordEnd(in bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        let quote = UInt8(ascii: "\""), lineFeed = UInt8(ascii: "\n")
        let quotes = countQuotes(bytes)
        var after = 0
        var index = bytes.count - 1
        while index >= 0 {
            let byte = bytes[index]
            if byte == lineFeed, (quotes - after) & 1 == 0 { return index }
            if byte == quote { after += 1 }
            index -= 1
        }
        return nil
    }

    /// The number of `"` bytes, eight at a time.
    static func countQuotes(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        guard let base = bytes.baseAddress else { return 0 }
        let raw = UnsafeRawPointer(base)
        let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080, quotes: UInt64 = 0x2222_2222_2222_2222
        var count = 0, offset = 0
        while offset + 8 <= bytes.count {
            let word = raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self) ^ quotes
            // A byte is zero (a quote) exactly when its high bit is set here; the exact form,
            // not the usual shortcut, so that no neighbouring byte is counted twice.
            let zero = ~(((word & ~highs) &+ ~highs) | word) & highs
            count += zero.nonzeroBitCount
            offset += 8
        }
        while offset < bytes.count {
            if bytes[offset] == UInt8(ascii: "\"") { count += 1 }
            offset += 1
        }
        return count
    }
}
