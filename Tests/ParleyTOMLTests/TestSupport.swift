import ParleyTOML
import XCTest

/// A compact, type-tagged rendering of a value so spec examples can be compared in one line:
/// strings in Swift quotes, integers bare, floats as `float(text)`, arrays `[...]`, tables `{k: v}`.
func render(_ value: TOMLValue) -> String {
    switch value.kind {
    case .string(let string): return String(reflecting: string)
    case .integer(let integer): return "\(integer)"
    case .float(_, let text): return "float(\(text))"
    case .bool(let bool): return "\(bool)"
    case .array(let elements): return "[" + elements.map(render).joined(separator: ", ") + "]"
    case .table(let table): return render(table)
    }
}

func render(_ table: TOMLTable) -> String {
    "{" + table.entries.map { "\($0.key): \(render($0.value))" }.joined(separator: ", ") + "}"
}

/// Parses `text` (named `test.toml`) and fails the test on error.
func parsed(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> TOMLTable? {
    do {
        return try TOMLDocument.parse(text, fileName: "test.toml")
    } catch {
        XCTFail("unexpected error: \(error)", file: file, line: line)
        return nil
    }
}

/// Asserts that parsing fails with this code, position and message.
/// - Parameter message: The exact message, or with `contains: true` a part of it.
func assertRefused(
    _ text: String,
    _ code: TOMLError.Code,
    at expectedLine: Int, _ expectedColumn: Int,
    _ message: String,
    contains: Bool = false,
    limits: TOMLLimits = .default,
    file: StaticString = #filePath, line: UInt = #line
) {
    assertRefused(bytes: Array(text.utf8), code, at: expectedLine, expectedColumn, message,
                  contains: contains, limits: limits, file: file, line: line)
}

func assertRefused(
    bytes: [UInt8],
    _ code: TOMLError.Code,
    at expectedLine: Int, _ expectedColumn: Int,
    _ message: String,
    contains: Bool = false,
    limits: TOMLLimits = .default,
    file: StaticString = #filePath, line: UInt = #line
) {
    do {
        let table = try TOMLDocument.parse(bytes: bytes, fileName: "bad.toml", limits: limits)
        XCTFail("expected \(code) but parsed \(render(table))", file: file, line: line)
    } catch {
        assertError(error, code, at: expectedLine, expectedColumn, message, contains: contains, fileName: "bad.toml", file: file, line: line)
    }
}

func assertError(
    _ error: TOMLError,
    _ code: TOMLError.Code,
    at expectedLine: Int, _ expectedColumn: Int,
    _ message: String,
    contains: Bool = false,
    fileName: String,
    file: StaticString = #filePath, line: UInt = #line
) {
    XCTAssertEqual(error.code, code, "\(error)", file: file, line: line)
    XCTAssertEqual(error.fileName, fileName, file: file, line: line)
    XCTAssertEqual(error.line, expectedLine, "line of: \(error)", file: file, line: line)
    XCTAssertEqual(error.column, expectedColumn, "column of: \(error)", file: file, line: line)
    if contains {
        XCTAssertTrue(error.message.contains(message), "message \"\(error.message)\" lacks \"\(message)\"", file: file, line: line)
    } else {
        XCTAssertEqual(error.message, message, file: file, line: line)
    }
    XCTAssertEqual(error.description, "\(fileName):\(expectedLine):\(expectedColumn): \(error.message)", file: file, line: line)
}

/// Runs `body` and returns the TOMLError it throws, failing the test if it does not throw.
func thrownError<T>(_ body: () throws(TOMLError) -> T, file: StaticString = #filePath, line: UInt = #line) -> TOMLError? {
    do {
        let value = try body()
        XCTFail("expected an error, got \(value)", file: file, line: line)
        return nil
    } catch {
        return error
    }
}
