import Crypto
import XCTest
@testable import ParleyCore

/// The worker entry format's one encoder (the worker's) and one decoder (every reader's).
final class WorkerEntryTests: XCTestCase {
    let key = P384.Signing.PrivateKey()
    var der: [UInt8] { Array(key.publicKey.derRepresentation) }

    static let kinds: [WorkerEntryKind] = [
        .uploadAccepted(.init(dataset: "d", provider: "p", ciphertextSHA256: [1, 2], rows: 3)),
        .release(.init(query: "q", receiver: "r", resultSHA256: [4], epsilon: "1", delta: "0", budgetLeft: "1/3",
                       suppressedGroups: 2, inputs: ["d": [5]])),
        .queryRefused(.init(query: "q", receiver: "r", code: .replayed, charge: nil)),
        .queryRefused(.init(query: "q", receiver: "r", code: .notComputable, charge: .init(epsilon: "1", delta: "0", budgetLeft: "0"))),
        .closed(spent: "1", budgetLeft: "1"),
    ]

    func testEveryKindRoundTripsThroughSignAndVerify() throws {
        for kind in Self.kinds {
            let entry = WorkerEntry(job: "job-00", timestampMillis: 42, kind: kind)
            guard case .verified(let read) = WorkerEntry.verify(try entry.signed(with: key), signingKey: der) else {
                return XCTFail("\(kind) did not verify")
            }
            XCTAssertEqual(read, entry)
        }
    }

    /// The bytes are those the string-literal writer produced (pinned field names and types).
    func testPayloadIsTheDocumentedMap() {
        let entry = WorkerEntry(job: "j", timestampMillis: 7, kind: .queryRefused(.init(
            query: "q", receiver: "r", code: .notComputable, charge: .init(epsilon: "1", delta: "0", budgetLeft: "0"))))
        XCTAssertEqual(entry.payload, CBOREncoder.encode(.textMap([
            "format": .text("parley/worker-entry/1"), "job": .text("j"), "timestamp": .unsigned(7), "kind": .text("query-refused"),
            "query": .text("q"), "receiver": .text("r"), "code": .text("not-computable"),
            "epsilon": .text("1"), "delta": .text("0"), "budget_left": .text("0"),
        ])))
        let release = WorkerEntry(job: "j", timestampMillis: 7, kind: Self.kinds[1])
        XCTAssertEqual(release.payload, CBOREncoder.encode(.textMap([
            "format": .text("parley/worker-entry/1"), "job": .text("j"), "timestamp": .unsigned(7), "kind": .text("release"),
            "query": .text("q"), "receiver": .text("r"), "result_sha256": .bytes([4]), "epsilon": .text("1"), "delta": .text("0"),
            "budget_left": .text("1/3"), "suppressed_groups": .unsigned(2), "inputs": .textMap(["d": .bytes([5])]),
        ])))
    }

    func signed(_ fields: [String: CBOR]) throws -> [UInt8] {
        var m = fields
        m["format"] = m["format"] ?? .text("parley/worker-entry/1")
        m["job"] = .text("j")
        m["timestamp"] = .unsigned(1)
        return try COSESign1.sign(payload: CBOREncoder.encode(.textMap(m)), with: .p384(key))
    }

    func rejection(_ bytes: [UInt8], signingKey: [UInt8]? = nil) -> WorkerEntryRejection? {
        if case .rejected(let why) = WorkerEntry.verify(bytes, signingKey: signingKey ?? der) { return why }
        return nil
    }

    func testRefusesUnknownFieldsKindsCodesAndOtherKeys() throws {
        let closed: [String: CBOR] = ["kind": .text("closed"), "spent": .text("1"), "budget_left": .text("1")]
        guard case .verified = WorkerEntry.verify(try signed(closed), signingKey: der) else { return XCTFail("the good entry must verify") }
        func malformed(_ fields: [String: CBOR], _ label: String) throws {
            guard case .malformedPayload? = rejection(try signed(fields)) else { return XCTFail(label) }
        }
        try malformed(closed.merging(["extra": .null]) { a, _ in a }, "unknown field")
        try malformed(["kind": .text("closed"), "spent": .text("1")], "missing field")
        try malformed(["kind": .text("reboot")], "unknown kind")
        try malformed(closed.merging(["format": .text("parley/worker-entry/2")]) { _, b in b }, "other format")
        try malformed(["kind": .text("query-refused"), "query": .text("q"), "receiver": .text("r"), "code": .text("free text")], "free-text code")
        try malformed(["kind": .text("query-refused"), "query": .text("q"), "receiver": .text("r"), "code": .text("replayed"),
                       "delta": .text("0")], "a charge without epsilon")
        let other = P384.Signing.PrivateKey()
        guard case .badSignature? = rejection(try signed(closed), signingKey: Array(other.publicKey.derRepresentation)) else {
            return XCTFail("another key's signature must be refused")
        }
        XCTAssertEqual(rejection(try signed(closed), signingKey: [1, 2, 3]), .unusableKey)
        guard case .notCOSE? = rejection([0x01]) else { return XCTFail("not COSE") }
    }
}
