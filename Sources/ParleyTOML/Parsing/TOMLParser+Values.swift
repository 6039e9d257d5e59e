/// Values: strings (in `TOMLParser+Strings`), arrays, inline tables and bare values (numbers,
/// booleans, `inf`, `nan`; see ``BareValue``).
extension TOMLParser {
    /// Reads the value at the cursor.
    /// - Parameter path: Where the value will sit, for the depth limit and for inline tables.
    mutating func parseValue(path: TOMLPath) throws(TOMLError) -> TOMLValue {
        let start = cursor.position
        try checkDepth(path, at: start)
        switch cursor.peek() {
        case ASCII.quote?, ASCII.apostrophe?:
            let string = try parseString(isKey: false)
            return TOMLValue(kind: .string(string.content), position: start, stringSource: string.map)
        case ASCII.leftBracket?:
            return try parseArray(path: path)
        case ASCII.leftBrace?:
            return try parseInlineTable(path: path)
        default:
            return try parseBareValue()
        }
    }

    private mutating func parseBareValue() throws(TOMLError) -> TOMLValue {
        let start = cursor.position
        let from = cursor.offset
        while let byte = cursor.peek(), ASCII.isBareValueByte(byte) {
            cursor.advance()
        }
        guard cursor.offset > from else {
            let found = cursor.describeCurrent()
            throw failure(
                .syntax,
                "expected a value, found \(found); write a string in quotes, a number, true, false, an array [...] or an inline table {...}",
                at: start)
        }
        let text = String(decoding: cursor.bytes[from..<cursor.offset], as: UTF8.self)
        switch BareValue.interpret(text) {
        case .value(let kind):
            return TOMLValue(kind: kind, position: start)
        case .refused(let code, let message):
            throw failure(code, message, at: start)
        }
    }

    /// Skips spaces, tabs, newlines and comments between array elements.
    private mutating func skipArrayFiller() throws(TOMLError) {
        while let byte = cursor.peek() {
            switch byte {
            case ASCII.space, ASCII.tab: cursor.advance()
            case ASCII.hash: try skipComment()
            case ASCII.lineFeed, ASCII.carriageReturn: try consumeNewline()
            default: return
            }
        }
    }

    private mutating func parseArray(path: TOMLPath) throws(TOMLError) -> TOMLValue {
        let start = cursor.position
        cursor.advance()
        var elements: [TOMLValue] = []
        while true {
            try skipArrayFiller()
            guard let byte = cursor.peek() else { throw unclosedArray(start) }
            if byte == ASCII.rightBracket {
                cursor.advance()
                break
            }
            guard elements.count < limits.maxArrayLength else {
                throw failure(
                    .limitExceeded,
                    "array has more than the limit of \(limits.maxArrayLength) elements",
                    at: cursor.position)
            }
            elements.append(try parseValue(path: path.appending(index: elements.count)))
            try skipArrayFiller()
            guard let next = cursor.peek() else { throw unclosedArray(start) }
            if next == ASCII.comma {
                cursor.advance()
            } else if next == ASCII.rightBracket {
                cursor.advance()
                break
            } else {
                throw failure(
                    .syntax,
                    "expected \",\" or \"]\" after an element of the array opened at \(start), found \(cursor.describeCurrent())",
                    at: cursor.position)
            }
        }
        return TOMLValue(kind: .array(elements), position: start)
    }

    private func unclosedArray(_ start: TOMLPosition) -> TOMLError {
        failure(.unterminated, "array is not closed before the end of the file; add \"]\"", at: start)
    }

    private mutating func parseInlineTable(path: TOMLPath) throws(TOMLError) -> TOMLValue {
        let start = cursor.position
        cursor.advance()
        let table = try makeNode(.inline, at: start, path: path)
        cursor.skipSpaces()
        if cursor.peek() == ASCII.rightBrace {
            cursor.advance()
        } else {
            while true {
                try refuseInlineTableLineBreak(start)
                try parseKeyValue(into: table)
                cursor.skipSpaces()
                try refuseInlineTableLineBreak(start)
                if cursor.peek() == ASCII.rightBrace {
                    cursor.advance()
                    break
                }
                guard cursor.peek() == ASCII.comma else {
                    throw failure(
                        .syntax,
                        "expected \",\" or \"}\" in the inline table opened at \(start), found \(cursor.describeCurrent())",
                        at: cursor.position)
                }
                cursor.advance()
                cursor.skipSpaces()
                if cursor.peek() == ASCII.rightBrace {
                    throw failure(
                        .syntax,
                        "an inline table cannot end with a comma in TOML 1.0; remove the last \",\"",
                        at: cursor.position)
                }
            }
        }
        return TOMLValue(kind: .table(table.freeze(fileName: fileName)), position: start)
    }

    private func refuseInlineTableLineBreak(_ start: TOMLPosition) throws(TOMLError) {
        switch cursor.peek() {
        case nil:
            throw failure(.unterminated, "inline table is not closed before the end of the file; add \"}\"", at: start)
        case ASCII.lineFeed?, ASCII.carriageReturn?, ASCII.hash?:
            throw failure(
                .syntax,
                "the inline table opened at \(start) must be closed on the same line (TOML 1.0); write it on one line or use a [table] section",
                at: cursor.position)
        default:
            return
        }
    }
}
