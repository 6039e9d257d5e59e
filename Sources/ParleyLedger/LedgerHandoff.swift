import ParleyCore
import ParleyLog

/// What the host hands a new worker before it is ready: a signed checkpoint of its log, the log
/// key, and the entries of the worker's ledger up to that checkpoint (every earlier job's launch
/// entry, its worker-signed closing entry if any, and the host's stopped or failed entry if any),
/// each with its index and an RFC 9162 inclusion proof into the checkpoint. The worker checks
/// every proof and counts what it was given; what it cannot check, that no job was left out, its
/// evidence lets others check: it binds the checkpoint and the list of jobs counted, which every
/// party's client compares with the jobs of the ledger it saw, and the audit with the whole log.
///
/// Wire form (the `ledger` field of the `start` message), deterministic CBOR:
/// `{"checkpoint": bstr (signed note), "log_key": text, "entries": [[uint index, bstr entry,
/// bstr proof (32-byte hashes, leaf first)]]}`, indexes strictly ascending.
/// Untrusted until ``LedgerTally/verify(_:ledger:)`` checks it.
public struct LedgerHandoff: Sendable, Equatable {
    /// One proven entry.
    public struct Item: Sendable, Equatable {
        /// The entry's index in the log.
        public let index: UInt64
        /// The `parley/log-entry/1` bytes.
        public let entry: [UInt8]
        /// Its inclusion proof into the checkpoint, leaf first.
        public let proof: [TreeHash]

        /// An item.
        public init(index: UInt64, entry: [UInt8], proof: [TreeHash]) {
            self.index = index
            self.entry = entry
            self.proof = proof
        }
    }

    /// The most entries a handoff carries (three per earlier job at most).
    public static let maxEntries = 3 * LedgerClaim.maxCountedJobs
    /// The most bytes a handoff's entries and proofs take together (the worker channel's frames are 8 MiB).
    public static let maxBytes = 7 << 20
    /// The signed checkpoint note every proof leads to.
    public let checkpointNote: [UInt8]
    /// The log's verifier key text.
    public let logKey: String
    /// The ledger's entries, by ascending index.
    public let items: [Item]

    /// A handoff.
    public init(checkpointNote: [UInt8], logKey: String, items: [Item]) {
        self.checkpointNote = checkpointNote
        self.logKey = logKey
        self.items = items
    }

    /// The CBOR form.
    public var cbor: CBOR {
        .textMap(["checkpoint": .bytes(checkpointNote), "log_key": .text(logKey),
                  "entries": .array(items.map { .array([.unsigned($0.index), .bytes($0.entry), .bytes($0.proof.flatMap(\.bytes))]) })])
    }

    /// Reads the CBOR form (shape and caps only; the proofs are checked by ``LedgerTally/verify(_:ledger:)``).
    /// - Throws: `ParleyError` for a malformed or oversized handoff.
    public init(cbor: CBOR) throws {
        let m = try cbor.textKeyedMap("ledger handoff")
        try m.rejectUnknownKeys(["checkpoint", "log_key", "entries"], in: "ledger handoff")
        checkpointNote = try m.required("checkpoint", in: "ledger handoff").bytesValue("ledger checkpoint")
        logKey = try m.required("log_key", in: "ledger handoff").textValue("ledger log_key")
        let raw = try m.required("entries", in: "ledger handoff").arrayValue("ledger entries")
        guard raw.count <= Self.maxEntries else {
            throw ParleyError(.limitExceeded, "a ledger handoff carries at most \(Self.maxEntries) entries")
        }
        var items: [Item] = []
        items.reserveCapacity(raw.count)
        for (n, value) in raw.enumerated() {
            let parts = try value.arrayValue("ledger entry \(n)")
            guard parts.count == 3 else { throw ParleyError(.malformed, "ledger entry \(n) is not [index, entry, proof]") }
            let proofBytes = try parts[2].bytesValue("ledger entry \(n) proof")
            guard proofBytes.count % 32 == 0, proofBytes.count / 32 <= InclusionProof.maxPathLength else {
                throw ParleyError(.malformed, "ledger entry \(n)'s proof is not at most \(InclusionProof.maxPathLength) 32-byte hashes")
            }
            let proof = try stride(from: 0, to: proofBytes.count, by: 32).map { try TreeHash(bytes: Array(proofBytes[$0..<($0 + 32)])) }
            items.append(Item(index: try parts[0].unsignedValue("ledger entry \(n) index"), entry: try parts[1].bytesValue("ledger entry \(n) entry"), proof: proof))
        }
        self.items = items
    }
}
