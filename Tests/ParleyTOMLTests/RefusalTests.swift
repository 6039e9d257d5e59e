import ParleyTOML
import XCTest

/// Every refusal carries the line and column of the defect and a message that says what to do.
final class RefusalTests: XCTestCase {
    // MARK: Keys and tables

    func testDuplicateKey() {
        assertRefused("a = 1\nb = 2\na = 3\n", .duplicateKey, at: 3, 1,
                      "duplicate key \"a\": it was already set at 1:1; remove one of the two")
        assertRefused("x = { k = 1, k = 2 }", .duplicateKey, at: 1, 14,
                      "duplicate key \"x.k\": it was already set at 1:7; remove one of the two")
        assertRefused("\"a\" = 1\n'a' = 2", .duplicateKey, at: 2, 1, "duplicate key \"a\"", contains: true)
        assertRefused("[t]\nk.x = 1\nk.x = 2", .duplicateKey, at: 3, 3, "duplicate key \"t.k.x\"", contains: true)
    }

    func testTableDefinedTwice() {
        assertRefused("[a]\nx = 1\n\n[a]\ny = 2", .tableConflict, at: 4, 1,
                      "table [a] is defined twice; the first [a] is at 1:1; merge the two sections")
        assertRefused("[a.b]\n[a]\n[a.b]", .tableConflict, at: 3, 1, "table [a.b] is defined twice", contains: true)
    }

    func testTableAlreadyMadeByDottedKeys() {
        // The TOML 1.0 spec's own example.
        assertRefused("[fruit]\napple.color = \"red\"\n\n[fruit.apple]\n", .tableConflict, at: 4, 1,
                      "table [fruit.apple] was already created by dotted keys at 2:1; add its keys there instead of in a [fruit.apple] section")
        assertRefused("a.b = 1\n[a]", .tableConflict, at: 2, 1, "table [a] was already created by dotted keys at 1:1", contains: true)
    }

    func testDottedKeyCannotReopenHeaderTable() {
        assertRefused("[a.b.c]\nz = 9\n[a]\nb.c.t = 1", .tableConflict, at: 4, 3,
                      "cannot add to [a.b.c] with the dotted key \"a.b.c\": that table is defined by its header at 1:1; put the key under that header")
    }

    func testKeyBothTableAndValue() {
        assertRefused("a = 1\n[a]", .tableConflict, at: 2, 1,
                      "\"a\" is already an integer (set at 1:1), so [a] cannot define it as a table; rename one of them")
        assertRefused("a = \"x\"\na.b = 1", .tableConflict, at: 2, 1,
                      "\"a\" is already a string (set at 1:1), so a dotted key cannot add keys to it; rename one of them")
        assertRefused("a = 1\n[a.b]", .tableConflict, at: 2, 1,
                      "\"a\" is already an integer (set at 1:1), so a header cannot define a table inside it; rename one of them")
        assertRefused("a.b = 1\na = 2", .duplicateKey, at: 2, 1,
                      "\"a\" is already a table (defined at 1:1); a key cannot be both a table and a value")
        assertRefused("[a.b]\n[a]\nb = 1", .duplicateKey, at: 3, 1,
                      "\"a.b\" is already a table (defined at 1:1); a key cannot be both a table and a value")
    }

    func testInlineTablesAreComplete() {
        assertRefused("a = { b = 1 }\n[a]", .tableConflict, at: 2, 1,
                      "cannot add to the inline table \"a\" (at 1:1): inline tables are complete as written; add the keys inside its braces")
        assertRefused("a = { b = 1 }\na.c = 2", .tableConflict, at: 2, 1, "cannot add to the inline table \"a\"", contains: true)
        assertRefused("a = { b = { c = 1 } }\n[a.b.d]", .tableConflict, at: 2, 1, "cannot add to the inline table \"a\"", contains: true)
    }

    func testArrayOfTablesConflicts() {
        assertRefused("a = [1]\n[[a]]", .tableConflict, at: 2, 1,
                      "cannot append to \"a\" with [[a]]: it is an array written out at 1:1; use either the array or [[a]] sections, not both")
        assertRefused("[[a]]\n[a]", .tableConflict, at: 2, 1,
                      "[a] conflicts with the array of tables [[a]] at 1:3; write [[a]] to add another element")
        assertRefused("[a]\n[[a]]", .tableConflict, at: 2, 1,
                      "[[a]] conflicts with the table [a] defined at 1:1; a key cannot be both a table and an array of tables")
        assertRefused("[[a]]\nb.c = 1\n[[a]]\nb.c = 2\n[a.b]", .tableConflict, at: 5, 1,
                      "table [a[1].b] was already created by dotted keys at 4:1", contains: true)
    }

    func testBadKeys() {
        assertRefused("= 1", .syntax, at: 1, 1, "expected a key before \"=\"; write name = value")
        assertRefused("a. = 1", .syntax, at: 1, 4, "expected a key before \"=\"; write name = value")
        assertRefused("a..b = 1", .syntax, at: 1, 3, "expected a key, found \".\"; a dotted key needs a name on both sides of each dot")
        assertRefused("ключ = 1", .syntax, at: 1, 1,
                      "expected a key, found \"к\" (U+043A); a key with characters other than A-Z a-z 0-9 _ - must be quoted, e.g. \"name\" = value")
        assertRefused("\"\"\"a\"\"\" = 1", .syntax, at: 1, 1, "a key cannot be a multi-line string; use \"key\" or 'key'")
        assertRefused("a b = 1", .syntax, at: 1, 3, "expected \"=\" after the key \"a\", found \"b\"; write a = value")
        assertRefused("a\n", .syntax, at: 1, 2, "expected \"=\" after the key \"a\", found the end of the line; write a = value")
    }

    func testBadHeaders() {
        assertRefused("[a\nb = 1", .syntax, at: 1, 3, "expected \"]\" to close the header opened at 1:1, found the end of the line")
        assertRefused("[[a] ]", .syntax, at: 1, 4, "expected \"]]\" to close the header opened at 1:1", contains: true)
        assertRefused("[]", .syntax, at: 1, 2, "expected a key", contains: true)
        assertRefused("[a] b = 1", .syntax, at: 1, 5,
                      "expected the end of the line after the table header, found \"b\"; put each key = value pair and each [table] header on its own line")
    }

    // MARK: Values

    func testMissingOrUnquotedValues() {
        assertRefused("a =\nb = 1", .syntax, at: 1, 4,
                      "expected a value, found the end of the line; write a string in quotes, a number, true, false, an array [...] or an inline table {...}")
        assertRefused("quote = software", .syntax, at: 1, 9, "invalid value software: text must be in quotes, e.g. \"software\"")
        assertRefused("allow_debug = True", .syntax, at: 1, 15, "invalid value True: booleans are written in lower case, true")
        assertRefused("a = 1 b = 2", .syntax, at: 1, 7,
                      "expected the end of the line after the value of \"a\", found \"b\"; put each key = value pair and each [table] header on its own line")
        assertRefused("a = [1,,2]", .syntax, at: 1, 8, "expected a value, found \",\"", contains: true)
        assertRefused("a = [1 2]", .syntax, at: 1, 8, "expected \",\" or \"]\" after an element of the array opened at 1:5, found \"2\"")
    }

    func testInlineTableRules() {
        assertRefused("a = { b = 1,\n c = 2 }", .syntax, at: 1, 13,
                      "the inline table opened at 1:5 must be closed on the same line (TOML 1.0); write it on one line or use a [table] section")
        assertRefused("a = { b = 1, }", .syntax, at: 1, 14, "an inline table cannot end with a comma in TOML 1.0; remove the last \",\"")
        assertRefused("a = { b = 1 c = 2 }", .syntax, at: 1, 13, "expected \",\" or \"}\" in the inline table opened at 1:5, found \"c\"")
    }

    func testDatesAndTimesAreUnsupported() {
        assertRefused("when = 1979-05-27T07:32:00Z", .unsupported, at: 1, 8,
                      "dates and times are not supported (found 1979-05-27T07:32:00Z); write the value as a string: \"1979-05-27T07:32:00Z\"")
        assertRefused("d = 1979-05-27", .unsupported, at: 1, 5, "dates and times are not supported", contains: true)
        assertRefused("t = 07:32:00", .unsupported, at: 1, 5, "dates and times are not supported", contains: true)
    }

    // MARK: Strings

    func testInvalidEscapes() {
        assertRefused("a = \"x\\qy\"", .invalidEscape, at: 1, 7,
                      "invalid escape \\q; TOML allows \\b \\t \\n \\f \\r \\\" \\\\ \\uXXXX and \\UXXXXXXXX (write \\\\ for a backslash, or use a 'literal string')")
        assertRefused("a = \"\\x41\"", .invalidEscape, at: 1, 6, "invalid escape \\x;", contains: true)
        assertRefused("a = \"\\e\"", .invalidEscape, at: 1, 6, "invalid escape \\e;", contains: true)
        assertRefused("a = \"x\\ \"", .invalidEscape, at: 1, 7, "invalid escape \\ (backslash and space);", contains: true)
        assertRefused("a = \"\\u12\"", .invalidEscape, at: 1, 6,
                      "invalid escape: \\uXXXX needs exactly 4 hexadecimal digits, e.g. \\u00E9")
        assertRefused("a = \"\\uD800\"", .invalidEscape, at: 1, 6,
                      "invalid escape: U+D800 is not a Unicode scalar value (surrogates and values above 10FFFF are not allowed)")
        assertRefused("a = \"\\U00110000\"", .invalidEscape, at: 1, 6, "U+110000 is not a Unicode scalar value", contains: true)
        assertRefused("a = \"\"\"\nx \\ y\n\"\"\"", .invalidEscape, at: 2, 3,
                      "invalid escape: a backslash followed by spaces must be the last thing on its line (a line-ending backslash); write \\\\ for a backslash")
    }

    func testUnterminatedStrings() {
        assertRefused("a = \"abc\nb = 1", .unterminated, at: 1, 5,
                      "string is not closed on its line; add a closing \", or use \"\"\" for a multi-line string")
        assertRefused("a = 'abc", .unterminated, at: 1, 5, "string is not closed before the end of the file; add '")
        assertRefused("a = 'abc\n'", .unterminated, at: 1, 5,
                      "string is not closed on its line; add a closing ', or use ''' for a multi-line string")
        assertRefused("x = 1\nsql = \"\"\"\nSELECT 1\n", .unterminated, at: 2, 7,
                      "string is not closed before the end of the file; add \"\"\"")
        assertRefused("sql = '''\nSELECT 1\n''", .unterminated, at: 1, 7,
                      "string is not closed before the end of the file; add '''")
        assertRefused("a = \"\"\"x\"\"\"\"\"\"", .syntax, at: 1, 9,
                      "a multi-line string cannot contain three \" in a row; escape one as \\\"")
    }

    func testUnterminatedArrayAndInlineTable() {
        assertRefused("a = [1,\n2,\n", .unterminated, at: 1, 5, "array is not closed before the end of the file; add \"]\"")
        assertRefused("a = { b = 1", .unterminated, at: 1, 5, "inline table is not closed before the end of the file; add \"}\"")
    }

    // MARK: Numbers

    func testBadNumbers() {
        assertRefused("n = 01", .invalidNumber, at: 1, 5, "invalid number 01: leading zeros are not allowed")
        assertRefused("n = -007", .invalidNumber, at: 1, 5, "invalid number -007: leading zeros are not allowed")
        assertRefused("n = 00.5", .invalidNumber, at: 1, 5, "invalid number 00.5: leading zeros are not allowed")
        assertRefused("n = 1__000", .invalidNumber, at: 1, 5,
                      "invalid number 1__000: an underscore must sit between two digits, not next to another underscore")
        assertRefused("n = 1_", .invalidNumber, at: 1, 5, "invalid number 1_: an underscore must sit between two digits")
        assertRefused("n = _1", .invalidNumber, at: 1, 5, "invalid number _1: an underscore must sit between two digits")
        assertRefused("n = 1_.5", .invalidNumber, at: 1, 5, "invalid number 1_.5: an underscore must sit between two digits")
        assertRefused("n = 1.", .invalidNumber, at: 1, 5, "invalid number 1.: a decimal point needs a digit after it, e.g. 1.0")
        assertRefused("n = .5", .invalidNumber, at: 1, 5, "invalid number .5: a decimal point needs a digit before it, e.g. 0.5")
        assertRefused("n = 1e", .invalidNumber, at: 1, 5, "invalid number 1e: an exponent needs digits, e.g. 1e-9")
        assertRefused("n = 1.5.2", .invalidNumber, at: 1, 5, "invalid number 1.5.2: unexpected \".\"")
        assertRefused("n = +0x1F", .invalidNumber, at: 1, 5,
                      "invalid number +0x1F: hexadecimal, octal and binary integers cannot have a sign")
        assertRefused("n = 0x", .invalidNumber, at: 1, 5, "invalid number 0x: digits are missing")
        assertRefused("n = 0b102", .invalidNumber, at: 1, 5, "invalid number 0b102: \"2\" is not a digit here")
        assertRefused("n = 0XFF", .invalidNumber, at: 1, 5, "invalid number 0XFF: unexpected \"X\"")
        assertRefused("n = 9223372036854775808", .invalidNumber, at: 1, 5,
                      "integer 9223372036854775808 does not fit in a 64-bit signed integer")
        assertRefused("n = 0x8000000000000000", .invalidNumber, at: 1, 5,
                      "integer 0x8000000000000000 does not fit in a 64-bit signed integer")
        assertRefused("n = 1e400", .invalidNumber, at: 1, 5, "float 1e400 is out of the range of a 64-bit float")
        assertRefused("n = -", .invalidNumber, at: 1, 5, "invalid number -: expected digits")
    }

    // MARK: Characters and encoding

    func testControlCharacters() {
        assertRefused("a = \"x\u{01}y\"", .controlCharacter, at: 1, 7,
                      "the control character U+0001 is not allowed in a string; write it as \\u0001")
        assertRefused("a = 'x\u{7F}'", .controlCharacter, at: 1, 7,
                      "the control character U+007F is not allowed in a string; use a basic string \"...\" and write it as \\u007F")
        assertRefused("# fine\n# bad \u{00}\n", .controlCharacter, at: 2, 7,
                      "the control character U+0000 is not allowed in a comment; remove it")
        assertRefused("a = 1\rb = 2", .controlCharacter, at: 1, 6,
                      "a carriage return (U+000D) must be followed by a line feed; save the file with \\n or \\r\\n line endings")
        assertRefused("s = \"\"\"\nab\rc\"\"\"", .controlCharacter, at: 2, 3, "a carriage return (U+000D) must be followed by a line feed", contains: true)
        assertRefused("s = '''\u{08}'''", .controlCharacter, at: 1, 8, "the control character U+0008 is not allowed in a string", contains: true)
    }

    func testInvalidUTF8() {
        let prefix = Array("ok = \"é\"\nbad = \"".utf8)
        assertRefused(bytes: prefix + [0xFF, 0x22], .invalidUTF8, at: 2, 8,
                      "invalid UTF-8 (byte 0xFF); save the file as UTF-8")
        assertRefused(bytes: prefix + [0xC0, 0x80, 0x22], .invalidUTF8, at: 2, 8, "byte 0xC0", contains: true)  // overlong NUL
        assertRefused(bytes: prefix + [0xED, 0xA0, 0x80, 0x22], .invalidUTF8, at: 2, 8, "byte 0xED", contains: true)  // surrogate
        assertRefused(bytes: prefix + [0xF4, 0x90, 0x80, 0x80], .invalidUTF8, at: 2, 8, "byte 0xF4", contains: true)  // > U+10FFFF
        assertRefused(bytes: prefix + [0xE2, 0x82], .invalidUTF8, at: 2, 8, "byte 0xE2", contains: true)  // truncated
    }

    // MARK: Limits

    func testInputSizeLimit() {
        let limits = TOMLLimits(maxInputBytes: 16)
        assertRefused("a = \"0123456789abcdef\"", .limitExceeded, at: 1, 1,
                      "the file is larger than the limit of 16 bytes", limits: limits)
        let big = "a = \"" + String(repeating: "x", count: 1 << 20) + "\""
        assertRefused(big, .limitExceeded, at: 1, 1, "the file is larger than the limit of 1048576 bytes")
    }

    func testDepthLimit() {
        let deep = "a = " + String(repeating: "[", count: 32) + String(repeating: "]", count: 32)
        XCTAssertNotNil(parsed(deep))
        let tooDeep = "a = " + String(repeating: "[", count: 33) + String(repeating: "]", count: 33)
        assertRefused(tooDeep, .limitExceeded, at: 1, 37,
                      "nesting is deeper than the limit of 32 levels; flatten the structure")
        let dotted = (1...33).map { "k\($0)" }.joined(separator: ".") + " = 1"
        assertRefused(dotted, .limitExceeded, at: 1, 1, "nesting is deeper than the limit of 32 levels", contains: true)
        let header = "[" + (1...33).map { "k\($0)" }.joined(separator: ".") + "]"
        assertRefused(header, .limitExceeded, at: 1, 1, "nesting is deeper than the limit of 32 levels", contains: true)
        let inline = "a = " + String(repeating: "{ b = ", count: 32) + "1" + String(repeating: " }", count: 32)
        assertRefused(inline, .limitExceeded, at: 1, 193, "nesting is deeper", contains: true)
    }

    func testArrayLengthLimit() {
        let limits = TOMLLimits(maxArrayLength: 3)
        XCTAssertNoThrow(try TOMLDocument.parse("a = [1, 2, 3]", fileName: "ok.toml", limits: limits))
        assertRefused("a = [1, 2, 3, 4]", .limitExceeded, at: 1, 15,
                      "array has more than the limit of 3 elements", limits: limits)
        assertRefused("[[t]]\n[[t]]\n[[t]]\n[[t]]", .limitExceeded, at: 4, 1,
                      "[[t]] has more than the limit of 3 elements", limits: limits)
        let hundredThousandAndOne = "a = [" + String(repeating: "0,", count: 100_001) + "]"
        assertRefused(hundredThousandAndOne, .limitExceeded, at: 1, 6 + 2 * 100_000,
                      "array has more than the limit of 100000 elements")
    }

    func testStringAndKeyLengthLimits() {
        let limits = TOMLLimits(maxStringBytes: 8, maxKeyBytes: 4)
        XCTAssertNoThrow(try TOMLDocument.parse("abcd = \"12345678\"", fileName: "ok.toml", limits: limits))
        assertRefused("s = \"123456789\"", .limitExceeded, at: 1, 5, "string is longer than the limit of 8 bytes", limits: limits)
        assertRefused("s = '''\n123456789'''", .limitExceeded, at: 1, 5, "string is longer than the limit of 8 bytes", limits: limits)
        assertRefused("x = 1\nabcde = 1", .limitExceeded, at: 2, 1,
                      "key is longer than the limit of 4 bytes; use a shorter key", limits: limits)
    }
}
