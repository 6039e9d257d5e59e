import Foundation

// The JSON bodies of the host's HTTP API (docs/openapi.yaml), one Codable type per schema. The
// host encodes them and the party's client decodes them, so each shape has exactly one encoder
// and one decoder. Field names are the document's (snake_case where it says so). Bodies the
// host reads from a client (`QueryRequestBody`) refuse unknown fields, as every wire format does.

/// Encoding and decoding of the API's JSON bodies: sorted keys (stable output for diffing and
/// for tests), and a decoding failure that says which body was not understood.
public enum APIJSON {
    /// Largest JSON body either side decodes (the biggest, a job list, stays far below).
    public static let maxBytes = 4 << 20

    public static func encode<T: Encodable>(_ value: T, pretty: Bool = false) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        // Every type here encodes only strings, integers, booleans, arrays and objects: it cannot fail.
        return Array((try? encoder.encode(value)) ?? Data("{}".utf8))
    }

    /// - Throws: ``ParleyError`` `.malformed` naming `what` when the bytes are not that body.
    public static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8], what: String) throws -> T {
        guard bytes.count <= maxBytes else { throw ParleyError(.malformed, "\(what) is over \(maxBytes) bytes") }
        do {
            return try JSONDecoder().decode(type, from: Data(bytes))
        } catch let e as ParleyError {
            throw e
        } catch let DecodingError.keyNotFound(key, _) {
            throw ParleyError(.malformed, "\(what) has no \"\(key.stringValue)\"")
        } catch let DecodingError.typeMismatch(_, context) where !context.codingPath.isEmpty {
            throw ParleyError(.malformed, "\(what) has a field of the wrong type at \(context.codingPath.map(\.stringValue).joined(separator: "."))")
        } catch let DecodingError.valueNotFound(_, context) where !context.codingPath.isEmpty {
            throw ParleyError(.malformed, "\(what) has a null field at \(context.codingPath.map(\.stringValue).joined(separator: "."))")
        } catch {
            throw ParleyError(.malformed, "\(what) is not the JSON object the API documents")
        }
    }
}

/// A field that is always present in JSON: its value, or `null` (where a document requires the
/// key). As a property wrapper (`@Nullable var reason: String?`) it keeps a type's Codable
/// synthesized; decoding requires the key and reads `null` as nil.
@propertyWrapper
public struct Nullable<Value: Sendable>: Sendable {
    public var wrappedValue: Value?
    public init(wrappedValue: Value?) { self.wrappedValue = wrappedValue }
    public init(_ value: Value?) { wrappedValue = value }
}

extension Nullable: Encodable where Value: Encodable {
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        if let wrappedValue { try c.encode(wrappedValue) } else { try c.encodeNil() }
    }
}

extension Nullable: Decodable where Value: Decodable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        wrappedValue = c.decodeNil() ? nil : try c.decode(Value.self)
    }
}

extension Nullable: Equatable where Value: Equatable {}

/// Any key, for checking that a decoded object has no field its type does not know.
public struct AnyCodingKey: CodingKey, Sendable {
    public var stringValue: String
    public var intValue: Int? { nil }
    public init(stringValue: String) { self.stringValue = stringValue }
    public init?(intValue: Int) { nil }
}

extension Decoder {
    /// Refuses an object with a field outside `known` (the strict decoding every wire format uses).
    public func refuseUnknownFields(_ known: Set<String>, in what: String) throws {
        let all = try container(keyedBy: AnyCodingKey.self).allKeys.map(\.stringValue)
        if let extra = all.sorted().first(where: { !known.contains($0) }) {
            throw ParleyError(.malformed, "\(what) has an unknown field \"\(extra.prefix(64))\"")
        }
    }
}

/// A refusal: `{"error": words for a person, "code": a stable code for programs}`.
public struct APIErrorBody: Codable, Sendable, Equatable {
    public var error: String
    public var code: String
    public init(error: String, code: String) { self.error = error; self.code = code }
}

/// `GET /v1/health` answer.
public struct HealthBody: Codable, Sendable, Equatable {
    public var status: String
    public init(status: String) { self.status = status }
}

/// `POST /v1/jobs` answer (201).
public struct LaunchedJob: Codable, Sendable, Equatable {
    public var job: String
    public var state: String
    public var tier: String
    /// The module's name.
    public var module: String
    public var measurement: String
    public var runtime: String
    public init(job: String, state: String, tier: String, module: String, measurement: String, runtime: String) {
        self.job = job; self.state = state; self.tier = tier; self.module = module; self.measurement = measurement; self.runtime = runtime
    }
}

/// One row of `GET /v1/jobs`; `reason` is always present, null unless the job failed.
public struct JobSummary: Codable, Sendable, Equatable {
    public var job: String
    public var state: String
    /// Null, not absent, unless the job failed: the document requires the field.
    @Nullable public var reason: String?
    public var module: String
    public var tier: String
    public init(job: String, state: String, reason: String?, module: String, tier: String) {
        self.job = job; self.state = state; self.reason = reason; self.module = module; self.tier = tier
    }
}

/// `GET /v1/jobs` answer.
public struct JobList: Codable, Sendable, Equatable {
    public var jobs: [JobSummary]
    public init(jobs: [JobSummary]) { self.jobs = jobs }
}

/// `GET /v1/jobs/{job}` for a job the host runs now.
public struct LiveJobStatus: Codable, Sendable, Equatable {
    public struct Module: Codable, Sendable, Equatable {
        public var name: String
        public var version: String
        public var measurement: String
        public var signer: String
        public init(name: String, version: String, measurement: String, signer: String) {
            self.name = name; self.version = version; self.measurement = measurement; self.signer = signer
        }
    }
    public struct Dataset: Codable, Sendable, Equatable {
        public var provider: String
        public var accepted: Bool
        /// Present once accepted.
        public var rows: UInt64?
        public var digest: String?
        public init(provider: String, accepted: Bool, rows: UInt64? = nil, digest: String? = nil) {
            self.provider = provider; self.accepted = accepted; self.rows = rows; self.digest = digest
        }
    }
    public struct Query: Codable, Sendable, Equatable {
        public var receivers: [String]
        public init(receivers: [String]) { self.receivers = receivers }
    }
    public var job: String
    public var state: String
    /// Present only when the job failed.
    public var reason: String?
    public var tier: String
    public var module: Module
    public var runtime: String
    public var datasets: [String: Dataset]
    public var queries: [String: Query]
    /// Party name to the SHA-256 fingerprint (hex) of its signing key's SubjectPublicKeyInfo.
    public var parties: [String: String]
    public init(job: String, state: String, reason: String?, tier: String, module: Module, runtime: String,
                datasets: [String: Dataset], queries: [String: Query], parties: [String: String]) {
        self.job = job; self.state = state; self.reason = reason; self.tier = tier; self.module = module
        self.runtime = runtime; self.datasets = datasets; self.queries = queries; self.parties = parties
    }
}

/// `GET /v1/jobs/{job}` for a job of an earlier run of the host (from the job store).
public struct StoredJobStatus: Codable, Sendable, Equatable {
    public struct Module: Codable, Sendable, Equatable {
        public var name: String
        public var measurement: String
        public init(name: String, measurement: String) { self.name = name; self.measurement = measurement }
    }
    public var job: String
    public var state: String
    /// Null, not absent, unless the job failed: the document requires the field.
    @Nullable public var reason: String?
    public var tier: String
    public var module: Module
    public init(job: String, state: String, reason: String?, tier: String, module: Module) {
        self.job = job; self.state = state; self.reason = reason; self.tier = tier; self.module = module
    }
}

/// What the worker reports to a provider about the identifier columns of its upload: rows whose
/// identifier fields it could not use (numbered as CSV errors number rows: the header is row
/// 1), and why, per column. Never a field's contents. Only for datasets with identifier columns.
public struct IdentifierSummary: Codable, Sendable, Equatable {
    /// Most row numbers listed (the counts are complete).
    public static let maxListedRows = 1000
    /// Most columns and reasons a summary may name (a module declares far fewer).
    public static let maxColumns = 64

    /// Rows with at least one unusable identifier field.
    public var unusableRows: UInt64
    /// Of those, rows with no usable identifier of a person: never matched, not kept.
    public var droppedRows: UInt64
    /// The first ``maxListedRows`` unusable rows, ascending.
    public var rowNumbers: [UInt64]
    /// Column -> reason (`empty`, `not_an_email`, `not_a_phone_number`, `not_sha256_hex`) -> fields.
    public var problems: [String: [String: UInt64]]

    public init(unusableRows: UInt64, droppedRows: UInt64, rowNumbers: [UInt64], problems: [String: [String: UInt64]]) {
        self.unusableRows = unusableRows; self.droppedRows = droppedRows; self.rowNumbers = rowNumbers; self.problems = problems
    }
    enum CodingKeys: String, CodingKey {
        case unusableRows = "unusable_rows", droppedRows = "dropped_rows", rowNumbers = "row_numbers", problems
    }

    /// The summary as the worker protocol carries it.
    public var cbor: CBOR {
        .textMap(["unusable_rows": .unsigned(unusableRows), "dropped_rows": .unsigned(droppedRows),
                  "row_numbers": .array(rowNumbers.map { .unsigned($0) }),
                  "problems": .textMap(problems.mapValues { .textMap($0.mapValues { .unsigned($0) }) })])
    }

    /// Parses the worker protocol's form, with every count capped. - Throws: if malformed.
    public init(cbor: CBOR) throws {
        let m = try cbor.textKeyedMap("identifier summary")
        guard Set(m.keys) == ["unusable_rows", "dropped_rows", "row_numbers", "problems"] else {
            throw ParleyError(.malformed, "identifier summary must have exactly unusable_rows, dropped_rows, row_numbers, problems")
        }
        func field(_ key: String) -> CBOR { m[key] ?? .null }
        unusableRows = try field("unusable_rows").unsignedValue("unusable_rows")
        droppedRows = try field("dropped_rows").unsignedValue("dropped_rows")
        let rows = try field("row_numbers").arrayValue("row_numbers")
        guard rows.count <= Self.maxListedRows, droppedRows <= unusableRows, UInt64(rows.count) <= unusableRows else {
            throw ParleyError(.malformed, "identifier summary lists more rows than it counts, or more than \(Self.maxListedRows)")
        }
        rowNumbers = try rows.map { try $0.unsignedValue("row number") }
        let columns = try field("problems").textKeyedMap("problems")
        guard columns.count <= Self.maxColumns else { throw ParleyError(.malformed, "identifier summary names too many columns") }
        var problems: [String: [String: UInt64]] = [:]
        for (column, reasons) in columns {
            let byReason = try reasons.textKeyedMap("problems of \(column)")
            guard byReason.count <= Self.maxColumns else { throw ParleyError(.malformed, "identifier summary names too many reasons") }
            problems[column] = try byReason.mapValues { try $0.unsignedValue("problem count") }
        }
        self.problems = problems
    }
}

/// `PUT /v1/jobs/{job}/datasets/{dataset}` answer: the worker's receipt.
public struct UploadReceiptBody: Codable, Sendable, Equatable {
    public var dataset: String
    public var rows: UInt64
    /// SHA-256 of the ciphertext stream, as the worker computed it (hex).
    public var digest: String
    /// The log's size right after the worker's `upload-accepted` entry.
    public var logSize: UInt64
    /// Unusable identifier fields, for a dataset with identifier columns (else absent). The
    /// worker's signed entry carries `rows`; this part is the worker's report relayed by the host.
    public var identifiers: IdentifierSummary?
    /// CSV bytes the worker parsed (the plaintext, header included); absent from older hosts.
    public var plaintextBytes: UInt64?
    /// Seconds the worker spent on the upload, from its first byte to its acceptance (receiving,
    /// opening and parsing overlap); absent from older hosts.
    public var seconds: Double?
    public init(dataset: String, rows: UInt64, digest: String, logSize: UInt64, identifiers: IdentifierSummary? = nil,
                plaintextBytes: UInt64? = nil, seconds: Double? = nil) {
        self.dataset = dataset; self.rows = rows; self.digest = digest; self.logSize = logSize; self.identifiers = identifiers
        self.plaintextBytes = plaintextBytes; self.seconds = seconds
    }
    enum CodingKeys: String, CodingKey {
        case dataset, rows, digest, identifiers, seconds
        case logSize = "log_size"
        case plaintextBytes = "plaintext_bytes"
    }
}

/// `POST /v1/jobs/{job}/queries/{query}` request, signed by the receiver.
public struct QueryRequestBody: Codable, Sendable, Equatable {
    public var receiver: String
    /// 16 to 64 fresh random bytes, bound into the sealed result.
    public var nonce: [UInt8]
    /// The receiver's P-256 signature (r || s) over `parley/query-request/1`.
    public var signature: [UInt8]
    /// Values for the query's `@parameters` (name -> canonical text), signed with the rest;
    /// absent (empty) for a query without parameters.
    public var parameters: [String: String]

    public static let nonceBytes = 16...64

    public init(receiver: String, nonce: [UInt8], signature: [UInt8], parameters: [String: String] = [:]) {
        self.receiver = receiver; self.nonce = nonce; self.signature = signature; self.parameters = parameters
    }
    enum CodingKeys: String, CodingKey { case receiver, nonce, signature, parameters = "params" }

    public init(from decoder: any Decoder) throws {
        try decoder.refuseUnknownFields(["receiver", "nonce", "signature", "params"], in: "the query request")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        receiver = try c.decode(String.self, forKey: .receiver)
        guard let n = try? Hex.decode(try c.decode(String.self, forKey: .nonce)), Self.nonceBytes.contains(n.count) else {
            throw ParleyError(.malformed, "the query request's nonce is not \(Self.nonceBytes.lowerBound) to \(Self.nonceBytes.upperBound) bytes in hex")
        }
        guard let s = try? Hex.decode(try c.decode(String.self, forKey: .signature)) else {
            throw ParleyError(.malformed, "the query request's signature is not hex")
        }
        nonce = n
        signature = s
        let declared = try c.decodeIfPresent([String: String].self, forKey: .parameters) ?? [:]
        guard declared.count <= DataPlane.maxQueryParameters,
              declared.allSatisfy({ $0.key.utf8.count <= 64 && $0.value.utf8.count <= DataPlane.maxQueryParameterBytes }) else {
            throw ParleyError(.malformed, "the query request's params must be at most \(DataPlane.maxQueryParameters) names of at most 64 bytes with values of at most \(DataPlane.maxQueryParameterBytes) bytes")
        }
        parameters = declared
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(receiver, forKey: .receiver)
        try c.encode(Hex.encode(nonce), forKey: .nonce)
        try c.encode(Hex.encode(signature), forKey: .signature)
        if !parameters.isEmpty { try c.encode(parameters, forKey: .parameters) }
    }
}

/// `POST /v1/jobs/{job}/stop` answer.
public struct StoppedJob: Codable, Sendable, Equatable {
    public var job: String
    public var state: String
    public init(job: String, state: String) { self.job = job; self.state = state }
}

/// `parley query run --format json`: one object with the result's rows; a cell is a JSON number
/// when the worker sent an integer, a string otherwise (group keys, decimals, averages).
public struct ResultJSON: Encodable, Sendable {
    public enum Cell: Encodable, Sendable, Equatable {
        case integer(Int64)
        case text(String)
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.singleValueContainer()
            switch self {
            case .integer(let i): try c.encode(i)
            case .text(let t): try c.encode(t)
            }
        }
    }
    public var job: String
    public var query: String
    public var columns: [String]
    public var rows: [[Cell]]
    public var suppressedGroups: UInt64
    public var epsilonCharged: String
    public var budgetLeft: String

    public init(_ doc: ResultDocument) {
        job = doc.job; query = doc.query; columns = doc.columns
        rows = doc.rows.map { $0.map { c in
            if let i = c.int64 { return .integer(i) }
            if case .text(let t) = c { return .text(t) }
            return .text(c.description)
        } }
        suppressedGroups = doc.suppressedGroups; epsilonCharged = doc.epsilonCharged; budgetLeft = doc.budgetLeft
    }
    enum CodingKeys: String, CodingKey {
        case job, query, columns, rows
        case suppressedGroups = "suppressed_groups", epsilonCharged = "epsilon_charged", budgetLeft = "budget_left"
    }
}
