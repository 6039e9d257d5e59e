/// One message between host and worker: deterministic CBOR `{"v": 1, "type": TYPE, ...fields}`.
/// Each type has a fixed field set; a message with an unknown type, an unknown field or a
/// missing field is a protocol violation.
public struct WorkerMessage: Sendable, Equatable {
    /// Every message type, with its fields.
    public enum Kind: String, Sendable, CaseIterable {
        // host -> worker
        case start            // job, module (sealed bundle), debug, ledger (handoff map, or null)
        case heartbeat        // seq
        case uploadBegin = "upload_begin"   // dataset, signature (provider's, over the stream header)
        case uploadData = "upload_data"     // dataset, bytes (uploads to different datasets may interleave)
        case uploadEnd = "upload_end"       // dataset
        case query            // query, receiver, nonce, signature
        case stop
        case close            // end the job's spending: the worker signs a closing entry and refuses queries after
        // worker -> host
        case ready            // public_key, signing_key, debug, sandbox, ledger (claim map, or null)
        case heartbeatAck = "heartbeat_ack" // seq
        case uploadAccepted = "upload_accepted" // dataset, rows, digest, entry
        case uploadRefused = "upload_refused"   // dataset, code, reason (reason for the provider only)
        case result           // query, sealed, entry
        case queryRefused = "query_refused"     // query, code, reason, entry
        case closed           // entry (the worker-signed closing entry)
        case failure          // reason (the worker is about to exit)

        public var fields: Set<String> {
            switch self {
            case .start: return ["job", "module", "debug", "ledger"]
            case .heartbeat, .heartbeatAck: return ["seq"]
            case .uploadBegin: return ["dataset", "signature"]
            case .uploadData: return ["dataset", "bytes"]
            case .uploadEnd: return ["dataset"]
            case .query: return ["query", "receiver", "nonce", "signature"]
            case .stop, .close: return []
            case .ready: return ["public_key", "signing_key", "debug", "sandbox", "ledger"]
            case .uploadAccepted: return ["dataset", "rows", "digest", "entry"]
            case .uploadRefused: return ["dataset", "code", "reason"]
            case .result: return ["query", "sealed", "entry"]
            case .queryRefused: return ["query", "code", "reason", "entry"]
            case .closed: return ["entry"]
            case .failure: return ["reason"]
            }
        }
    }

    public static let version: UInt64 = 1
    public let kind: Kind
    public let fields: [String: CBOR]

    /// - Precondition: `fields` has exactly the kind's field names (checked: a mismatch traps in
    ///   debug builds and is refused by the receiver).
    public init(_ kind: Kind, _ fields: [String: CBOR] = [:]) {
        assert(Set(fields.keys) == kind.fields, "\(kind) needs \(kind.fields.sorted())")
        self.kind = kind
        self.fields = fields
    }

    /// The message's CBOR.
    public var encoded: [UInt8] {
        var m = fields
        m["v"] = .unsigned(Self.version)
        m["type"] = .text(kind.rawValue)
        return CBOREncoder.encode(.textMap(m))
    }

    /// Parses a received frame. - Throws: a protocol violation, naming it.
    public init(decoding bytes: [UInt8], maxBytes: Int = 8 << 20) throws {
        var m = try CBORDecoder(limits: .init(maxBytes: maxBytes, maxDepth: 6, maxItems: 10_000)).decode(bytes).textKeyedMap("message")
        guard case .unsigned(Self.version)? = m.removeValue(forKey: "v") else {
            throw ParleyError(.unsupported, "worker message has no or an unsupported version")
        }
        guard case .text(let t)? = m.removeValue(forKey: "type"), let kind = Kind(rawValue: t) else {
            throw ParleyError(.unsupported, "worker message has an unknown type")
        }
        guard Set(m.keys) == kind.fields else {
            throw ParleyError(.malformed, "worker message \(kind.rawValue) must have exactly the fields \(kind.fields.sorted())")
        }
        self.kind = kind
        self.fields = m
    }

    /// A field, known present (the initializers guarantee the set).
    public subscript(_ key: String) -> CBOR { fields[key] ?? .null }
}
