/// The four string forms: `"basic"`, `'literal'`, `"""multi-line basic"""` and
/// `'''multi-line literal'''`, with TOML 1.0 escapes, the trimmed newline after an opening
/// `"""`/`'''`, line-ending backslashes, and up to two quotes just before the closing delimiter.
extension TOMLParser {
    /// Reads the string at the cursor (which is on its opening quote).
    /// - Parameter isKey: Keys may not be multi-line strings.
    mutating func parseString(isKey: Bool) throws(TOMLError) -> (content: String, map: TOMLStringSourceMap) {
        let start = cursor.position
        guard let quote = cursor.peek() else {
            throw failure(.syntax, "expected a string", at: start)
        }
        let isLiteral = quote == ASCII.apostrophe
        let isMultiline = cursor.peek(1) == quote && cursor.peek(2) == quote
        let delimiter = String(repeating: isLiteral ? "'" : "\"", count: isMultiline ? 3 : 1)
        if isMultiline && isKey {
            throw failure(.syntax, "a key cannot be a multi-line string; use \"key\" or 'key'", at: start)
        }
        if isMultiline {
            cursor.advance(by: 3)
            if cursor.peek() == ASCII.lineFeed {
                cursor.advance()
            } else if cursor.peek() == ASCII.carriageReturn, cursor.peek(1) == ASCII.lineFeed {
                cursor.advance(by: 2)
            }
        } else {
            cursor.advance()
        }

        var content = StringAccumulator(contentStart: cursor.position)
        while true {
            guard let byte = cursor.peek() else {
                throw failure(.unterminated, "string is not closed before the end of the file; add \(delimiter)", at: start)
            }
            if byte == quote {
                if !isMultiline {
                    cursor.advance()
                    break
                }
                var run = 0
                while cursor.peek(run) == quote { run += 1 }
                if run >= 3 {
                    if run > 5 {
                        throw failure(
                            .syntax,
                            "a multi-line string cannot contain three \(isLiteral ? "'" : "\"") in a row; \(isLiteral ? "use a multi-line basic string and escape one as \\'" : "escape one as \\\"")",
                            at: cursor.position)
                    }
                    for _ in 0..<(run - 3) { content.appendSourceByte(quote) }
                    cursor.advance(by: run)
                    break
                }
                for _ in 0..<run { content.appendSourceByte(quote) }
                cursor.advance(by: run)
                continue
            }
            if byte == ASCII.backslash && !isLiteral {
                try readEscape(into: &content, isMultiline: isMultiline, stringStart: start)
            } else if byte == ASCII.lineFeed || byte == ASCII.carriageReturn {
                guard isMultiline else {
                    throw failure(
                        .unterminated,
                        "string is not closed on its line; add a closing \(delimiter), or use \(isLiteral ? "'''" : "\"\"\"") for a multi-line string",
                        at: start)
                }
                try consumeNewline()
                content.appendNewline(resumingAt: cursor.position)
            } else if ASCII.isForbiddenControl(byte) {
                throw failure(
                    .controlCharacter,
                    "\(cursor.describeCurrent()) is not allowed in a string; \(isLiteral ? "use a basic string \"...\" and write it" : "write it") as \\u\(hexDigits(UInt32(byte), width: 4))",
                    at: cursor.position)
            } else {
                content.appendSourceByte(byte)
                cursor.advance()
            }
            if content.byteCount > limits.maxStringBytes {
                throw failure(
                    .limitExceeded,
                    "string is longer than the limit of \(limits.maxStringBytes) bytes",
                    at: start)
            }
        }
        let style: TOMLStringSourceMap.Style = switch (isLiteral, isMultiline) {
        case (false, false): .basic
        case (true, false): .literal
        case (false, true): .multilineBasic
        case (true, true): .multilineLiteral
        }
        return content.finish(style: style)
    }

    /// Reads one escape at the cursor (on the backslash) into `content`.
    private mutating func readEscape(
        into content: inout StringAccumulator, isMultiline: Bool, stringStart: TOMLPosition
    ) throws(TOMLError) {
        let escapeStart = cursor.position
        cursor.advance()
        guard let letter = cursor.peek() else {
            throw failure(.unterminated, "string is not closed before the end of the file", at: stringStart)
        }
        let simple: Unicode.Scalar? = switch letter {
        case UInt8(ascii: "b"): "\u{08}"
        case UInt8(ascii: "t"): "\t"
        case UInt8(ascii: "n"): "\n"
        case UInt8(ascii: "f"): "\u{0C}"
        case UInt8(ascii: "r"): "\r"
        case ASCII.quote: "\""
        case ASCII.backslash: "\\"
        default: nil
        }
        if let simple {
            cursor.advance()
            content.appendEscaped(simple, resumingAt: cursor.position)
            return
        }
        if letter == UInt8(ascii: "u") || letter == UInt8(ascii: "U") {
            cursor.advance()
            let scalar = try readUnicodeEscape(digitCount: letter == UInt8(ascii: "u") ? 4 : 8, escapeStart: escapeStart)
            content.appendEscaped(scalar, resumingAt: cursor.position)
            return
        }
        let isWhitespace = letter == ASCII.space || letter == ASCII.tab
        let isNewline = letter == ASCII.lineFeed || letter == ASCII.carriageReturn
        if isMultiline && (isWhitespace || isNewline) {
            try skipLineEndingBackslash(escapeStart: escapeStart)
            content.reanchor(at: cursor.position)
            return
        }
        let shown = letter == ASCII.space ? "\\ (backslash and space)"
            : cursor.currentScalar().map { "\\" + String(Character($0)) } ?? "\\"
        throw failure(
            .invalidEscape,
            "invalid escape \(shown); TOML allows \\b \\t \\n \\f \\r \\\" \\\\ \\uXXXX and \\UXXXXXXXX (write \\\\ for a backslash, or use a 'literal string')",
            at: escapeStart)
    }

    private mutating func readUnicodeEscape(digitCount: Int, escapeStart: TOMLPosition) throws(TOMLError) -> Unicode.Scalar {
        let form = digitCount == 4 ? "\\uXXXX" : "\\UXXXXXXXX"
        var value: UInt32 = 0
        for _ in 0..<digitCount {
            guard let byte = cursor.peek(), let digit = ASCII.hexValue(byte) else {
                throw failure(
                    .invalidEscape,
                    "invalid escape: \(form) needs exactly \(digitCount) hexadecimal digits, e.g. \(digitCount == 4 ? "\\u00E9" : "\\U0001F600")",
                    at: escapeStart)
            }
            value = value &* 16 &+ digit
            cursor.advance()
        }
        guard let scalar = Unicode.Scalar(value) else {
            throw failure(
                .invalidEscape,
                "invalid escape: U+\(hexDigits(value, width: 4)) is not a Unicode scalar value (surrogates and values above 10FFFF are not allowed)",
                at: escapeStart)
        }
        return scalar
    }

    /// After `\` followed by whitespace in a multi-line basic string: the rest of the line must
    /// be blank, and all whitespace and newlines up to the next other character are dropped.
    private mutating func skipLineEndingBackslash(escapeStart: TOMLPosition) throws(TOMLError) {
        cursor.skipSpaces()
        guard cursor.peek() == ASCII.lineFeed || cursor.peek() == ASCII.carriageReturn else {
            throw failure(
                .invalidEscape,
                "invalid escape: a backslash followed by spaces must be the last thing on its line (a line-ending backslash); write \\\\ for a backslash",
                at: escapeStart)
        }
        while let byte = cursor.peek() {
            if byte == ASCII.space || byte == ASCII.tab {
                cursor.advance()
            } else if byte == ASCII.lineFeed || byte == ASCII.carriageReturn {
                try consumeNewline()
            } else {
                break
            }
        }
    }
}

/// The decoded bytes of a string plus the anchors of its ``TOMLStringSourceMap``.
struct StringAccumulator {
    private var bytes: [UInt8] = []
    private var lines: [[TOMLStringSourceMap.Anchor]]
    /// The content column the next character will take.
    private var column = 1

    init(contentStart: TOMLPosition) {
        lines = [[.init(contentColumn: 1, source: contentStart)]]
    }

    var byteCount: Int { bytes.count }

    /// A byte copied from the source unchanged (not a newline).
    mutating func appendSourceByte(_ byte: UInt8) {
        bytes.append(byte)
        if byte & 0xC0 != 0x80 { column += 1 }
    }

    /// A newline in the content; the next content line starts at `next` in the file.
    mutating func appendNewline(resumingAt next: TOMLPosition) {
        bytes.append(ASCII.lineFeed)
        column = 1
        lines.append([.init(contentColumn: 1, source: next)])
    }

    /// A character written as an escape; the source continues at `next`.
    mutating func appendEscaped(_ scalar: Unicode.Scalar, resumingAt next: TOMLPosition) {
        if scalar == "\n" {
            appendNewline(resumingAt: next)
            return
        }
        UTF8.encode(scalar) { bytes.append($0) }
        column += 1
        reanchor(at: next)
    }

    /// Content and source continue in step again from `next` (after an escape or a skip).
    mutating func reanchor(at next: TOMLPosition) {
        lines[lines.count - 1].append(.init(contentColumn: column, source: next))
    }

    func finish(style: TOMLStringSourceMap.Style) -> (content: String, map: TOMLStringSourceMap) {
        (String(decoding: bytes, as: UTF8.self), TOMLStringSourceMap(style: style, lines: lines))
    }
}
