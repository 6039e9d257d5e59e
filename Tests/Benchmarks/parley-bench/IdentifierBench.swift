import Foundation
import ParleyAnalysis
import ParleyEngine

// Identifier columns: what normalising and hashing in the worker costs at load time. The same
// 500,000 rows are loaded three ways in one run: as plain `text` (the baseline: what a party that
// pre-hashed uploads today), as raw `email` (trim, lower-case, Gmail dots, SHA-256 per distinct
// value) and as `sha256_email` (64 hex digits checked and lower-cased). Scripts/bench.sh prints
// each beside the text load and the ratio.

func benchIdentifiers() throws {
    let rows = 500_000
    var raw = "who,campaign\n", hashed = "who,campaign\n"
    raw.reserveCapacity(rows * 40)
    for i in 0 ..< rows {
        let campaign = ["spring", "summer", "fall"][i % 3]
        raw += (i % 5 == 0 ? "First.Last\(i)@Gmail.com" : "person\(i)@example.com") + ",\(campaign)\n"
        hashed += String(format: "%064x", UInt64(i) &* 0x9E37_79B9_7F4A_7C15) + ",\(campaign)\n"
    }
    let rawBytes = Array(raw.utf8), hashedBytes = Array(hashed.utf8)
    func schema(_ type: ColumnType) throws -> DatasetSchema {
        try DatasetSchema(name: "d", provider: "p", columns: [ColumnSchema(name: "who", type: type), ColumnSchema(name: "campaign", type: .text)],
                          privacyUnit: "who")
    }
    let text = try schema(.text), email = try schema(.email), sha = try schema(.sha256Email)
    measure("csv.load.text-ids", unit: "rows/s", minSeconds: 2) { _ = try! CSVLoader.load(rawBytes, schema: text); return rows }
    measure("csv.load.email-ids", unit: "rows/s", minSeconds: 2) { _ = try! CSVLoader.load(rawBytes, schema: email); return rows }
    measure("csv.load.text-hex-ids", unit: "rows/s", minSeconds: 2) { _ = try! CSVLoader.load(hashedBytes, schema: text); return rows }
    measure("csv.load.sha256-email-ids", unit: "rows/s", minSeconds: 2) { _ = try! CSVLoader.load(hashedBytes, schema: sha); return rows }
}
