import ParleyCore
import ParleyLedger
import ParleyLog
import XCTest

/// The ledger handoff's wire form (docs/log.md section 8) is read with its caps before any proof
/// is checked: an entry that is not `[index, entry, proof]`, or a proof that is not whole 32-byte
/// hashes or is longer than a tree of 2^64 leaves needs, is refused.
final class LedgerHandoffFormatTests: XCTestCase {
    func handoff(_ entries: [CBOR]) -> CBOR {
        .textMap(["checkpoint": .bytes([1]), "log_key": .text("k"), "entries": .array(entries)])
    }

    func testAHandoffRoundTripsAndMalformedEntriesAreRefused() throws {
        let item = LedgerHandoff.Item(index: 3, entry: [9, 9], proof: [try TreeHash(bytes: [UInt8](repeating: 1, count: 32))])
        let good = LedgerHandoff(checkpointNote: [1], logKey: "k", items: [item])
        XCTAssertEqual(try LedgerHandoff(cbor: good.cbor), good)
        let refused: [(CBOR, ParleyError.Code)] = [
            (.array([.unsigned(3), .bytes([9])]), .malformed),                                                   // two parts
            (.array([.unsigned(3), .bytes([9]), .bytes([UInt8](repeating: 0, count: 33))]), .malformed),        // not whole hashes
            (.array([.unsigned(3), .bytes([9]), .bytes([UInt8](repeating: 0, count: 32 * 65))]), .malformed),   // 65 hashes
            (.array([.text("3"), .bytes([9]), .bytes([])]), .malformed),                                        // index not a number
            (.bytes([9]), .malformed),                                                                          // the old form: a bare entry
        ]
        for (entry, code) in refused {
            XCTAssertThrowsError(try LedgerHandoff(cbor: handoff([entry]))) { error in
                XCTAssertEqual((error as? ParleyError)?.code, code, "\(entry): \(error)")
            }
        }
    }
}
