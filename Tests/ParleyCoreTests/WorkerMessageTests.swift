import XCTest
@testable import ParleyCore

/// The host-worker protocol's one encoder and one decoder: every case round-trips, the bytes are
/// what the string-keyed protocol sent (so old and new ends interoperate), and every way a frame
/// can be wrong is refused.
final class WorkerMessageTests: XCTestCase {
    static let claim = LedgerClaim(id: [UInt8](repeating: 1, count: 32), logKey: "log+abcd", checkpointSize: 3,
                                   checkpointRoot: [UInt8](repeating: 2, count: 32), inherited: "1/3", countedLaunches: [0, 2])

    /// One of each case, with every optional both present and absent.
    static let all: [WorkerMessage] = [
        .start(.init(job: "job-1", module: [1, 2], debug: false, ledger: nil)),
        .start(.init(job: "job-1", module: [1, 2], debug: true, ledger: .textMap(["x": .unsigned(1)]))),
        .heartbeat(seq: 7), .heartbeatAck(seq: 7),
        .uploadBegin(dataset: "d", signature: [9]), .uploadData(dataset: "d", bytes: [1, 2, 3]), .uploadEnd(dataset: "d"),
        .query(.init(query: "q", receiver: "r", nonce: [UInt8](repeating: 4, count: 16), signature: [5])),
        .stop, .close,
        .ready(.init(publicKey: [1], signingKey: [2], debug: false, sandbox: ["seccomp": "applied"], ledger: nil)),
        .ready(.init(publicKey: [1], signingKey: [2], debug: true, sandbox: [:], ledger: claim, ledgerCounted: [0, 2])),
        .uploadAccepted(.init(dataset: "d", rows: 3, digest: [7], entry: [8])),
        .uploadRefused(.init(dataset: "d", code: .invalidCSV, reason: "row 2")),
        .result(.init(query: "q", sealed: [1], entry: [2])),
        .queryRefused(.init(query: "q", code: .budgetExceeded, reason: "spent", entry: [3])),
        .closed(entry: [4]), .failure(reason: "gone"),
    ]

    func testEveryCaseRoundTripsAndCarriesItsKindsFields() throws {
        XCTAssertEqual(Set(Self.all.map(\.kind)), Set(WorkerMessage.Kind.allCases), "the sample covers every kind")
        for message in Self.all {
            XCTAssertEqual(try WorkerMessage(decoding: message.encoded), message)
            let map = try CBORDecoder().decode(message.encoded).textKeyedMap("message")
            XCTAssertEqual(Set(map.keys), message.kind.fields.union(["v", "type"]), "\(message.kind)")
            XCTAssertEqual(map["type"], .text(message.kind.rawValue))
        }
    }

    /// Pinned bytes: the typed encoder writes what the string-keyed one wrote.
    func testBytesAreThoseOfTheStringKeyedProtocol() {
        // {"v": 1, "seq": 5, "type": "heartbeat"}, keys in encoded-byte order.
        XCTAssertEqual(WorkerMessage.heartbeat(seq: 5).encoded,
                       hex("a3 6176 01 63736571 05 6474797065 69 686561727462656174"))
        XCTAssertEqual(WorkerMessage.stop.encoded, hex("a2 6176 01 6474797065 64 73746f70"))
        let q = WorkerMessage.query(.init(query: "q", receiver: "r", nonce: [1], signature: [2]))
        XCTAssertEqual(q.encoded, CBOREncoder.encode(.textMap([
            "v": .unsigned(1), "type": .text("query"), "query": .text("q"), "receiver": .text("r"),
            "nonce": .bytes([1]), "signature": .bytes([2]), "params": .textMap([:]),
        ])))
        let start = WorkerMessage.start(.init(job: "j", module: [1], debug: false, ledger: nil))
        XCTAssertEqual(start.encoded, CBOREncoder.encode(.textMap([
            "v": .unsigned(1), "type": .text("start"), "job": .text("j"), "module": .bytes([1]), "debug": .bool(false), "ledger": .null,
        ])))
    }

    func frame(_ type: String, _ fields: [String: CBOR], version: UInt64 = 1) -> [UInt8] {
        var m = fields
        m["v"] = .unsigned(version)
        m["type"] = .text(type)
        return CBOREncoder.encode(.textMap(m))
    }

    func testRefusesUnknownMissingAndMistypedFields() {
        let good = ["dataset": CBOR.text("d")]
        XCTAssertEqual(try WorkerMessage(decoding: frame("upload_end", good)), .uploadEnd(dataset: "d"))
        assertRefused(.malformed, try WorkerMessage(decoding: frame("upload_end", good.merging(["extra": .null]) { a, _ in a })))
        assertRefused(.malformed, try WorkerMessage(decoding: frame("upload_end", [:])))
        assertRefused(.malformed, try WorkerMessage(decoding: frame("upload_end", ["dataset": .bytes([1])])))
        assertRefused(.malformed, try WorkerMessage(decoding: frame("heartbeat", ["seq": .text("1")])))
        assertRefused(.malformed, try WorkerMessage(decoding: frame("ready", [
            "public_key": .bytes([1]), "signing_key": .bytes([2]), "debug": .bool(false), "sandbox": .textMap(["s": .unsigned(1)]), "ledger": .null,
            "ledger_counted": .bytes([]),
        ])))
        // A ledger claim is checked as a claim.
        assertRefused(.unsupported, try WorkerMessage(decoding: frame("ready", [
            "public_key": .bytes([1]), "signing_key": .bytes([2]), "debug": .bool(false), "sandbox": .textMap([:]),
            "ledger": .textMap(["unknown": .null]), "ledger_counted": .bytes([]),
        ])))
        // The counted list must be the one the claim binds, in ascending order, and absent without a claim.
        for (ledger, counted) in [(Self.claim.cbor, LedgerClaim.pack([0])), (Self.claim.cbor, LedgerClaim.pack([2, 0])),
                                  (Self.claim.cbor, [1, 2, 3]), (CBOR.null, LedgerClaim.pack([0]))] {
            assertRefused(.malformed, try WorkerMessage(decoding: frame("ready", [
                "public_key": .bytes([1]), "signing_key": .bytes([2]), "debug": .bool(false), "sandbox": .textMap([:]),
                "ledger": ledger, "ledger_counted": .bytes(counted),
            ])))
        }
    }

    func testALedgerClaimRefusesCountsAndDigestsOutOfBounds() throws {
        XCTAssertEqual(try LedgerClaim(cbor: Self.claim.cbor, context: "t"), Self.claim)
        XCTAssertTrue(Self.claim.binds([0, 2]))
        XCTAssertFalse(Self.claim.binds([0, 1]))
        XCTAssertFalse(Self.claim.binds([0]))
        let good = try Self.claim.cbor.textKeyedMap("claim")
        func changed(_ fields: [String: CBOR]) -> CBOR { .textMap(good.merging(fields) { _, new in new }) }
        // More jobs counted than the checkpoint holds entries (it holds 3).
        assertRefused(.malformed, try LedgerClaim(cbor: changed(["counted": .unsigned(4)]), context: "t"))
        // More than a worker counts, even under a large enough checkpoint.
        let over = UInt64(LedgerClaim.maxCountedJobs) + 1
        assertRefused(.malformed, try LedgerClaim(cbor: changed(["counted": .unsigned(over), "checkpoint_size": .unsigned(over + 1)]), context: "t"))
        // A digest that is not SHA-256's length.
        assertRefused(.malformed, try LedgerClaim(cbor: changed(["counted_digest": .bytes([UInt8](repeating: 0, count: 31))]), context: "t"))
        // The old form's field is unknown now.
        assertRefused(.unsupported, try LedgerClaim(cbor: changed(["open_jobs": .array([])]), context: "t"))
    }

    func testRefusesUnknownTypesVersionsAndRefusalCodes() {
        assertRefused(.unsupported, try WorkerMessage(decoding: frame("reboot", [:])))
        assertRefused(.unsupported, try WorkerMessage(decoding: frame("stop", [:], version: 2)))
        assertRefused(.unsupported, try WorkerMessage(decoding: CBOREncoder.encode(.textMap(["type": .text("stop")]))))
        assertRefused(.unsupported, try WorkerMessage(decoding: frame("upload_refused", [
            "dataset": .text("d"), "code": .text("made-up"), "reason": .text("r"),
        ])))
        assertRefused(.malformed, try WorkerMessage(decoding: CBOREncoder.encode(.array([]))))
    }

    func testRefusesAFrameOverTheCap() {
        let big = WorkerMessage.uploadData(dataset: "d", bytes: [UInt8](repeating: 0, count: 2048)).encoded
        XCTAssertNoThrow(try WorkerMessage(decoding: big, maxBytes: 4096))
        XCTAssertThrowsError(try WorkerMessage(decoding: big, maxBytes: 1024))
    }
}
