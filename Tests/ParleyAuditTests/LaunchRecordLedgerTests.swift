import Crypto
import Foundation
import ParleyAttestation
import ParleyAudit
import ParleyCore
import XCTest

/// A launch entry carries the list of earlier jobs its worker counted (`ledger_counted`) beside
/// the claim that binds it by digest (docs/log.md section 3): the writer and the reader refuse a
/// list the claim does not bind, and a list without a claim.
final class LaunchRecordLedgerTests: XCTestCase {
    func claims(counted: [UInt64]) throws -> LaunchClaims {
        var c = LaunchClaims(job: "job-1", runtime: try .init(bytes: .init(repeating: 1, count: 48)), module: try .init(bytes: .init(repeating: 2, count: 48)),
                             moduleSigner: try .init(bytes: .init(repeating: 3, count: 48)), debug: false, publicKey: .init(repeating: 4, count: 32),
                             signingKey: Array(P256.Signing.PrivateKey().publicKey.derRepresentation))
        c.ledger = LedgerClaim(id: .init(repeating: 5, count: 32), logKey: "log+01020304+AQ", checkpointSize: 10,
                               checkpointRoot: .init(repeating: 6, count: 32), inherited: "1", countedLaunches: counted)
        return c
    }

    func record(_ claims: LaunchClaims, counted: [UInt64]) throws -> LogRecord {
        try LogRecord(job: "job-1", timeMillis: 1, body: .launch(LaunchRecord(claims: claims, tier: .software, ledgerCounted: counted, moduleBundle: [1],
                                                                            evidence: [2], nonce: try Nonce(bytes: .init(repeating: 7, count: 32)))))
    }

    /// The entry's bytes with `ledger_counted` replaced (nil: removed).
    func rewritten(_ record: LogRecord, _ counted: CBOR?) throws -> [UInt8] {
        var m = try CBORDecoder().decode(record.encoded).textKeyedMap("entry")
        m["ledger_counted"] = counted
        return CBOREncoder.encode(.textMap(m))
    }

    func testTheCountedListRoundTripsAndAListTheClaimDoesNotBindIsRefused() throws {
        let good = try record(try claims(counted: [0, 4]), counted: [0, 4])
        XCTAssertEqual(try LogRecord(bytes: good.encoded), good)
        // Written: another list than the claim binds, or a list without a claim.
        XCTAssertThrowsError(try record(try claims(counted: [0, 4]), counted: [0])) { error in
            XCTAssertEqual((error as? AuditError)?.code, .invalidRecord, "\(error)")
        }
        var unbound = try claims(counted: [])
        unbound.ledger = nil
        XCTAssertThrowsError(try record(unbound, counted: [3]))
        // Read: a list left out, changed, out of order or cut; a list beside no claim.
        for counted: CBOR? in [nil, .bytes(LedgerClaim.pack([0, 5])), .bytes(LedgerClaim.pack([4, 0])), .bytes([0, 0, 0])] {
            XCTAssertThrowsError(try LogRecord(bytes: try rewritten(good, counted))) { error in
                XCTAssertEqual((error as? ParleyError)?.code, .malformed, "\(error)")
            }
        }
        let plain = try record(unbound, counted: [])
        XCTAssertThrowsError(try LogRecord(bytes: try rewritten(plain, .bytes(LedgerClaim.pack([1]))))) { error in
            XCTAssertTrue("\(error)".contains("ledger_counted without a ledger claim"), "\(error)")
        }
    }
}
