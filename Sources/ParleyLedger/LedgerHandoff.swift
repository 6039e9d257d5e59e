import ParleyCore
import ParleyLog

/// What the host hands a new worker before it is ready: a signed checkpoint of its log, the log
/// key, and every entry of the log up to that checkpoint, so that the worker can recompute the
/// tree (nothing left out) and count what earlier jobs of its ledger spent.
///
/// Wire form (the `ledger` field of the `start` message), deterministic CBOR:
/// `{"checkpoint": bstr (signed note), "log_key": text (verifier key), "entries": [bstr]}`.
/// Untrusted until ``LedgerTally/verify(_:ledger:)`` checks it.
public struct LedgerHandoff: Sendable, Equatable {
    /// The most entries a handoff carries (the worker message's item cap).
    public static let maxEntries = 9_000
    /// The signed checkpoint note the entries must hash to.
    public let checkpointNote: [UInt8]
    /// The log's verifier key text.
    public let logKey: String
    /// Entries `0 ..< checkpoint size`, in order.
    public let entries: [[UInt8]]

    /// A handoff.
    public init(checkpointNote: [UInt8], logKey: String, entries: [[UInt8]]) {
        self.checkpointNote = checkpointNote
        self.logKey = logKey
        self.entries = entries
    }

    /// The CBOR form.
    public var cbor: CBOR {
        .textMap(["checkpoint": .bytes(checkpointNote), "log_key": .text(logKey), "entries": .array(entries.map { .bytes($0) })])
    }

    /// Reads the CBOR form. - Throws: `ParleyError` for a malformed or oversized handoff.
    public init(cbor: CBOR) throws {
        let m = try cbor.textKeyedMap("ledger handoff")
        try m.rejectUnknownKeys(["checkpoint", "log_key", "entries"], in: "ledger handoff")
        checkpointNote = try m.required("checkpoint", in: "ledger handoff").bytesValue("ledger checkpoint")
        logKey = try m.required("log_key", in: "ledger handoff").textValue("ledger log_key")
        let items = try m.required("entries", in: "ledger handoff").arrayValue("ledger entries")
        guard items.count <= Self.maxEntries else {
            throw ParleyError(.limitExceeded, "a ledger handoff carries at most \(Self.maxEntries) entries")
        }
        entries = try items.map { try $0.bytesValue("ledger entry") }
    }
}
