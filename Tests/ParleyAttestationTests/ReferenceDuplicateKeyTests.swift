import Foundation
@testable import ParleyAttestation
import ParleyCore
import XCTest

/// Reference files that say two things about one key are refused when read: JSONDecoder would
/// keep one of the values silently, and the reviewer's intent is then unknown (fail closed).
final class ReferenceDuplicateKeyTests: XCTestCase {
    func testTheScannerFindsARepeatedKeyInAnyObjectAndOnlyThere() {
        XCTAssertNil(JSONDuplicateKeys.first(in: Array(#"{"a": 1, "b": {"a": 2}, "c": ["a", "a"]}"#.utf8)))
        XCTAssertEqual(JSONDuplicateKeys.first(in: Array(#"{"a": 1, "a": 2}"#.utf8)), .repeated("a"))
        XCTAssertEqual(JSONDuplicateKeys.first(in: Array(#"{"x": [{"k": "v", "k": "w"}]}"#.utf8)), .repeated("k"))
        // Escapes are decoded: "\u0061" is "a". A string value that looks like a key is not one.
        XCTAssertEqual(JSONDuplicateKeys.first(in: Array(#"{"a": 1, "\u0061": 2}"#.utf8)), .repeated("a"))
        XCTAssertNil(JSONDuplicateKeys.first(in: Array(#"{"a": "b", "b": "a\"b"}"#.utf8)))
        XCTAssertEqual(JSONDuplicateKeys.first(in: Array(String(repeating: "[", count: 100).utf8)), .tooDeep)
    }

    func testRuntimePolicyAndBootReferenceRefuseRepeatedKeys() {
        XCTAssertThrowsError(try RuntimePolicy(json: Array(#"{"digests": {"/bin/a": ["00"]}, "digests": {}}"#.utf8))) { error in
            XCTAssertTrue("\(error)".contains(#"runtime policy repeats the key "digests""#), "\(error)")
        }
        let hex = String(repeating: "00", count: 32)
        let pcrs = (0...7).map { "\"\($0)\": \"\(hex)\"" }.joined(separator: ", ")
        let good = #"{"format": "parley/boot-reference/1", "bank": "sha256", "pcrs": {\#(pcrs)}}"#
        XCTAssertNoThrow(try BootReference(json: Array(good.utf8)))
        let twice = good.replacingOccurrences(of: #""pcrs""#, with: #""bank": "sha1", "pcrs""#)
        XCTAssertThrowsError(try BootReference(json: Array(twice.utf8))) { error in
            XCTAssertTrue("\(error)".contains(#"boot reference repeats the key "bank""#), "\(error)")
        }
    }
}
