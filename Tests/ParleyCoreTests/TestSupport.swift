import Foundation
import XCTest
@testable import ParleyCore

/// Loads a fixture shipped in Tests/ParleyCoreTests/Fixtures.
func fixtureURL(_ relative: String) throws -> URL {
    guard let base = Bundle.module.resourceURL?.appendingPathComponent("Fixtures") else {
        throw ParleyError(.io, "test bundle has no Fixtures folder")
    }
    return base.appendingPathComponent(relative)
}

func fixtureText(_ relative: String) throws -> String {
    try String(contentsOf: try fixtureURL(relative), encoding: .utf8)
}

func hex(_ s: String) -> [UInt8] {
    // Test-only: fixtures are known-good hex.
    try! Hex.decode(s.filter { !$0.isWhitespace })
}

/// Asserts that `body` throws a ParleyError with `code`, returning it for further checks.
@discardableResult
func assertRefused<T>(_ code: ParleyError.Code, _ body: @autoclosure () throws -> T,
                      file: StaticString = #filePath, line: UInt = #line) -> ParleyError? {
    do {
        _ = try body()
        XCTFail("expected a \(code) refusal, but it succeeded", file: file, line: line)
        return nil
    } catch let e as ParleyError {
        XCTAssertEqual(e.code, code, "wrong refusal: \(e)", file: file, line: line)
        return e
    } catch {
        XCTFail("expected ParleyError, got \(error)", file: file, line: line)
        return nil
    }
}

/// A fresh temporary directory, removed when the test case ends.
func temporaryDirectory(_ test: XCTestCase) throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("parley-test-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
    return dir
}

/// Runs a program and returns (status, stdout, stderr).
@discardableResult
func runTool(_ executable: String, _ arguments: [String], stdin: Data? = nil) throws -> (Int32, String, String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = arguments
    let out = Pipe(), err = Pipe(), inp = Pipe()
    p.standardOutput = out
    p.standardError = err
    p.standardInput = inp
    try p.run()
    if let stdin { inp.fileHandleForWriting.write(stdin) }
    try inp.fileHandleForWriting.close()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}
