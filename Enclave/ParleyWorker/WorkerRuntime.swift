import Crypto
import Foundation
import ParleyAnalysis
import ParleyCore
import ParleyEgress
import ParleyPrivacy
import ParleyEngine
import ParleyLedger
import ParleyModule

/// The worker's side of the protocol: holds the keys and the plaintext, answers the host.
/// Plaintext and private keys live only in this process's memory; nothing here writes a file.
public final class WorkerRuntime {
    let channel: FramedChannel
    let debug: Bool
    /// Each lock-down step and its outcome, as `ready` reports them.
    let sandbox: [String: String]
    /// Made after lock-down, never sent anywhere but as public keys.
    let agreementKey = Curve25519.KeyAgreement.PrivateKey()
    let signingKey = P384.Signing.PrivateKey()

    var job = ""
    var module: ModuleDefinition?
    var plans: [String: QueryPlan] = [:]
    var gate: EgressGate?
    var budget: PrivacyBudget?
    /// Epsilon earlier jobs of the ledger spent, counted from the host's log before `ready`.
    var inherited: Rational = .zero
    /// Set once the job's closing entry is signed: nothing more is spent.
    var closed = false
    var tables: [String: Table] = [:]
    var digests: [String: [UInt8]] = [:]
    var seenQueryNonces: Set<[UInt8]> = []
    /// Uploads under way, by dataset (the host relays uploads of different datasets side by side).
    var uploads: [String: UploadInProgress] = [:]
    /// At most this many uploads at once (a module declares few datasets; the host sends one per dataset).
    static let maxConcurrentUploads = 16
    /// A worker-held key that ranks each unit's groups when contributions are bounded.
    let boundingKey: BoundingKey
    /// Uploaded plaintext cap (CSV bytes per dataset).
    let maxUploadBytes: Int
    /// The clock every query answer waits on.
    let releaseClock: any ReleaseClock
    /// Every query answer (result or refusal) leaves a whole number of these after the
    /// request arrived, so that its timing reveals only which multiple it took.
    let releaseQuantum: Duration

    /// The default ``releaseQuantum`` (docs/privacy.md, "Timing": above the measured spread of
    /// the gate and of small engine runs).
    public static let defaultReleaseQuantum: Duration = .milliseconds(20)

    struct UploadInProgress {
        let dataset: String
        let signature: [UInt8]
        var opener: StreamOpener
        var hasher = SHA256()
        var plaintext: [UInt8] = []
        var failure: (code: RefusalCode, reason: String)?
    }

    public init(channel: FramedChannel, debug: Bool, sandbox: [String: String], maxUploadBytes: Int = 1 << 30,
                releaseClock: any ReleaseClock = SystemReleaseClock(), releaseQuantum: Duration = WorkerRuntime.defaultReleaseQuantum) throws {
        var rng = SystemRandomNumberGenerator()
        self.boundingKey = try BoundingKey((0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) })
        self.channel = channel
        self.debug = debug
        self.sandbox = sandbox
        self.maxUploadBytes = maxUploadBytes
        self.releaseClock = releaseClock
        self.releaseQuantum = releaseQuantum
    }

    /// Serves the host until `stop` or the channel closes. - Returns: the exit status to use.
    public func run() -> Int32 {
        do {
            while let frame = try channel.receive() {
                let message = try WorkerMessage(decoding: frame)
                if case .stop = message { return 0 }
                if let reply = try handle(message) { try channel.send(reply.encoded) }
            }
            return 0
        } catch {
            try? channel.send(WorkerMessage.failure(reason: "\(error)").encoded)
            return 70
        }
    }

    func handle(_ m: WorkerMessage) throws -> WorkerMessage? {
        switch m {
        case .heartbeat(let seq): return .heartbeatAck(seq: seq)
        case .start(let s): return try start(s)
        case .uploadBegin(let dataset, let signature): return try uploadBegin(dataset, signature: signature)
        case .uploadData(let dataset, let bytes): try uploadData(dataset, bytes); return nil
        case .uploadEnd(let dataset): return try uploadEnd(dataset)
        case .query(let q): return try closed ? refuseAfterClose(q) : query(q)
        case .close: return try close()
        case .stop, .ready, .heartbeatAck, .uploadAccepted, .uploadRefused, .result, .queryRefused, .closed, .failure:
            throw ParleyError(.malformed, "the host sent \(m.kind.rawValue), which only a worker sends")
        }
    }

    // MARK: start

    func start(_ m: WorkerMessage.Start) throws -> WorkerMessage {
        guard module == nil else { throw ParleyError(.malformed, "start was sent twice") }
        job = m.job
        try JobID.validate(job)
        let sealed = try SealedModule(bytes: m.module)
        let definition = sealed.definition
        plans = try definition.compiledQueries()
        let policy = try definition.privacyPolicy()
        gate = EgressGate(policy: policy)
        let claim = try inherit(m.ledger, ledger: definition.ledgerID)
        inherited = min(inherited, policy.budgetEpsilon)
        budget = try PrivacyBudget(total: policy.budgetEpsilon, epsilonSpent: inherited, deltaSpent: .zero, runs: 0)
        module = definition
        return .ready(.init(publicKey: Array(agreementKey.publicKey.rawRepresentation),
                            signingKey: Array(signingKey.publicKey.derRepresentation),
                            debug: debug, sandbox: sandbox, ledger: claim?.claim, ledgerCounted: claim?.counted ?? []))
    }

    /// Counts what earlier jobs of the ledger spent from the host's handoff (the ledger's entries,
    /// each proved into a signed checkpoint), and returns the claim the evidence will bind and the
    /// list of jobs it counted.
    /// - Throws: if the handoff does not verify: the worker then does not start.
    func inherit(_ handoff: CBOR?, ledger: [UInt8]) throws -> (claim: LedgerClaim, counted: [UInt64])? {
        guard let handoff else { return nil }
        switch LedgerTally.verify(try LedgerHandoff(cbor: handoff), ledger: ledger) {
        case .refused(let why): throw ParleyError(.verificationFailed, "the host's ledger handoff is refused: \(why)")
        case .verified(let v):
            inherited = v.tally.spent
            let counted = v.tally.countedLaunches
            return (LedgerClaim(id: ledger, logKey: v.logKey.encoded, checkpointSize: v.checkpoint.size, checkpointRoot: v.checkpoint.rootHash.bytes,
                                inherited: inherited.description, countedLaunches: counted), counted)
        }
    }

    // MARK: close

    /// Ends the job's spending: signs a `closed` entry with what this job spent, then refuses
    /// every query. Later jobs of the ledger count this job's spend from it; a job without one
    /// counts as having spent all it could.
    func close() throws -> WorkerMessage {
        closed = true
        let spent = budget.map { (try? $0.epsilonSpent.subtracting(inherited)) ?? $0.epsilonSpent } ?? .zero
        let entry = try signedEntry(.closed(spent: spent.description, budgetLeft: (budget?.remaining ?? .zero).description))
        return .closed(entry: entry)
    }

    func refuseAfterClose(_ m: WorkerMessage.Query) throws -> WorkerMessage {
        let code = RefusalCode.jobClosed
        let entry = try signedEntry(.queryRefused(.init(query: m.query, receiver: m.receiver, code: code, charge: nil)))
        return .queryRefused(.init(query: m.query, code: code,
                                   reason: "the job was closed; its budget is handed on to the ledger's next job", entry: entry))
    }

    // MARK: uploads

    /// Starts receiving an upload. It is never answered: the outcome (accepted, or refused with
    /// the first reason found) comes with `upload_end`, and nothing of a refused upload is kept.
    func uploadBegin(_ dataset: String, signature: [UInt8]) throws -> WorkerMessage? {
        guard uploads[dataset] == nil else {
            throw ParleyError(.malformed, "upload_begin for dataset \(dataset) while one is under way")
        }
        guard uploads.count < Self.maxConcurrentUploads else {
            throw ParleyError(.malformed, "more than \(Self.maxConcurrentUploads) uploads at once")
        }
        var u = UploadInProgress(dataset: dataset, signature: signature,
                                 opener: StreamOpener(privateKey: agreementKey, info: DataPlane.uploadInfo(job: job, dataset: dataset)))
        // Defense in depth: the host's rule, checked again here (the signature at the end).
        if let refusal = admission(dataset, signedByProvider: { _ in nil }) { u.failure = refusal }
        uploads[dataset] = u
        return nil
    }

    func uploadData(_ dataset: String, _ bytes: [UInt8]) throws {
        // Taken out while it grows, so the dictionary holds no second reference to copy on write.
        guard var u = uploads.removeValue(forKey: dataset) else {
            throw ParleyError(.malformed, "upload_data for dataset \(dataset) without upload_begin")
        }
        defer { uploads[dataset] = u }
        guard u.failure == nil else { return }
        u.hasher.update(data: bytes)
        do {
            for chunk in try u.opener.feed(bytes) {
                u.plaintext += chunk
                if u.plaintext.count > maxUploadBytes { u.failure = (.tooLarge, "the upload is larger than the worker's cap of \(maxUploadBytes) bytes"); break }
            }
        } catch let e as ParleyError {
            u.failure = (.badStream, e.reason)
        } catch { u.failure = (.badStream, "the upload stream does not open with the worker's key") }
    }

    func uploadEnd(_ dataset: String) throws -> WorkerMessage {
        guard let u = uploads.removeValue(forKey: dataset) else {
            throw ParleyError(.malformed, "upload_end for dataset \(dataset) without upload_begin")
        }
        if let failure = u.failure { return refusedUpload(u.dataset, failure.code, failure.reason) }
        do { try u.opener.finish() } catch let e as ParleyError { return refusedUpload(u.dataset, .badStream, e.reason) }
        let digest = Array(u.hasher.finalize())
        let signed = DataPlane.uploadSignedMessage(job: job, dataset: u.dataset, headerDigest: u.opener.headerDigest)
        if let refusal = admission(u.dataset, signedByProvider: { DataPlane.check(u.signature, over: signed, by: $0.signing) == .valid }) {
            return refusedUpload(u.dataset, refusal.code, refusal.reason)
        }
        guard let module, let decl = module.datasets[u.dataset] else {
            return refusedUpload(u.dataset, .undeclaredDataset, "dataset \(u.dataset) is not declared by the module")
        }
        let table: Table
        var summary: IdentifierSummary?
        do {
            guard let schema = try module.catalog().datasets[u.dataset] else {
                return refusedUpload(u.dataset, .undeclaredDataset, "dataset \(u.dataset) has no schema")
            }
            let loaded = try CSVLoader.loadReporting(u.plaintext, schema: schema)
            table = loaded.table
            if schema.columns.contains(where: { $0.type.isIdentifier }) { summary = Self.summary(loaded.identifiers) }
        } catch let error as CSVError {
            // Row, column and what was expected; CSVError never quotes a field's contents.
            return refusedUpload(u.dataset, .invalidCSV, error.description)
        } catch {
            return refusedUpload(u.dataset, .invalidCSV, "the upload does not match the dataset's declaration")
        }
        tables[u.dataset] = table
        digests[u.dataset] = digest
        let entry = try signedEntry(.uploadAccepted(.init(dataset: u.dataset, provider: decl.provider, ciphertextSHA256: digest,
                                                          rows: UInt64(table.rowCount))))
        return .uploadAccepted(.init(dataset: u.dataset, rows: UInt64(table.rowCount), digest: digest, entry: entry,
                                     identifiers: summary))
    }

    /// The engine's report in the worker protocol's form (row numbers and counts, no contents).
    static func summary(_ report: IdentifierReport) -> IdentifierSummary {
        IdentifierSummary(unusableRows: UInt64(report.unusableRows), droppedRows: UInt64(report.droppedRows),
                          rowNumbers: report.rowNumbers.map { UInt64($0) },
                          problems: report.problems.mapValues { byReason in
                              Dictionary(uniqueKeysWithValues: byReason.map { ($0.key.rawValue, UInt64($0.value)) })
                          })
    }

    /// The upload rule (``UploadAdmission``) as the worker sees the job: it collects until the
    /// module's datasets are in. - Returns: the refusal's code and reason, or nil if admitted.
    func admission(_ dataset: String, signedByProvider: (PartyPublicKey) -> Bool?) -> (code: RefusalCode, reason: String)? {
        guard let module else { return (.undeclaredDataset, "dataset \(dataset) is not declared by the module") }
        switch UploadAdmission.decide(module: module, dataset: dataset, signedByProvider: signedByProvider,
                                      job: .collecting(received: Set(tables.keys))) {
        case .admitted: return nil
        case .refused(let why):
            // `.collecting` is passed, so the refusal is one the worker has a code for.
            return (why.code ?? .undeclaredDataset, why.description)
        }
    }

    /// A refused upload: the code (for the public log) and the reason (for the provider only).
    func refusedUpload(_ dataset: String, _ code: RefusalCode, _ reason: String) -> WorkerMessage {
        .uploadRefused(.init(dataset: dataset, code: code, reason: reason))
    }

    /// A log entry that speaks for the worker: COSE_Sign1 (ES384) by its attested signing key.
    func signedEntry(_ kind: WorkerEntryKind) throws -> [UInt8] {
        try WorkerEntry(job: job, timestampMillis: UInt64(Date().timeIntervalSince1970 * 1000), kind: kind).signed(with: signingKey)
    }
}
