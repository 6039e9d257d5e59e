/// Reads a whole document: lines, comments, `[headers]`, `[[arrays.of.tables]]` and
/// `key = value` pairs. Values and strings are in the `TOMLParser+Values` and
/// `TOMLParser+Strings` extensions; the table rules are in `TOMLParser+Tables`.
struct TOMLParser {
    /// One part of a possibly dotted key.
    struct KeyPart {
        let name: String
        let position: TOMLPosition
    }

    var cursor: ByteCursor
    let fileName: String
    let limits: TOMLLimits
    let root: TableNode
    /// The table that `key = value` lines go into: the last header's, or the top level.
    var current: TableNode

    /// - Parameter bytes: Well-formed UTF-8 (checked by the caller), at most
    ///   `limits.maxInputBytes` long. A leading byte-order mark is skipped.
    init(bytes: [UInt8], fileName: String, limits: TOMLLimits) {
        let hasByteOrderMark = bytes.starts(with: [0xEF, 0xBB, 0xBF])
        self.cursor = ByteCursor(bytes: bytes, startOffset: hasByteOrderMark ? 3 : 0)
        self.fileName = fileName
        self.limits = limits
        self.root = TableNode(origin: .root, position: .start, path: .root)
        self.current = root
    }

    func failure(_ code: TOMLError.Code, _ message: String, at position: TOMLPosition) -> TOMLError {
        TOMLError(code: code, fileName: fileName, position: position, message: message)
    }

    mutating func parseDocument() throws(TOMLError) -> TOMLTable {
        while true {
            cursor.skipSpaces()
            guard let byte = cursor.peek() else { break }
            switch byte {
            case ASCII.hash, ASCII.lineFeed, ASCII.carriageReturn:
                try finishLine(after: nil)
            case ASCII.leftBracket:
                try parseHeader()
                try finishLine(after: "the table header")
            default:
                let key = try parseKeyValue(into: current)
                try finishLine(after: "the value of \"\(key)\"")
            }
        }
        return root.freeze(fileName: fileName)
    }

    // MARK: Lines and comments

    /// Accepts optional spaces and a comment, then a newline or the end of the file.
    /// - Parameter context: What came before, for the message when something else follows.
    mutating func finishLine(after context: String?) throws(TOMLError) {
        cursor.skipSpaces()
        if cursor.peek() == ASCII.hash {
            try skipComment()
        }
        guard let byte = cursor.peek() else { return }
        if byte == ASCII.lineFeed || byte == ASCII.carriageReturn {
            try consumeNewline()
            return
        }
        let found = cursor.describeCurrent()
        let what = context.map { "after \($0)" } ?? "here"
        throw failure(
            .syntax,
            "expected the end of the line \(what), found \(found); put each key = value pair and each [table] header on its own line",
            at: cursor.position)
    }

    /// Consumes `\n` or `\r\n`; a lone `\r` is refused.
    mutating func consumeNewline() throws(TOMLError) {
        if cursor.peek() == ASCII.carriageReturn {
            guard cursor.peek(1) == ASCII.lineFeed else {
                throw failure(
                    .controlCharacter,
                    "a carriage return (U+000D) must be followed by a line feed; save the file with \\n or \\r\\n line endings",
                    at: cursor.position)
            }
            cursor.advance()
        }
        cursor.advance()
    }

    /// Skips from `#` up to (not including) the end of the line.
    mutating func skipComment() throws(TOMLError) {
        cursor.advance()
        while let byte = cursor.peek(), byte != ASCII.lineFeed, byte != ASCII.carriageReturn {
            if ASCII.isForbiddenControl(byte) {
                throw failure(
                    .controlCharacter,
                    "\(cursor.describeCurrent()) is not allowed in a comment; remove it",
                    at: cursor.position)
            }
            cursor.advance()
        }
    }

    // MARK: Keys

    /// Reads `key`, `"quoted key"` or `a.b."c"`, with optional spaces around the dots.
    mutating func parseKey() throws(TOMLError) -> [KeyPart] {
        var parts = [try parseSimpleKey()]
        while true {
            cursor.skipSpaces()
            guard cursor.peek() == ASCII.dot else { break }
            cursor.advance()
            cursor.skipSpaces()
            parts.append(try parseSimpleKey())
        }
        return parts
    }

    mutating func parseSimpleKey() throws(TOMLError) -> KeyPart {
        let start = cursor.position
        let name: String
        switch cursor.peek() {
        case ASCII.quote, ASCII.apostrophe:
            name = try parseString(isKey: true).content
        case let byte? where ASCII.isBareKeyByte(byte):
            let from = cursor.offset
            while let next = cursor.peek(), ASCII.isBareKeyByte(next) {
                cursor.advance()
            }
            name = String(decoding: cursor.bytes[from..<cursor.offset], as: UTF8.self)
        default:
            throw failure(.syntax, missingKeyMessage(), at: start)
        }
        if name.utf8.count > limits.maxKeyBytes {
            throw failure(
                .limitExceeded,
                "key is longer than the limit of \(limits.maxKeyBytes) bytes; use a shorter key",
                at: start)
        }
        return KeyPart(name: name, position: start)
    }

    private func missingKeyMessage() -> String {
        let found = cursor.describeCurrent()
        switch cursor.peek() {
        case ASCII.equals?:
            return "expected a key before \"=\"; write name = value"
        case ASCII.dot?:
            return "expected a key, found \".\"; a dotted key needs a name on both sides of each dot"
        case let byte? where byte >= 0x80:
            return "expected a key, found \(found); a key with characters other than A-Z a-z 0-9 _ - must be quoted, e.g. \"name\" = value"
        default:
            return "expected a key, found \(found); bare keys may use only A-Z a-z 0-9 _ -, other keys must be quoted"
        }
    }

    /// Reads `key = value` into `table` and returns the key as written, for messages.
    @discardableResult
    mutating func parseKeyValue(into table: TableNode) throws(TOMLError) -> String {
        let keyStart = cursor.position
        let parts = try parseKey()
        try checkDepth(TOMLPath(table.path.components + parts.map { .key($0.name) }), at: keyStart)
        let keyText = parts.map { TOMLPath.render(key: $0.name) }.joined(separator: ".")
        cursor.skipSpaces()
        guard cursor.peek() == ASCII.equals else {
            let found = cursor.describeCurrent()
            throw failure(.syntax, "expected \"=\" after the key \"\(keyText)\", found \(found); write \(keyText) = value", at: cursor.position)
        }
        cursor.advance()
        cursor.skipSpaces()
        let (parent, last) = try resolveDottedKey(parts, in: table)
        let value = try parseValue(path: parent.path.appending(key: last.name))
        parent.set(.value(value, keyPosition: last.position), for: last.name)
        return keyText
    }

    // MARK: Headers

    /// Reads `[a.b]` or `[[a.b]]` and makes its table the current one.
    mutating func parseHeader() throws(TOMLError) {
        let start = cursor.position
        cursor.advance()
        let isArrayOfTables = cursor.peek() == ASCII.leftBracket
        if isArrayOfTables {
            cursor.advance()
        }
        cursor.skipSpaces()
        let parts = try parseKey()
        cursor.skipSpaces()
        let closing = isArrayOfTables ? "]]" : "]"
        guard cursor.peek() == ASCII.rightBracket,
              !isArrayOfTables || cursor.peek(1) == ASCII.rightBracket
        else {
            let found = cursor.describeCurrent()
            throw failure(.syntax, "expected \"\(closing)\" to close the header opened at \(start), found \(found)", at: cursor.position)
        }
        cursor.advance(by: closing.utf8.count)
        if isArrayOfTables {
            current = try openArrayOfTablesElement(parts, headerAt: start)
        } else {
            current = try openTable(parts, headerAt: start)
        }
    }
}
