import Crypto
import Foundation

/// The byte strings parties sign and bind into encryption on the data path. Each is
/// deterministic CBOR with a `format` field, so a signature for one purpose can never be
/// replayed as another.
public enum DataPlane {
    /// HPKE `info` of an upload stream: binds the ciphertext to one job and one dataset.
    public static func uploadInfo(job: String, dataset: String) -> [UInt8] {
        CBOREncoder.encode(.textMap(["format": .text("parley/upload/1"), "job": .text(job), "dataset": .text(dataset)]))
    }

    /// What a provider signs before streaming an upload: the SHA-256 of the stream's header,
    /// which holds the HPKE encapsulated key the provider just made. Every chunk is sealed under
    /// a key derived from it and from the worker's private key, so the signature authenticates
    /// the whole stream: nobody else (the host included) can add, change or remove a chunk.
    public static func uploadSignedMessage(job: String, dataset: String, headerDigest: [UInt8]) -> [UInt8] {
        CBOREncoder.encode(.textMap(["format": .text("parley/upload-signature/1"), "job": .text(job),
                                     "dataset": .text(dataset), "header_sha256": .bytes(headerDigest)]))
    }

    /// What a receiver signs to run a query. The nonce (16-64 fresh bytes) makes each request
    /// unique: the worker refuses one it has seen.
    ///
    /// A query with `@parameters` signs their values too (`params`: name -> canonical text), so
    /// neither the host nor anyone else can change what the receiver asked; without parameters
    /// the map is absent and the message is what it always was.
    public static func queryRequestMessage(job: String, query: String, receiver: String, nonce: [UInt8],
                                           parameters: [String: String] = [:]) -> [UInt8] {
        var m: [String: CBOR] = ["format": .text("parley/query-request/1"), "job": .text(job), "query": .text(query),
                                 "receiver": .text(receiver), "nonce": .bytes(nonce)]
        if !parameters.isEmpty { m["params"] = .textMap(parameters.mapValues { .text($0) }) }
        return CBOREncoder.encode(.textMap(m))
    }

    /// Most parameter values one request may carry, and the longest (bytes).
    public static let maxQueryParameters = 8
    public static let maxQueryParameterBytes = 128

    /// HPKE `info` of a sealed result: binds it to the job, the query and the request's nonce.
    public static func resultInfo(job: String, query: String, nonce: [UInt8]) -> [UInt8] {
        CBOREncoder.encode(.textMap(["format": .text("parley/result/1"), "job": .text(job), "query": .text(query), "nonce": .bytes(nonce)]))
    }

    /// A P-256 signature (raw r||s) by a party's signing key.
    public static func sign(_ message: [UInt8], with key: P256.Signing.PrivateKey) throws -> [UInt8] {
        Array(try key.signature(for: message).rawRepresentation)
    }

    /// Whether `signature` is `key`'s over `message`; a verdict, never a Bool, so callers say why.
    public static func check(_ signature: [UInt8], over message: [UInt8], by key: P256.Signing.PublicKey) -> SignatureCheck {
        guard signature.count == 64, let s = try? P256.Signing.ECDSASignature(rawRepresentation: signature) else { return .malformed }
        return key.isValidSignature(s, for: message) ? .valid : .mismatch
    }

    public enum SignatureCheck: Sendable, Equatable {
        case valid
        case malformed
        case mismatch
    }
}

/// The result of one query run, `parley/result/1`: COSE_Sign1 (ES384) by the worker's attested
/// signing key, then HPKE-sealed to the receiver's agreement key.
public struct ResultDocument: Sendable, Equatable {
    public var job: String
    public var query: String
    public var columns: [String]
    /// Each cell is text (group keys, decimals, averages) or an integer (counts, integer sums).
    public var rows: [[CBOR]]
    public var suppressedGroups: UInt64
    public var mechanism: String
    public var epsilonCharged: String
    public var deltaCharged: String
    public var budgetLeft: String
    /// Dataset name -> SHA-256 of the upload stream it was computed from.
    public var inputs: [String: [UInt8]]
    public var timestampMillis: UInt64

    public static let format = "parley/result/1"

    public init(job: String, query: String, columns: [String], rows: [[CBOR]], suppressedGroups: UInt64, mechanism: String,
                epsilonCharged: String, deltaCharged: String, budgetLeft: String, inputs: [String: [UInt8]], timestampMillis: UInt64) {
        self.job = job; self.query = query; self.columns = columns; self.rows = rows; self.suppressedGroups = suppressedGroups
        self.mechanism = mechanism; self.epsilonCharged = epsilonCharged; self.deltaCharged = deltaCharged
        self.budgetLeft = budgetLeft; self.inputs = inputs; self.timestampMillis = timestampMillis
    }

    public var encoded: [UInt8] {
        var inputs: [String: CBOR] = [:]
        for (k, v) in self.inputs { inputs[k] = .bytes(v) }
        return CBOREncoder.encode(.textMap([
            "format": .text(Self.format), "job": .text(job), "query": .text(query), "columns": .array(columns.map { .text($0) }),
            "rows": .array(rows.map { .array($0) }), "suppressed_groups": .unsigned(suppressedGroups), "mechanism": .text(mechanism),
            "epsilon": .text(epsilonCharged), "delta": .text(deltaCharged), "budget_left": .text(budgetLeft),
            "inputs": .textMap(inputs), "timestamp": .unsigned(timestampMillis),
        ]))
    }

    public init(decoding bytes: [UInt8]) throws {
        let m = try CBORDecoder(limits: .init(maxBytes: 16 << 20, maxDepth: 4, maxItems: 2_000_000)).decode(bytes).textKeyedMap("result")
        try m.rejectUnknownKeys(["format", "job", "query", "columns", "rows", "suppressed_groups", "mechanism", "epsilon", "delta",
                                 "budget_left", "inputs", "timestamp"], in: "result")
        guard try m.required("format", in: "result").textValue("format") == Self.format else {
            throw ParleyError(.unsupported, "result format is not \(Self.format)")
        }
        job = try m.required("job", in: "result").textValue("job")
        query = try m.required("query", in: "result").textValue("query")
        let columns = try m.required("columns", in: "result").arrayValue("columns").map { try $0.textValue("column") }
        let rows = try m.required("rows", in: "result").arrayValue("rows").map { try $0.arrayValue("row") }
        guard rows.allSatisfy({ $0.count == columns.count }) else { throw ParleyError(.malformed, "a result row has the wrong number of cells") }
        self.columns = columns
        self.rows = rows
        suppressedGroups = try m.required("suppressed_groups", in: "result").unsignedValue("suppressed_groups")
        mechanism = try m.required("mechanism", in: "result").textValue("mechanism")
        epsilonCharged = try m.required("epsilon", in: "result").textValue("epsilon")
        deltaCharged = try m.required("delta", in: "result").textValue("delta")
        budgetLeft = try m.required("budget_left", in: "result").textValue("budget_left")
        inputs = try m.required("inputs", in: "result").textKeyedMap("inputs").mapValues { try $0.bytesValue("input digest") }
        timestampMillis = try m.required("timestamp", in: "result").unsignedValue("timestamp")
    }
}

extension DataPlane {
    /// SHA-256 of `bytes`.
    public static func sha256(_ bytes: [UInt8]) -> [UInt8] { Array(SHA256.hash(data: bytes)) }
}

extension DataPlane {
    /// A party key's fingerprint: hex SHA-256 of its SubjectPublicKeyInfo DER.
    public static func keyFingerprint<D: DataProtocol>(_ spki: D) -> String { Hex.encode(SHA256.hash(data: spki)) }
}
