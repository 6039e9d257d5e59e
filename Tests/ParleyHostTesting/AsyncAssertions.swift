import XCTest

/// `XCTAssertThrowsError` for an async expression (XCTest's own takes a synchronous autoclosure).
public func XCTAssertThrowsErrorAsync<T>(_ expression: @autoclosure () async throws -> T, _ message: @autoclosure () -> String = "",
                                         file: StaticString = #filePath, line: UInt = #line,
                                         _ handler: (_ error: any Error) -> Void = { _ in }) async {
    do {
        _ = try await expression()
        XCTFail("XCTAssertThrowsErrorAsync failed: did not throw an error" + (message().isEmpty ? "" : " - \(message())"), file: file, line: line)
    } catch {
        handler(error)
    }
}
