import Foundation
import ParleyAttestation
import ParleyCore

/// One entry of the host's log, `parley/log-entry/1`: deterministic CBOR
/// `{format, kind, job, time, ...}` (field by field in docs/log.md).
///
/// The host writes these; an auditor reads them back with ``init(bytes:)``. A parsed record is
/// only what the host *said*: the replay trusts a launch after re-verifying its evidence, and a
/// worker entry after checking its signature with the key that evidence attests.
public struct LogRecord: Sendable, Equatable {
    /// The `format` value of every entry.
    public static let format = "parley/log-entry/1"
    /// Caps for decoding one entry: the log's 16 MiB entry cap, depth 4, 128 items.
    static let limits = CBORDecoder.Limits(maxBytes: 16 << 20, maxDepth: 4, maxItems: 128)
    /// Longest reason text kept; longer reasons are cut (with a trailing "...") by the writer.
    public static let maxReasonLength = 4096

    /// The job the entry is about.
    public let job: String
    /// When the host recorded it, in milliseconds since the Unix epoch (the host's clock).
    public let timeMillis: UInt64
    /// What happened.
    public let body: LogRecordBody

    /// A record; `job` must be a valid job id.
    /// - Throws: `AuditError` `.invalidRecord` for a bad job id or dataset name.
    public init(job: String, timeMillis: UInt64, body: LogRecordBody) throws(AuditError) {
        do { try LaunchClaims.validateJobID(job) } catch {
            throw AuditError(.invalidRecord, "cannot log an entry for job \(job.debugDescription): not a valid job id")
        }
        if case .launch(let launch) = body, launch.claims.job != job {
            throw AuditError(.invalidRecord, "the launch claims are for job \(launch.claims.job), not \(job)")
        }
        if case .launch(let launch) = body, !(launch.claims.ledger?.binds(launch.ledgerCounted) ?? launch.ledgerCounted.isEmpty) {
            throw AuditError(.invalidRecord, "the launch's counted jobs are not the list its ledger claim binds")
        }
        self.job = job
        self.timeMillis = timeMillis
        self.body = body
    }

    /// The entry's kind as written in `kind`.
    public var kind: String { body.kind }

    /// The deterministic CBOR bytes appended to the log.
    public var encoded: [UInt8] {
        var m: [String: CBOR] = ["format": .text(Self.format), "kind": .text(kind), "job": .text(job), "time": .unsigned(timeMillis)]
        switch body {
        case .launch(let l):
            // The claims' own encoder (its `job` is the record's, checked equal at init).
            m.merge(l.claims.fields()) { record, _ in record }
            m["tier"] = .text(l.tier.rawValue)
            m["module_bundle"] = .bytes(l.moduleBundle)
            m["evidence"] = .bytes(l.evidence)
            if let platform = l.platform { m["platform"] = platform.cbor }
            if l.claims.ledger != nil { m["ledger_counted"] = .bytes(LedgerClaim.pack(l.ledgerCounted)) }
            m["nonce"] = .bytes(l.nonce.bytes)
        case .worker(let entry):
            m["entry"] = .bytes(entry)
        case .uploadRefused(let dataset, let code):
            m["dataset"] = .text(dataset)
            m["code"] = .text(code)
        case .stopped:
            break
        case .failed(let reason):
            m["reason"] = .text(reason)
        }
        return CBOREncoder.encode(.textMap(m))
    }

    /// Parses an entry read from a log. UNTRUSTED: see the type's documentation.
    /// - Throws: `ParleyError` naming the first defect: not deterministic CBOR, another
    ///   `format`, an unknown `kind`, a missing, mistyped or unknown field.
    public init(bytes: [UInt8]) throws {
        let m = try CBORDecoder(limits: Self.limits).decode(bytes).textKeyedMap("log entry")
        let format = try m.required("format", in: "log entry").textValue("log entry format")
        guard format == Self.format else { throw ParleyError(.unsupported, "entry format \"\(format)\" is not \(Self.format)") }
        let kind = try m.required("kind", in: "log entry").textValue("log entry kind")
        let common: Set<String> = ["format", "kind", "job", "time"]
        let job = try m.required("job", in: "log entry").textValue("log entry job")
        let time = try m.required("time", in: "log entry").unsignedValue("log entry time")
        let context = "\(kind) entry"
        let body: LogRecordBody
        switch kind {
        case "launch":
            try m.rejectUnknownKeys(common.union(["tier", "measurements", "debug", "public_key", "signing_key",
                                                  "module_bundle", "evidence", "nonce", "ledger", "sandbox", "platform", "ledger_counted"]), in: context)
            let tierText = try m.required("tier", in: context).textValue("\(context) tier")
            guard let tier = AssuranceTier(rawValue: tierText) else {
                throw ParleyError(.unsupported, "\(context) names an unknown tier \"\(tierText)\"")
            }
            // The claims' own decoder, which the sw-quote document and the TPM launch event use too.
            let claims = try LaunchClaims.parse(m, context: context)
            // The jobs the worker counted travel beside its claim, which binds them by digest
            // (checked by `init(job:timeMillis:body:)`, which every parse ends in).
            var counted: [UInt64] = []
            if claims.ledger != nil {
                counted = try LedgerClaim.unpack(try m.required("ledger_counted", in: context).bytesValue("\(context) ledger_counted"),
                                                 context: "\(context) ledger_counted")
            } else if m["ledger_counted"] != nil {
                throw ParleyError(.malformed, "\(context) has ledger_counted without a ledger claim")
            }
            body = .launch(LaunchRecord(claims: claims, tier: tier, ledgerCounted: counted,
                                        moduleBundle: try m.required("module_bundle", in: context).bytesValue("\(context) module_bundle"),
                                        evidence: try m.required("evidence", in: context).bytesValue("\(context) evidence"),
                                        nonce: try Nonce(bytes: try m.required("nonce", in: context).bytesValue("\(context) nonce")),
                                        platform: try m["platform"].map { try PlatformLogDelta(cbor: $0, context: context) }))
        case "worker":
            try m.rejectUnknownKeys(common.union(["entry"]), in: context)
            body = .worker(entry: try m.required("entry", in: context).bytesValue("\(context) entry"))
        case "upload-refused":
            try m.rejectUnknownKeys(common.union(["dataset", "code"]), in: context)
            body = .uploadRefused(dataset: try m.required("dataset", in: context).textValue("\(context) dataset"),
                                  code: try RefusalCode.logged(try m.required("code", in: context).textValue("\(context) code"), in: context))
        case "stopped":
            try m.rejectUnknownKeys(common, in: context)
            body = .stopped
        case "failed":
            try m.rejectUnknownKeys(common.union(["reason"]), in: context)
            body = .failed(reason: try m.required("reason", in: context).textValue("\(context) reason"))
        default:
            throw ParleyError(.unsupported, "log entry has an unknown kind \"\(kind)\"")
        }
        do { try self.init(job: job, timeMillis: time, body: body) } catch {
            throw ParleyError(.malformed, error.reason)
        }
    }

    /// Cuts a reason to ``maxReasonLength`` characters.
    package static func boundedReason(_ reason: String) -> String {
        reason.count <= maxReasonLength ? reason : String(reason.prefix(maxReasonLength - 3)) + "..."
    }
}

/// What a log entry records.
public enum LogRecordBody: Sendable, Equatable {
    /// A worker was launched and measured (`kind = "launch"`).
    case launch(LaunchRecord)
    /// An entry the worker signed, stored verbatim (`kind = "worker"`).
    case worker(entry: [UInt8])
    /// The worker refused an upload (`kind = "upload-refused"`): its refusal code only.
    case uploadRefused(dataset: String, code: String)
    /// The operator stopped the job (`kind = "stopped"`).
    case stopped
    /// The job failed (`kind = "failed"`): a crash, a missed heartbeat, a protocol violation.
    case failed(reason: String)

    /// The `kind` text.
    public var kind: String {
        switch self {
        case .launch: "launch"
        case .worker: "worker"
        case .uploadRefused: "upload-refused"
        case .stopped: "stopped"
        case .failed: "failed"
        }
    }
}

/// What a launch entry holds: the claims the host measured, the module it launched, and evidence
/// the host fetched for its own nonce, so that an auditor can re-verify the launch later.
public struct LaunchRecord: Sendable, Equatable {
    /// The launch claims as the host states them (the replay compares them with the evidence's).
    public let claims: LaunchClaims
    /// The quote provider's tier.
    public let tier: AssuranceTier
    /// The sealed module bundle, as launched.
    public let moduleBundle: [UInt8]
    /// Evidence (`parley/sw-quote/1` or `parley/tpm-quote/2`) for `nonce`, as stored: with a
    /// ``platform`` delta, TPM evidence without its `boot_log` and `ima_log`, which
    /// ``PlatformLogState/expand(stored:delta:)`` puts back from the earlier launch entries.
    public let evidence: [UInt8]
    /// The nonce the host asked the evidence for.
    public let nonce: Nonce
    /// TPM evidence only: its platform logs as a change from the previous launch entry's.
    public let platform: PlatformLogDelta?
    /// The launch entry indexes of the earlier jobs of its ledger the worker counted, ascending
    /// (`ledger_counted`; the claims' ledger binds them by digest). Empty without a ledger.
    public let ledgerCounted: [UInt64]

    /// Gathers a launch's record.
    public init(claims: LaunchClaims, tier: AssuranceTier, ledgerCounted: [UInt64] = [], moduleBundle: [UInt8], evidence: [UInt8], nonce: Nonce,
                platform: PlatformLogDelta? = nil) {
        self.claims = claims
        self.ledgerCounted = ledgerCounted
        self.tier = tier
        self.moduleBundle = moduleBundle
        self.evidence = evidence
        self.nonce = nonce
        self.platform = platform
    }
}
