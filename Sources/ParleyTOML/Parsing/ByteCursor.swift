/// Reads validated UTF-8 bytes one at a time while keeping the line and column of the next byte.
struct ByteCursor {
    let bytes: [UInt8]
    private(set) var offset: Int
    private(set) var line = 1
    private(set) var column = 1

    /// - Parameter startOffset: Where reading starts without moving the column (to skip a BOM).
    init(bytes: [UInt8], startOffset: Int = 0) {
        self.bytes = bytes
        self.offset = startOffset
    }

    /// The position of the next byte.
    var position: TOMLPosition { TOMLPosition(line: line, column: column) }

    var isAtEnd: Bool { offset >= bytes.count }

    func peek(_ ahead: Int = 0) -> UInt8? {
        let index = offset + ahead
        return index < bytes.count ? bytes[index] : nil
    }

    /// Moves past one byte. Columns advance on the first byte of each scalar only.
    mutating func advance() {
        guard offset < bytes.count else { return }
        let byte = bytes[offset]
        offset += 1
        if byte == ASCII.lineFeed {
            line += 1
            column = 1
        } else if byte & 0xC0 != 0x80 {
            column += 1
        }
    }

    mutating func advance(by count: Int) {
        for _ in 0..<count { advance() }
    }

    /// Skips spaces and tabs.
    mutating func skipSpaces() {
        while let byte = peek(), byte == ASCII.space || byte == ASCII.tab {
            advance()
        }
    }

    /// The scalar that starts at the cursor.
    func currentScalar() -> Unicode.Scalar? {
        guard offset < bytes.count else { return nil }
        var iterator = bytes[offset...].makeIterator()
        var decoder = UTF8()
        if case .scalarValue(let scalar) = decoder.decode(&iterator) {
            return scalar
        }
        return nil
    }

    /// What is at the cursor, for messages: `"x"`, `a space`, `the end of the line`, ...
    func describeCurrent() -> String {
        guard let byte = peek() else { return "the end of the file" }
        if byte == ASCII.lineFeed || byte == ASCII.carriageReturn { return "the end of the line" }
        guard let scalar = currentScalar() else { return "an invalid byte" }
        return ByteCursor.describe(scalar)
    }

    static func describe(_ scalar: Unicode.Scalar) -> String {
        switch scalar {
        case " ": return "a space"
        case "\t": return "a tab"
        case "\"": return "'\"'"
        case _ where scalar.value < 0x20 || scalar.value == 0x7F:
            return "the control character U+\(hexDigits(scalar.value, width: 4))"
        case _ where scalar.isASCII:
            return "\"\(Character(scalar))\""
        default:
            return "\"\(Character(scalar))\" (U+\(hexDigits(scalar.value, width: 4)))"
        }
    }

    /// The position of a byte offset, counted the way the cursor counts.
    static func position(ofOffset target: Int, in bytes: [UInt8]) -> TOMLPosition {
        var cursor = ByteCursor(bytes: bytes)
        while cursor.offset < min(target, bytes.count) {
            cursor.advance()
        }
        return cursor.position
    }
}
