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
    /// How much memory datasets may take (no fixed cap on an upload: this is the limit).
    let memory: WorkerMemory
    /// Bytes the accepted tables hold.
    var tableBytes = 0
    /// The clock upload times are read from.
    let now: @Sendable () -> ContinuousClock.Instant
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
        /// Parses the plaintext as it is opened (nil once the upload has failed: nothing kept).
        var loader: CSVStreamLoader?
        let sizeHint: Int?
        let started: ContinuousClock.Instant
        var failure: (code: RefusalCode, reason: String)?

        mutating func fail(_ code: RefusalCode, _ reason: String) {
            failure = (code, reason)
            loader = nil
        }
    }

    public init(channel: FramedChannel, debug: Bool, sandbox: [String: String], memory: WorkerMemory = .unlimited,
                releaseClock: any ReleaseClock = SystemReleaseClock(), releaseQuantum: Duration = WorkerRuntime.defaultReleaseQuantum,
                now: @escaping @Sendable () -> ContinuousClock.Instant = { .now }) throws {
        var rng = SystemRandomNumberGenerator()
        self.boundingKey = try BoundingKey((0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) })
        self.channel = channel
        self.debug = debug
        self.sandbox = sandbox
        self.memory = memory
        self.now = now
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
        case .uploadBegin(let dataset, let signature, let hint): return try uploadBegin(dataset, signature: signature, sizeHint: hint)
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
    /// The plaintext is parsed as it is opened, chunk by chunk: it never exists whole.
    func uploadBegin(_ dataset: String, signature: [UInt8], sizeHint: UInt64?) throws -> WorkerMessage? {
        guard uploads[dataset] == nil else {
            throw ParleyError(.malformed, "upload_begin for dataset \(dataset) while one is under way")
        }
        guard uploads.count < Self.maxConcurrentUploads else {
            throw ParleyError(.malformed, "more than \(Self.maxConcurrentUploads) uploads at once")
        }
        let hint = sizeHint.map { Int(clamping: $0) }
        var u = UploadInProgress(dataset: dataset, signature: signature,
                                 opener: StreamOpener(privateKey: agreementKey, info: DataPlane.uploadInfo(job: job, dataset: dataset)),
                                 sizeHint: hint, started: now())
        // Defense in depth: the host's rule, checked again here (the signature at the end).
        if let refusal = admission(dataset, signedByProvider: { _ in nil }) {
            u.fail(refusal.code, refusal.reason)
        } else if let schema = try? module?.catalog().datasets[dataset] {
            // No byte cap: the worker's memory is the limit (``checkMemory(_:)``).
            u.loader = CSVStreamLoader(schema: schema, limits: CSVLimits(maxBytes: .max), expectedBytes: hint,
                                       reserveLimit: max(0, memory.datasetBytes - heldBytes(besides: dataset)))
        } else {
            u.fail(.undeclaredDataset, "dataset \(dataset) has no schema")
        }
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
                try u.loader?.feed(chunk)
                if let refusal = checkMemory(u) { u.fail(.tooLarge, refusal); break }
            }
        } catch let e as CSVError {
            // Row, column and what was expected; CSVError never quotes a field's contents.
            u.fail(.invalidCSV, e.description)
        } catch let e as ParleyError {
            u.fail(.badStream, e.reason)
        } catch { u.fail(.badStream, "the upload stream does not open with the worker's key") }
    }

    /// Bytes held by accepted tables and by the uploads under way other than `dataset`.
    func heldBytes(besides dataset: String) -> Int {
        uploads.reduce(tableBytes) { $0 + ($1.key == dataset ? 0 : ($1.value.loader?.memoryBytes ?? 0)) }
    }

    /// Why the upload cannot go on within the worker's memory, if it cannot: refused here,
    /// cleanly, before an allocation could fail and end the worker. Two checks: the next step
    /// (the largest column doubling) must fit; and once a piece is read, the columns projected
    /// from it to the announced size must fit (with a tenth to spare for a size that was only
    /// estimated), so an upload that will not fit is refused at its start, not at its end.
    func checkMemory(_ u: UploadInProgress) -> String? {
        guard let loader = u.loader else { return nil }
        let others = heldBytes(besides: u.dataset)
        let room = memory.datasetBytes - others
        var advice: String { "start the host with a larger --worker-memory (now \(WorkerMemory.mib(memory.limitBytes)) MiB, of which datasets may use \(WorkerMemory.mib(memory.datasetBytes)) MiB)" }
        let fed = loader.bytesFed
        if let hint = u.sizeHint, hint > fed, loader.rowsRead > 0, fed > 0 {
            let projected = Int(Double(loader.usedBytes) * Double(hint) / Double(fed))
            if projected > room + room / 10 {
                return "dataset \(u.dataset) needs about \(WorkerMemory.mib(projected)) MiB in the worker (projected from its first \(WorkerMemory.mib(fed)) of \(WorkerMemory.mib(hint)) MiB) and \(WorkerMemory.mib(room)) MiB are free; \(advice)"
            }
        }
        if loader.nextPeakBytes > room {
            return "dataset \(u.dataset) needs more than the \(WorkerMemory.mib(room)) MiB free in the worker (it held \(WorkerMemory.mib(loader.memoryBytes)) MiB after \(WorkerMemory.mib(fed)) MiB of CSV); \(advice)"
        }
        return nil
    }

    func uploadEnd(_ dataset: String) throws -> WorkerMessage {
        guard var u = uploads.removeValue(forKey: dataset) else {
            throw ParleyError(.malformed, "upload_end for dataset \(dataset) without upload_begin")
        }
        if let failure = u.failure { return refusedUpload(u.dataset, failure.code, failure.reason) }
        do { try u.opener.finish() } catch let e as ParleyError { return refusedUpload(u.dataset, .badStream, e.reason) }
        let digest = Array(u.hasher.finalize())
        let signed = DataPlane.uploadSignedMessage(job: job, dataset: u.dataset, headerDigest: u.opener.headerDigest)
        if let refusal = admission(u.dataset, signedByProvider: { DataPlane.check(u.signature, over: signed, by: $0.signing) == .valid }) {
            return refusedUpload(u.dataset, refusal.code, refusal.reason)
        }
        guard let module, let decl = module.datasets[u.dataset], var loader = u.loader else {
            return refusedUpload(u.dataset, .undeclaredDataset, "dataset \(u.dataset) is not declared by the module")
        }
        u.loader = nil
        let table: Table
        var summary: IdentifierSummary?
        do {
            let loaded = try loader.finish()
            table = loaded.table
            if table.schema.columns.contains(where: { $0.type.isIdentifier }) { summary = Self.summary(loaded.identifiers) }
        } catch {
            // Row, column and what was expected; CSVError never quotes a field's contents.
            return refusedUpload(u.dataset, .invalidCSV, error.description)
        }
        tables[u.dataset] = table
        tableBytes += table.memoryBytes
        digests[u.dataset] = digest
        let millis = UInt64(max(0, (now() - u.started) / .milliseconds(1)))
        let entry = try signedEntry(.uploadAccepted(.init(dataset: u.dataset, provider: decl.provider, ciphertextSHA256: digest,
                                                          rows: UInt64(table.rowCount))))
        return .uploadAccepted(.init(dataset: u.dataset, rows: UInt64(table.rowCount), digest: digest, entry: entry,
                                     identifiers: summary, bytes: UInt64(loader.bytesFed), millis: millis))
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
