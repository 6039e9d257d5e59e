/// One message between host and worker: deterministic CBOR `{"v": 1, "type": TYPE, ...fields}`.
///
/// This file is the protocol's only encoder (``encoded``) and only decoder
/// (``init(decoding:maxBytes:)``): the host and the worker build and read typed cases, never
/// field names. Each type has a fixed field set, and every field a fixed CBOR type; a message
/// with an unknown type, an unknown, missing or mistyped field is a protocol violation.
public enum WorkerMessage: Sendable, Equatable {
    // host -> worker
    /// The job's module and how to run it.
    case start(Start)
    /// A liveness probe; the worker answers ``heartbeatAck(seq:)`` with the same `seq`.
    case heartbeat(seq: UInt64)
    /// An upload begins: the provider's signature over the stream header, and the plaintext
    /// size the uploader announced, if it did (a hint: it only sizes the worker's buffers and
    /// lets it refuse early an upload that cannot fit; the worker never relies on it).
    case uploadBegin(dataset: String, signature: [UInt8], sizeHint: UInt64? = nil)
    /// A piece of an upload's ciphertext (uploads to different datasets may interleave).
    case uploadData(dataset: String, bytes: [UInt8])
    /// An upload ends: the worker answers ``uploadAccepted(_:)`` or ``uploadRefused(_:)``.
    case uploadEnd(dataset: String)
    /// A party's signed query request.
    case query(Query)
    /// Exit now.
    case stop
    /// End the job's spending: the worker signs a closing entry and refuses queries after.
    case close
    // worker -> host
    /// The worker's keys and how it locked itself down.
    case ready(Ready)
    /// The answer to ``heartbeat(seq:)``.
    case heartbeatAck(seq: UInt64)
    /// The upload was loaded.
    case uploadAccepted(UploadAccepted)
    /// The upload was refused: the code (for the log) and the reason (for the provider only).
    case uploadRefused(UploadRefused)
    /// A sealed result and its signed log entry.
    case result(Result)
    /// A refused query and its signed log entry.
    case queryRefused(QueryRefused)
    /// The worker-signed closing entry.
    case closed(entry: [UInt8])
    /// The worker is about to exit, and why.
    case failure(reason: String)

    /// `start`'s fields.
    public struct Start: Sendable, Equatable {
        /// The job id.
        public var job: String
        /// The sealed module bundle.
        public var module: [UInt8]
        /// Whether the worker runs in debug mode.
        public var debug: Bool
        /// The ledger handoff (`LedgerHandoff`'s CBOR, which its own parser reads), or nil for none.
        public var ledger: CBOR?

        public init(job: String, module: [UInt8], debug: Bool, ledger: CBOR?) {
            self.job = job
            self.module = module
            self.debug = debug
            self.ledger = ledger
        }
    }

    /// `query`'s fields.
    public struct Query: Sendable, Equatable {
        public var query: String
        public var receiver: String
        public var nonce: [UInt8]
        /// The receiver's signature over `DataPlane.queryRequestMessage`.
        public var signature: [UInt8]
        /// The values bound to the query's `@parameters` (canonical text), signed with the rest.
        public var parameters: [String: String]

        public init(query: String, receiver: String, nonce: [UInt8], signature: [UInt8], parameters: [String: String] = [:]) {
            self.query = query
            self.receiver = receiver
            self.nonce = nonce
            self.signature = signature
            self.parameters = parameters
        }
    }

    /// `ready`'s fields.
    public struct Ready: Sendable, Equatable {
        /// X25519 public key uploads and results are sealed with (raw).
        public var publicKey: [UInt8]
        /// P-384 public key the worker signs entries and results with (SubjectPublicKeyInfo DER).
        public var signingKey: [UInt8]
        public var debug: Bool
        /// Each lock-down step and its outcome.
        public var sandbox: [String: String]
        /// What the worker inherited from earlier jobs of its ledger, or nil.
        public var ledger: LedgerClaim?
        /// The launch entry indexes of the earlier jobs it counted (the list `ledger` binds by
        /// digest; empty without a ledger). Wire form: `ledger_counted`, ``LedgerClaim/pack(_:)``.
        public var ledgerCounted: [UInt64]

        public init(publicKey: [UInt8], signingKey: [UInt8], debug: Bool, sandbox: [String: String], ledger: LedgerClaim?,
                    ledgerCounted: [UInt64] = []) {
            self.publicKey = publicKey
            self.signingKey = signingKey
            self.debug = debug
            self.sandbox = sandbox
            self.ledger = ledger
            self.ledgerCounted = ledgerCounted
        }
    }

    /// `upload_accepted`'s fields.
    public struct UploadAccepted: Sendable, Equatable {
        public var dataset: String
        public var rows: UInt64
        /// SHA-256 of the ciphertext stream.
        public var digest: [UInt8]
        /// The worker-signed `upload-accepted` entry.
        public var entry: [UInt8]
        /// Unusable identifier fields, for a dataset with identifier columns (CBOR null otherwise).
        public var identifiers: IdentifierSummary?
        /// Plaintext (CSV) bytes parsed.
        public var bytes: UInt64
        /// Milliseconds from `upload_begin` to this answer (receiving, opening and parsing overlap).
        public var millis: UInt64

        public init(dataset: String, rows: UInt64, digest: [UInt8], entry: [UInt8], identifiers: IdentifierSummary? = nil,
                    bytes: UInt64 = 0, millis: UInt64 = 0) {
            self.dataset = dataset
            self.rows = rows
            self.digest = digest
            self.entry = entry
            self.identifiers = identifiers
            self.bytes = bytes
            self.millis = millis
        }
    }

    /// `upload_refused`'s fields.
    public struct UploadRefused: Sendable, Equatable {
        public var dataset: String
        public var code: RefusalCode
        /// For the provider only; never logged.
        public var reason: String

        public init(dataset: String, code: RefusalCode, reason: String) {
            self.dataset = dataset
            self.code = code
            self.reason = reason
        }
    }

    /// `result`'s fields.
    public struct Result: Sendable, Equatable {
        public var query: String
        /// The signed result document, sealed to the receiver.
        public var sealed: [UInt8]
        /// The worker-signed `release` entry.
        public var entry: [UInt8]

        public init(query: String, sealed: [UInt8], entry: [UInt8]) {
            self.query = query
            self.sealed = sealed
            self.entry = entry
        }
    }

    /// `query_refused`'s fields.
    public struct QueryRefused: Sendable, Equatable {
        public var query: String
        public var code: RefusalCode
        /// For the requester only.
        public var reason: String
        /// The worker-signed `query-refused` entry.
        public var entry: [UInt8]

        public init(query: String, code: RefusalCode, reason: String, entry: [UInt8]) {
            self.query = query
            self.code = code
            self.reason = reason
            self.entry = entry
        }
    }

    /// Every message type, by its wire name, with its fields.
    public enum Kind: String, Sendable, CaseIterable {
        case start, heartbeat
        case uploadBegin = "upload_begin", uploadData = "upload_data", uploadEnd = "upload_end"
        case query, stop, close
        case ready
        case heartbeatAck = "heartbeat_ack"
        case uploadAccepted = "upload_accepted", uploadRefused = "upload_refused"
        case result
        case queryRefused = "query_refused"
        case closed, failure

        /// The field names a message of this type carries, besides `v` and `type`.
        public var fields: Set<String> {
            switch self {
            case .start: return ["job", "module", "debug", "ledger"]
            case .heartbeat, .heartbeatAck: return ["seq"]
            case .uploadBegin: return ["dataset", "signature", "size_hint"]
            case .uploadData: return ["dataset", "bytes"]
            case .uploadEnd: return ["dataset"]
            case .query: return ["query", "receiver", "nonce", "signature", "params"]
            case .stop, .close: return []
            case .ready: return ["public_key", "signing_key", "debug", "sandbox", "ledger", "ledger_counted"]
            case .uploadAccepted: return ["dataset", "rows", "digest", "entry", "identifiers", "bytes", "millis"]
            case .uploadRefused: return ["dataset", "code", "reason"]
            case .result: return ["query", "sealed", "entry"]
            case .queryRefused: return ["query", "code", "reason", "entry"]
            case .closed: return ["entry"]
            case .failure: return ["reason"]
            }
        }
    }

    public static let version: UInt64 = 1

    /// The message's type.
    public var kind: Kind {
        switch self {
        case .start: .start
        case .heartbeat: .heartbeat
        case .uploadBegin: .uploadBegin
        case .uploadData: .uploadData
        case .uploadEnd: .uploadEnd
        case .query: .query
        case .stop: .stop
        case .close: .close
        case .ready: .ready
        case .heartbeatAck: .heartbeatAck
        case .uploadAccepted: .uploadAccepted
        case .uploadRefused: .uploadRefused
        case .result: .result
        case .queryRefused: .queryRefused
        case .closed: .closed
        case .failure: .failure
        }
    }

    /// The message's fields, by wire name.
    private var fields: [String: CBOR] {
        switch self {
        case .start(let s):
            return ["job": .text(s.job), "module": .bytes(s.module), "debug": .bool(s.debug), "ledger": s.ledger ?? .null]
        case .heartbeat(let seq), .heartbeatAck(let seq): return ["seq": .unsigned(seq)]
        case .uploadBegin(let dataset, let signature, let hint):
            return ["dataset": .text(dataset), "signature": .bytes(signature), "size_hint": hint.map { .unsigned($0) } ?? .null]
        case .uploadData(let dataset, let bytes): return ["dataset": .text(dataset), "bytes": .bytes(bytes)]
        case .uploadEnd(let dataset): return ["dataset": .text(dataset)]
        case .query(let q):
            return ["query": .text(q.query), "receiver": .text(q.receiver), "nonce": .bytes(q.nonce), "signature": .bytes(q.signature),
                    "params": .textMap(q.parameters.mapValues { .text($0) })]
        case .stop, .close: return [:]
        case .ready(let r):
            return ["public_key": .bytes(r.publicKey), "signing_key": .bytes(r.signingKey), "debug": .bool(r.debug),
                    "sandbox": .textMap(r.sandbox.mapValues { .text($0) }), "ledger": r.ledger?.cbor ?? .null,
                    "ledger_counted": .bytes(LedgerClaim.pack(r.ledgerCounted))]
        case .uploadAccepted(let a):
            return ["dataset": .text(a.dataset), "rows": .unsigned(a.rows), "digest": .bytes(a.digest), "entry": .bytes(a.entry),
                    "identifiers": a.identifiers?.cbor ?? .null, "bytes": .unsigned(a.bytes), "millis": .unsigned(a.millis)]
        case .uploadRefused(let r): return ["dataset": .text(r.dataset), "code": .text(r.code.rawValue), "reason": .text(r.reason)]
        case .result(let r): return ["query": .text(r.query), "sealed": .bytes(r.sealed), "entry": .bytes(r.entry)]
        case .queryRefused(let r):
            return ["query": .text(r.query), "code": .text(r.code.rawValue), "reason": .text(r.reason), "entry": .bytes(r.entry)]
        case .closed(let entry): return ["entry": .bytes(entry)]
        case .failure(let reason): return ["reason": .text(reason)]
        }
    }

    /// The message's deterministic CBOR.
    public var encoded: [UInt8] {
        var m = fields
        m["v"] = .unsigned(Self.version)
        m["type"] = .text(kind.rawValue)
        return CBOREncoder.encode(.textMap(m))
    }

    /// Parses a received frame. - Throws: a protocol violation, naming it.
    public init(decoding bytes: [UInt8], maxBytes: Int = 8 << 20) throws {
        var m = try CBORDecoder(limits: .init(maxBytes: maxBytes, maxDepth: 6, maxItems: 1 << 18)).decode(bytes).textKeyedMap("message")
        guard case .unsigned(Self.version)? = m.removeValue(forKey: "v") else {
            throw ParleyError(.unsupported, "worker message has no or an unsupported version")
        }
        guard case .text(let t)? = m.removeValue(forKey: "type"), let kind = Kind(rawValue: t) else {
            throw ParleyError(.unsupported, "worker message has an unknown type")
        }
        guard Set(m.keys) == kind.fields else {
            throw ParleyError(.malformed, "worker message \(kind.rawValue) must have exactly the fields \(kind.fields.sorted())")
        }
        let f = Fields(m, kind.rawValue)
        switch kind {
        case .start:
            let ledger = f.raw("ledger")
            self = .start(Start(job: try f.text("job"), module: try f.bytes("module"), debug: try f.bool("debug"),
                                ledger: ledger == .null ? nil : ledger))
        case .heartbeat: self = .heartbeat(seq: try f.unsigned("seq"))
        case .heartbeatAck: self = .heartbeatAck(seq: try f.unsigned("seq"))
        case .uploadBegin:
            let hint = f.raw("size_hint")
            self = .uploadBegin(dataset: try f.text("dataset"), signature: try f.bytes("signature"),
                                sizeHint: hint == .null ? nil : try hint.unsignedValue("upload_begin size_hint"))
        case .uploadData: self = .uploadData(dataset: try f.text("dataset"), bytes: try f.bytes("bytes"))
        case .uploadEnd: self = .uploadEnd(dataset: try f.text("dataset"))
        case .query:
            let parameters = try f.raw("params").textKeyedMap("query params")
            guard parameters.count <= DataPlane.maxQueryParameters else { throw ParleyError(.malformed, "query has too many params") }
            self = .query(Query(query: try f.text("query"), receiver: try f.text("receiver"), nonce: try f.bytes("nonce"),
                                signature: try f.bytes("signature"), parameters: try parameters.mapValues { try $0.textValue("query param") }))
        case .stop: self = .stop
        case .close: self = .close
        case .ready:
            var sandbox: [String: String] = [:]
            for (step, outcome) in try f.raw("sandbox").textKeyedMap("ready sandbox") {
                sandbox[step] = try outcome.textValue("ready sandbox \(step)")
            }
            let ledger = f.raw("ledger")
            let claim = ledger == .null ? nil : try LedgerClaim(cbor: ledger, context: "ready")
            let counted = try LedgerClaim.unpack(try f.bytes("ledger_counted"), context: "ready ledger_counted")
            guard claim?.binds(counted) ?? counted.isEmpty else {
                throw ParleyError(.malformed, "ready's ledger_counted is not the list its ledger claim binds")
            }
            self = .ready(Ready(publicKey: try f.bytes("public_key"), signingKey: try f.bytes("signing_key"), debug: try f.bool("debug"),
                                sandbox: sandbox, ledger: claim, ledgerCounted: counted))
        case .uploadAccepted:
            let identifiers = f.raw("identifiers")
            self = .uploadAccepted(UploadAccepted(dataset: try f.text("dataset"), rows: try f.unsigned("rows"),
                                                  digest: try f.bytes("digest"), entry: try f.bytes("entry"),
                                                  identifiers: identifiers == .null ? nil : try IdentifierSummary(cbor: identifiers),
                                                  bytes: try f.unsigned("bytes"), millis: try f.unsigned("millis")))
        case .uploadRefused:
            self = .uploadRefused(UploadRefused(dataset: try f.text("dataset"), code: try f.code("code"), reason: try f.text("reason")))
        case .result: self = .result(Result(query: try f.text("query"), sealed: try f.bytes("sealed"), entry: try f.bytes("entry")))
        case .queryRefused:
            self = .queryRefused(QueryRefused(query: try f.text("query"), code: try f.code("code"), reason: try f.text("reason"),
                                              entry: try f.bytes("entry")))
        case .closed: self = .closed(entry: try f.bytes("entry"))
        case .failure: self = .failure(reason: try f.text("reason"))
        }
    }

    /// A decoded message's fields (their names already checked), read with errors naming the field.
    private struct Fields {
        let map: [String: CBOR]
        let type: String
        init(_ map: [String: CBOR], _ type: String) { self.map = map; self.type = type }
        func raw(_ key: String) -> CBOR { map[key] ?? .null }
        func text(_ key: String) throws -> String { try raw(key).textValue("\(type) \(key)") }
        func bytes(_ key: String) throws -> [UInt8] { try raw(key).bytesValue("\(type) \(key)") }
        func bool(_ key: String) throws -> Bool { try raw(key).boolValue("\(type) \(key)") }
        func unsigned(_ key: String) throws -> UInt64 { try raw(key).unsignedValue("\(type) \(key)") }
        func code(_ key: String) throws -> RefusalCode {
            let text = try self.text(key)
            guard let code = RefusalCode(rawValue: text) else {
                throw ParleyError(.unsupported, "\(type) has an unknown refusal code")
            }
            return code
        }
    }
}
