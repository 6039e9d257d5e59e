import Crypto

/// An entry the worker signed, `parley/worker-entry/1`: COSE_Sign1 (ES384) by the worker's
/// attested signing key over deterministic CBOR `{format, job, timestamp, kind, ...}`.
///
/// The one encoder (``payload``, ``signed(with:)``, used by the worker) and the one decoder
/// (``verify(_:signingKey:)``, used by parties, auditors and the ledger tally) of the format.
/// A reader gets a `WorkerEntry` only from ``verify(_:signingKey:)``, so holding one read from a
/// log means the key it was checked with signed it.
public struct WorkerEntry: Sendable, Equatable {
    /// The `format` value of every worker entry.
    public static let format = "parley/worker-entry/1"
    static let limits = CBORDecoder.Limits(maxBytes: 1 << 20, maxDepth: 4, maxItems: 256)

    /// The job the worker says it runs.
    public let job: String
    /// The worker's clock, in milliseconds since the Unix epoch.
    public let timestampMillis: UInt64
    /// What the worker did.
    public let kind: WorkerEntryKind

    /// An entry to sign (the worker's side).
    public init(job: String, timestampMillis: UInt64, kind: WorkerEntryKind) {
        self.job = job
        self.timestampMillis = timestampMillis
        self.kind = kind
    }

    /// The deterministic CBOR payload the worker signs.
    public var payload: [UInt8] {
        var m: [String: CBOR] = ["format": .text(Self.format), "job": .text(job), "timestamp": .unsigned(timestampMillis)]
        switch kind {
        case .uploadAccepted(let a):
            m["kind"] = .text("upload-accepted")
            m["dataset"] = .text(a.dataset)
            m["provider"] = .text(a.provider)
            m["ciphertext_sha256"] = .bytes(a.ciphertextSHA256)
            m["rows"] = .unsigned(a.rows)
        case .release(let r):
            m["kind"] = .text("release")
            m["query"] = .text(r.query)
            m["receiver"] = .text(r.receiver)
            m["result_sha256"] = .bytes(r.resultSHA256)
            m["epsilon"] = .text(r.epsilon)
            m["delta"] = .text(r.delta)
            m["budget_left"] = .text(r.budgetLeft)
            m["suppressed_groups"] = .unsigned(r.suppressedGroups)
            m["inputs"] = .textMap(r.inputs.mapValues { .bytes($0) })
            // Only for a query with parameters, so other releases keep their bytes.
            if !r.parameters.isEmpty { m["params"] = .textMap(r.parameters.mapValues { .text($0) }) }
        case .queryRefused(let q):
            m["kind"] = .text("query-refused")
            m["query"] = .text(q.query)
            m["receiver"] = .text(q.receiver)
            m["code"] = .text(q.code)
            if let charge = q.charge {
                m["epsilon"] = .text(charge.epsilon)
                m["delta"] = .text(charge.delta)
                m["budget_left"] = .text(charge.budgetLeft)
            }
        case .closed(let spent, let budgetLeft):
            m["kind"] = .text("closed")
            m["spent"] = .text(spent)
            m["budget_left"] = .text(budgetLeft)
        }
        return CBOREncoder.encode(.textMap(m))
    }

    /// The entry as the worker sends it: COSE_Sign1 (ES384) over ``payload``.
    public func signed(with key: P384.Signing.PrivateKey) throws -> [UInt8] {
        try COSESign1.sign(payload: payload, with: .p384(key))
    }

    /// Checks the COSE signature with `signingKey` (SubjectPublicKeyInfo DER), then parses the
    /// authenticated payload.
    public static func verify(_ bytes: [UInt8], signingKey: [UInt8]) -> WorkerEntryVerdict {
        let message: COSESign1
        do { message = try COSESign1(bytes: bytes, limits: limits) } catch {
            return .rejected(.notCOSE("\(error)"))
        }
        let key: ECVerifyingKey
        do { key = try ECVerifyingKey(der: signingKey) } catch { return .rejected(.unusableKey) }
        let payload: [UInt8]
        switch message.verify(with: key) {
        case .invalid(let failure): return .rejected(.badSignature(failure))
        case .valid(let verified): payload = verified.payload
        }
        do { return .verified(try WorkerEntry(payload: payload)) } catch {
            return .rejected(.malformedPayload("\(error)"))
        }
    }

    /// The `kind` a signed entry's payload states, without checking its signature. UNTRUSTED: only
    /// for the host's own index of its log (which entries a ledger handoff carries); every reader
    /// that counts an entry verifies it with ``verify(_:signingKey:)``. Nil if it does not parse.
    public static func untrustedKind(_ bytes: [UInt8]) -> String? {
        guard let message = try? COSESign1(bytes: bytes, limits: limits),
              let m = try? CBORDecoder(limits: limits).decode(message.untrustedPayload).textKeyedMap("worker entry"),
              (try? m["format"]?.textValue("format")) == format else { return nil }
        return try? m["kind"]?.textValue("kind")
    }

    /// Parses a payload. UNTRUSTED until its signature is checked: readers use ``verify(_:signingKey:)``.
    init(payload: [UInt8]) throws {
        let m = try CBORDecoder(limits: Self.limits).decode(payload).textKeyedMap("worker entry")
        let format = try m.required("format", in: "worker entry").textValue("worker entry format")
        guard format == Self.format else { throw ParleyError(.unsupported, "worker entry format \"\(format)\" is not \(Self.format)") }
        job = try m.required("job", in: "worker entry").textValue("worker entry job")
        timestampMillis = try m.required("timestamp", in: "worker entry").unsignedValue("worker entry timestamp")
        let kindText = try m.required("kind", in: "worker entry").textValue("worker entry kind")
        let common: Set<String> = ["format", "job", "timestamp", "kind"]
        let c = "\(kindText) entry"
        switch kindText {
        case "upload-accepted":
            try m.rejectUnknownKeys(common.union(["dataset", "provider", "ciphertext_sha256", "rows"]), in: c)
            kind = .uploadAccepted(UploadAccepted(
                dataset: try m.required("dataset", in: c).textValue("\(c) dataset"),
                provider: try m.required("provider", in: c).textValue("\(c) provider"),
                ciphertextSHA256: try m.required("ciphertext_sha256", in: c).bytesValue("\(c) ciphertext_sha256"),
                rows: try m.required("rows", in: c).unsignedValue("\(c) rows")))
        case "release":
            try m.rejectUnknownKeys(common.union(["query", "receiver", "result_sha256", "epsilon", "delta", "budget_left",
                                                  "suppressed_groups", "inputs", "params"]), in: c)
            var parameters: [String: String] = [:]
            if let declared = m["params"] {
                let map = try declared.textKeyedMap("\(c) params")
                guard !map.isEmpty, map.count <= DataPlane.maxQueryParameters else {
                    throw ParleyError(.malformed, "\(c) params must have 1 to \(DataPlane.maxQueryParameters) entries")
                }
                parameters = try map.mapValues { try $0.textValue("\(c) param") }
            }
            var inputs: [String: [UInt8]] = [:]
            for (name, digest) in try m.required("inputs", in: c).textKeyedMap("\(c) inputs") {
                inputs[name] = try digest.bytesValue("\(c) input \(name)")
            }
            kind = .release(Release(
                query: try m.required("query", in: c).textValue("\(c) query"),
                receiver: try m.required("receiver", in: c).textValue("\(c) receiver"),
                resultSHA256: try m.required("result_sha256", in: c).bytesValue("\(c) result_sha256"),
                epsilon: try m.required("epsilon", in: c).textValue("\(c) epsilon"),
                delta: try m.required("delta", in: c).textValue("\(c) delta"),
                budgetLeft: try m.required("budget_left", in: c).textValue("\(c) budget_left"),
                suppressedGroups: try m.required("suppressed_groups", in: c).unsignedValue("\(c) suppressed_groups"),
                inputs: inputs, parameters: parameters))
        case "query-refused":
            try m.rejectUnknownKeys(common.union(["query", "receiver", "code", "epsilon", "delta", "budget_left"]), in: c)
            var charge: Charge?
            if let epsilon = m["epsilon"] {
                charge = Charge(epsilon: try epsilon.textValue("\(c) epsilon"),
                                delta: try m.required("delta", in: c).textValue("\(c) delta"),
                                budgetLeft: try m.required("budget_left", in: c).textValue("\(c) budget_left"))
            } else if m["delta"] != nil || m["budget_left"] != nil {
                throw ParleyError(.malformed, "\(c) has delta or budget_left without epsilon")
            }
            kind = .queryRefused(QueryRefused(
                query: try m.required("query", in: c).textValue("\(c) query"),
                receiver: try m.required("receiver", in: c).textValue("\(c) receiver"),
                codeText: try RefusalCode.logged(try m.required("code", in: c).textValue("\(c) code"), in: c),
                charge: charge))
        case "closed":
            try m.rejectUnknownKeys(common.union(["spent", "budget_left"]), in: c)
            kind = .closed(spent: try m.required("spent", in: c).textValue("\(c) spent"),
                           budgetLeft: try m.required("budget_left", in: c).textValue("\(c) budget_left"))
        default:
            throw ParleyError(.unsupported, "worker entry has an unknown kind \"\(kindText)\"")
        }
    }

    /// An accepted upload.
    public struct UploadAccepted: Sendable, Equatable {
        /// The dataset name the module declares.
        public let dataset: String
        /// The party that provides it.
        public let provider: String
        /// SHA-256 of the ciphertext stream the worker decrypted.
        public let ciphertextSHA256: [UInt8]
        /// Rows loaded.
        public let rows: UInt64

        public init(dataset: String, provider: String, ciphertextSHA256: [UInt8], rows: UInt64) {
            self.dataset = dataset
            self.provider = provider
            self.ciphertextSHA256 = ciphertextSHA256
            self.rows = rows
        }
    }

    /// A released aggregate (its values are not logged).
    public struct Release: Sendable, Equatable {
        /// The declared query's name.
        public let query: String
        /// The party the result was sealed to.
        public let receiver: String
        /// SHA-256 of the signed result document.
        public let resultSHA256: [UInt8]
        /// Epsilon charged, as exact decimal or fraction text.
        public let epsilon: String
        /// Delta charged.
        public let delta: String
        /// The worker's budget left after this release.
        public let budgetLeft: String
        /// Groups withheld by the minimum group size.
        public let suppressedGroups: UInt64
        /// Dataset name -> ciphertext digest of the inputs the query read.
        public let inputs: [String: [UInt8]]
        /// The values the receiver bound to the query's `@parameters` (canonical text); empty
        /// for a query without parameters.
        public let parameters: [String: String]

        public init(query: String, receiver: String, resultSHA256: [UInt8], epsilon: String, delta: String, budgetLeft: String,
                    suppressedGroups: UInt64, inputs: [String: [UInt8]], parameters: [String: String] = [:]) {
            self.parameters = parameters
            self.query = query
            self.receiver = receiver
            self.resultSHA256 = resultSHA256
            self.epsilon = epsilon
            self.delta = delta
            self.budgetLeft = budgetLeft
            self.suppressedGroups = suppressedGroups
            self.inputs = inputs
        }
    }
}

extension WorkerEntry {
    /// A refused query: its code, and the charge when the refusal came after it.
    public struct QueryRefused: Sendable, Equatable {
        /// The query asked for.
        public let query: String
        /// The party that asked.
        public let receiver: String
        /// The refusal code (one of `RefusalCode`).
        public let code: String
        /// What the run was charged, if the refusal came after the charge (`not-computable`).
        public let charge: Charge?

        /// A refusal to log; only a ``RefusalCode`` can be written.
        public init(query: String, receiver: String, code: RefusalCode, charge: Charge?) {
            self.init(query: query, receiver: receiver, codeText: code.rawValue, charge: charge)
        }

        init(query: String, receiver: String, codeText: String, charge: Charge?) {
            self.query = query
            self.receiver = receiver
            self.code = codeText
            self.charge = charge
        }
    }

    /// The charge of a run that was refused after it.
    public struct Charge: Sendable, Equatable {
        /// Epsilon charged.
        public let epsilon: String
        /// Delta charged.
        public let delta: String
        /// The worker's budget left after the charge.
        public let budgetLeft: String

        public init(epsilon: String, delta: String, budgetLeft: String) {
            self.epsilon = epsilon
            self.delta = delta
            self.budgetLeft = budgetLeft
        }
    }
}

/// What a worker entry records.
public enum WorkerEntryKind: Sendable, Equatable {
    /// `upload-accepted`.
    case uploadAccepted(WorkerEntry.UploadAccepted)
    /// `release`.
    case release(WorkerEntry.Release)
    /// `query-refused`.
    case queryRefused(WorkerEntry.QueryRefused)
    /// `closed`: the job's spending ended; `spent` is what this job spent (exact), `budgetLeft` what the ledger has left.
    case closed(spent: String, budgetLeft: String)
}

/// The outcome of checking a worker entry.
public enum WorkerEntryVerdict: Sendable {
    /// The key signed it; here is what it says.
    case verified(WorkerEntry)
    /// It must not be believed, and why.
    case rejected(WorkerEntryRejection)
}

/// Why a worker entry was refused.
public enum WorkerEntryRejection: Sendable, Equatable, CustomStringConvertible {
    /// The bytes are not a COSE_Sign1 Parley accepts.
    case notCOSE(String)
    /// The launch's signing key does not decode as a P-256 or P-384 key.
    case unusableKey
    /// The signature does not verify with the launched worker's key.
    case badSignature(COSEFailure)
    /// Signed, but not a worker entry Parley understands.
    case malformedPayload(String)

    /// An English reason.
    public var description: String {
        switch self {
        case .notCOSE(let why): "the worker entry is not a COSE_Sign1: \(why)"
        case .unusableKey: "the job's attested signing key is unusable"
        case .badSignature(let failure): "the worker entry is not signed by the job's attested key: \(failure)"
        case .malformedPayload(let why): "the signed worker entry does not parse: \(why)"
        }
    }
}
