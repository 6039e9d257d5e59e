import Foundation
import ParleyAttestation
import ParleyAudit
import ParleyCore
import ParleyFuzzTargets
import ParleyLedger
import ParleyLog
import XCTest

/// Every fuzz entry point survives its seeds, every truncation and bit flip of them, and random
/// bytes: the same inputs a short libFuzzer run starts from, replayed on every CI run.
final class FuzzTargetTests: XCTestCase {
    func testEveryTargetSurvivesMutatedSeedsAndRandomInput() throws {
        var rng = SystemRandomNumberGenerator()
        for target in FuzzTarget.allCases {
            let seeds = try FuzzSeeds.make(for: target)
            XCTAssertFalse(seeds.isEmpty, "\(target) has no seeds")
            for seed in seeds {
                target.run(seed)
                for cut in stride(from: 0, to: seed.count, by: max(1, seed.count / 64)) { target.run(Array(seed.prefix(cut))) }
                for _ in 0..<64 where !seed.isEmpty {
                    var m = seed
                    m[Int.random(in: 0..<m.count, using: &rng)] ^= UInt8(1 << Int.random(in: 0..<8, using: &rng))
                    target.run(m)
                }
            }
            for _ in 0..<256 {
                target.run((0..<Int.random(in: 0..<512, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) })
            }
        }
    }

    /// The ledger and witness seeds are accepted by their parsers, so a fuzz run starts past the
    /// framing and deep in each check (a seed that is refused at once would fuzz only the front).
    func testTheLedgerAndWitnessSeedsReachTheirChecks() throws {
        let witness = try FuzzSeeds.make(for: .witness)
        var state = FuzzTarget.witnessState
        guard case .cosigned(_, let checkpoint) = state.add(witness[0], now: 1_780_000_000) else { return XCTFail("the extending request was not cosigned") }
        XCTAssertEqual(checkpoint.size, 4)
        XCTAssertEqual(state.add(witness[1], now: 1_780_000_000), .refused(.conflict(latestSize: 4)))

        let handoff = try LedgerHandoff(cbor: try CBORDecoder().decode(try XCTUnwrap(FuzzSeeds.make(for: .handoff).first)))
        guard case .verified(let ledger) = LedgerTally.verify(handoff, ledger: FuzzTarget.ledgerID) else { return XCTFail("the handoff seed was refused") }
        XCTAssertEqual(ledger.checkpoint.size, 4)

        let claim = try LedgerClaim(cbor: try CBORDecoder().decode(try XCTUnwrap(FuzzSeeds.make(for: .ledgerClaim).first)), context: "seed")
        XCTAssertTrue(claim.binds([1]))
        XCTAssertFalse(claim.binds([0]))
        // The evidence target has a quote whose launch claims carry a ledger claim.
        let quotes = try FuzzSeeds.make(for: .evidence)
        guard case .software(let quote) = try UnverifiedEvidence.parse(quotes[2]) else { return XCTFail("not a software quote") }
        XCTAssertEqual(quote.claims.ledger, claim)
        // ... and one whose claims carry a lock-down report.
        guard case .software(let sandboxed) = try UnverifiedEvidence.parse(try XCTUnwrap(quotes.last)) else { return XCTFail("not a software quote") }
        XCTAssertEqual(sandboxed.claims.sandbox["identity"], "applied: uid 65534")
    }

    /// The log-record and API-body seeds are accepted, so those runs start inside the decoders.
    func testTheLogRecordAndAPIBodySeedsParse() throws {
        let records = try FuzzSeeds.make(for: .logRecord).map { try LogRecord(bytes: $0) }
        guard case .launch(let launch) = records.first?.body else { return XCTFail("the first seed is a launch record") }
        XCTAssertFalse(launch.claims.sandbox.isEmpty)
        XCTAssertNotNil(launch.claims.ledger)
        let bodies = try FuzzSeeds.make(for: .apiBody)
        XCTAssertEqual(try APIJSON.decode(QueryRequestBody.self, from: bodies[0], what: "seed").receiver, "brand")
        XCTAssertEqual(try APIJSON.decode(LiveJobStatus.self, from: bodies[1], what: "seed").datasets["d"]?.rows, 3)
    }
}
