/// Splits RFC 4180 CSV bytes into fields without copying: quoted fields (`""` escapes a quote),
/// records ended by LF or CRLF, an optional final line break. Positions are reported to the
/// caller, which knows the row and column to name in errors.
struct CSVReader {
    /// How a field ended.
    enum Terminator { case comma, endOfRecord, endOfInput }

    /// One field: where its content lies in the input, and whether `""` pairs need collapsing.
    struct Field {
        var content: Range<Int>
        var hasEscapes: Bool
        var terminator: Terminator
    }

    /// Why the bytes are not valid CSV at this field.
    struct Malformed: Error { var reason: String }

    /// The reason for a quoted field that the input ends inside.
    static let neverClosed = "a quoted field is never closed; add the closing double quote"

    let bytes: UnsafeBufferPointer<UInt8>
    var position: Int

    /// - Parameter skippingByteOrderMark: Whether a UTF-8 byte order mark, as some spreadsheet
    ///   programs write, is skipped (at the start of an upload, not of a later piece of it).
    init(_ bytes: UnsafeBufferPointer<UInt8>, skippingByteOrderMark: Bool = true) {
        self.bytes = bytes
        position = (skippingByteOrderMark && bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF) ? 3 : 0
    }

    var atEnd: Bool { position >= bytes.count }

    private static let quote = UInt8(ascii: "\""), comma = UInt8(ascii: ","),
                       lineFeed = UInt8(ascii: "\n"), carriageReturn = UInt8(ascii: "\r")

    /// Reads the next field.
    mutating func nextField() throws(Malformed) -> Field {
        if position < bytes.count, bytes[position] == Self.quote { return try quotedField() }
        let start = position
        skipOrdinaryBytes()
        while position < bytes.count {
            switch bytes[position] {
            case Self.comma:
                position += 1
                return Field(content: start..<position - 1, hasEscapes: false, terminator: .comma)
            case Self.lineFeed:
                position += 1
                return Field(content: start..<position - 1, hasEscapes: false, terminator: .endOfRecord)
            case Self.carriageReturn:
                guard position + 1 < bytes.count, bytes[position + 1] == Self.lineFeed else {
                    throw Malformed(reason: "a carriage return outside quotes must be followed by a line feed; end lines with LF or CRLF")
                }
                position += 2
                return Field(content: start..<position - 2, hasEscapes: false, terminator: .endOfRecord)
            case Self.quote:
                throw Malformed(reason: "a double quote inside an unquoted field; quote the whole field and double the inner quote (\"\")")
            default:
                position += 1
            }
        }
        return Field(content: start..<position, hasEscapes: false, terminator: .endOfInput)
    }

    /// Advances eight bytes at a time while none of them is a comma, quote, CR or LF, stopping
    /// at the first such byte or where fewer than eight remain.
    @inline(__always)
    private mutating func skipOrdinaryBytes() {
        guard let base = bytes.baseAddress else { return }
        let raw = UnsafeRawPointer(base)
        let end = bytes.count - 8
        while position <= end {
            let word = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: position, as: UInt64.self))
            // All four special bytes are below 0x2D; letters, digits, `.` and `-` are not, so
            // most words are passed over after one test.
            if (word &- Self.belowSpecial) & ~word & 0x8080_8080_8080_8080 != 0 {
                let special = Self.zeroBytes(word ^ Self.commas) | Self.zeroBytes(word ^ Self.quotes)
                    | Self.zeroBytes(word ^ Self.lineFeeds) | Self.zeroBytes(word ^ Self.carriageReturns)
                if special != 0 {
                    position += special.trailingZeroBitCount >> 3
                    return
                }
            }
            position += 8
        }
    }

    // Each byte of a word set to `,`, `"`, LF and CR (literals, so they cost no lazy initialisation).
    private static let ones: UInt64 = 0x0101_0101_0101_0101
    /// Subtracted from a word, sets the high bit of (at least) the lowest byte below 0x2D.
    private static let belowSpecial: UInt64 = 0x2D2D_2D2D_2D2D_2D2D
    private static let commas: UInt64 = 0x2C2C_2C2C_2C2C_2C2C, quotes: UInt64 = 0x2222_2222_2222_2222,
                       lineFeeds: UInt64 = 0x0A0A_0A0A_0A0A_0A0A, carriageReturns: UInt64 = 0x0D0D_0D0D_0D0D_0D0D

    /// The high bit of the lowest zero byte of `word` is set (higher bits may be set spuriously,
    /// which finding the first such byte ignores).
    @inline(__always)
    private static func zeroBytes(_ word: UInt64) -> UInt64 {
        (word &- ones) & ~word & 0x8080_8080_8080_8080
    }

    private mutating func quotedField() throws(Malformed) -> Field {
        let start = position + 1
        position = start
        var hasEscapes = false
        while true {
            guard position < bytes.count else {
                throw Malformed(reason: Self.neverClosed)
            }
            if bytes[position] != Self.quote {
                position += 1
                continue
            }
            if position + 1 < bytes.count, bytes[position + 1] == Self.quote {
                hasEscapes = true
                position += 2
                continue
            }
            let content = start..<position
            position += 1
            if position == bytes.count { return Field(content: content, hasEscapes: hasEscapes, terminator: .endOfInput) }
            switch bytes[position] {
            case Self.comma:
                position += 1
                return Field(content: content, hasEscapes: hasEscapes, terminator: .comma)
            case Self.lineFeed:
                position += 1
                return Field(content: content, hasEscapes: hasEscapes, terminator: .endOfRecord)
            case Self.carriageReturn where position + 1 < bytes.count && bytes[position + 1] == Self.lineFeed:
                position += 2
                return Field(content: content, hasEscapes: hasEscapes, terminator: .endOfRecord)
            default:
                throw Malformed(reason: "text follows the closing quote of a field; put a comma after it, or double the quote")
            }
        }
    }

    /// Calls `body` with the field's content, `""` collapsed to `"` (using `scratch` if needed).
    static func withContent<R>(of field: Field, in bytes: UnsafeBufferPointer<UInt8>, scratch: inout [UInt8],
                               _ body: (UnsafeBufferPointer<UInt8>) throws(CSVError) -> R) throws(CSVError) -> R {
        let raw = UnsafeBufferPointer(rebasing: bytes[field.content])
        guard field.hasEscapes else { return try body(raw) }
        scratch.removeAll(keepingCapacity: true)
        var skipNext = false
        for byte in raw {
            if skipNext { skipNext = false; continue }
            scratch.append(byte)
            if byte == quote { skipNext = true }
        }
        var result: Result<R, CSVError>?
        scratch.withUnsafeBufferPointer { buffer in
            do throws(CSVError) { result = .success(try body(buffer)) } catch { result = .failure(error) }
        }
        switch result {
        case .success(let value): return value
        case .failure(let error): throw error
        case nil: throw CSVError(row: 0, column: nil, reason: "internal: field content unavailable")
        }
    }
}
