import ParleyTOML
import XCTest

/// Mapping positions inside a string's content back to the file (for SQL errors and the like).
final class StringSourceMapTests: XCTestCase {
    func testSingleLineStringsStartAfterTheQuote() throws {
        let table = try XCTUnwrap(parsed("\"é\" = \"ü\"\nb = 'lit'"))
        XCTAssertEqual(table.valuePosition(of: "é"), TOMLPosition(line: 1, column: 7))
        XCTAssertEqual(table["é"]?.stringContentStart, TOMLPosition(line: 1, column: 8))
        XCTAssertEqual(table["b"]?.stringSource?.style, .literal)
        XCTAssertEqual(table["b"]?.stringSource?.sourcePosition(line: 1, column: 3), TOMLPosition(line: 2, column: 8))
    }

    func testEscapesShiftColumnsExactly() throws {
        let table = try XCTUnwrap(parsed(#"""
            s = """
            ab\tc
            \u00E9x"""
            """#))
        let value = try XCTUnwrap(table["s"])
        XCTAssertEqual(value.stringValue, "ab\tc\néx")
        let map = try XCTUnwrap(value.stringSource)
        XCTAssertEqual(map.contentStart, TOMLPosition(line: 2, column: 1))
        XCTAssertEqual(map.sourcePosition(line: 1, column: 3), TOMLPosition(line: 2, column: 3), "the tab maps to its backslash")
        XCTAssertEqual(map.sourcePosition(line: 1, column: 4), TOMLPosition(line: 2, column: 5))
        XCTAssertEqual(map.sourcePosition(line: 2, column: 1), TOMLPosition(line: 3, column: 1))
        XCTAssertEqual(map.sourcePosition(line: 2, column: 2), TOMLPosition(line: 3, column: 7))
        XCTAssertNil(map.sourcePosition(line: 3, column: 1))
        XCTAssertNil(map.sourcePosition(line: 1, column: 0))
    }

    func testLineEndingBackslashAndUntrimmedOpening() throws {
        let table = try XCTUnwrap(parsed(#"""
            s = """\
                The quick \
                brown"""
            """#))
        let value = try XCTUnwrap(table["s"])
        XCTAssertEqual(value.stringValue, "The quick brown")
        XCTAssertEqual(value.stringContentStart, TOMLPosition(line: 2, column: 5))
        XCTAssertEqual(value.stringSource?.sourcePosition(line: 1, column: 11), TOMLPosition(line: 3, column: 5))
    }

    func testEscapedNewlineStartsAContentLine() throws {
        let table = try XCTUnwrap(parsed(#"s = "one\ntwo""#))
        let map = try XCTUnwrap(table["s"]?.stringSource)
        XCTAssertEqual(map.lineCount, 2)
        XCTAssertEqual(map.sourcePosition(line: 2, column: 2), TOMLPosition(line: 1, column: 12))
    }

    func testCRLFIsNormalisedAndMapped() throws {
        let table = try XCTUnwrap(parsed("s = '''\r\nab\r\ncd'''"))
        XCTAssertEqual(table["s"]?.stringValue, "ab\ncd")
        XCTAssertEqual(table["s"]?.stringSource?.sourcePosition(line: 2, column: 2), TOMLPosition(line: 3, column: 2))
    }
}
