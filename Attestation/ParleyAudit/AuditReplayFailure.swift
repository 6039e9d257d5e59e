import ParleyAttestation
import ParleyCore
import ParleyLog

/// One thing a replay found wrong, and where.
public struct AuditReplayFailure: Sendable, Equatable, CustomStringConvertible {
    /// The entry that fails (from 0); nil when the failure is about the checkpoints or keys alone.
    public let entryIndex: UInt64?
    /// What is wrong.
    public let reason: AuditReplayFailureReason

    /// Pairs an entry with a reason.
    public init(entryIndex: UInt64?, reason: AuditReplayFailureReason) {
        self.entryIndex = entryIndex
        self.reason = reason
    }

    /// `entry N: reason`, or the reason alone.
    public var description: String {
        entryIndex.map { "entry \($0): \(reason)" } ?? reason.description
    }
}

/// What the replay can find wrong, in the order it checks (docs/log.md).
public enum AuditReplayFailureReason: Sendable, Equatable, CustomStringConvertible {
    // The log itself.
    /// No log key was pinned and the bundle has none: no checkpoint can be checked.
    case noLogKey
    /// The Merkle log or its checkpoints (flipped, dropped, reordered, inserted or truncated
    /// entries; bad signatures; forks), as `LogAuditor` found.
    case log(AuditFailureReason)
    /// The entry is not a `parley/log-entry/1` Parley understands.
    case unreadableEntry(String)
    /// A checkpoint someone else saw (`--known-checkpoint`) is not signed by the log key.
    case knownCheckpointRejected(source: String, CheckpointRejection)
    /// The log does not extend a checkpoint someone else saw: it has fewer entries (rolled back
    /// or cut), or another root at that size (rewritten and re-signed).
    case knownCheckpointNotExtended(source: String, knownSize: UInt64, logSize: UInt64, rootDiffers: Bool)
    /// A known checkpoint carries fewer valid cosignatures from the pinned witnesses than required.
    case knownCheckpointUnwitnessed(source: String, have: Int, need: Int)

    // Launches.
    /// A second launch entry for a job id already launched.
    case jobLaunchedTwice
    /// The module bundle in the launch entry does not open (bad signature, bad CBOR).
    case moduleUnreadable(String)
    /// The launch states a module measurement other than SHA-384 of the bundle's payload.
    case moduleMeasurementMismatch(stated: MeasurementDigest, actual: MeasurementDigest)
    /// The launch states a module signer other than the bundle's author.
    case moduleSignerMismatch
    /// The job ran a module the auditor's policy does not expect.
    case moduleNotExpected(MeasurementDigest)
    /// The evidence is of another tier than the entry states.
    case tierMismatch(stated: AssuranceTier, evidence: AssuranceTier)
    /// The evidence bytes do not parse.
    case evidenceUnparseable(String)
    /// The launch entry stores its TPM evidence's platform logs as a change from an earlier
    /// launch entry's (`platform`), and no earlier entry carried what it refers to.
    case platformLogsUnavailable(String)
    /// There is no quoting root (software) or attestation key (TPM) to verify against.
    case noTrustAnchor(AssuranceTier)
    /// The evidence fails its integrity checks (chain, signature, nonce, TPM quote, event log).
    case evidenceRejected([IntegrityFailure])
    /// The evidence verifies, but its claims differ from the entry's in these fields.
    case claimsDiffer(fields: [String])

    // Worker entries and other job events.
    /// An entry for a job that was never launched in this log.
    case entryForUnlaunchedJob(kind: String)
    /// The worker entry is not signed by the job's attested signing key, or does not parse.
    case workerEntryRejected(WorkerEntryRejection)
    /// The worker signed the entry for another job than the one it is logged under.
    case workerEntryForOtherJob(signedFor: String)
    /// An upload of a dataset the job's module does not declare.
    case undeclaredDataset(String)
    /// A second accepted upload of the same dataset in one job.
    case datasetAcceptedTwice(String)
    /// The worker accepted a dataset from another provider than the module declares.
    case providerMismatch(dataset: String, declared: String, logged: String)
    /// A release of a query the module does not declare, or to a receiver it does not name.
    case undeclaredRelease(query: String, receiver: String)
    /// A release before every dataset the module declares was accepted.
    case releaseBeforeDatasets(query: String, missing: [String])
    /// A release read a dataset whose digest is not the accepted upload's.
    case releaseInputMismatch(dataset: String)
    /// An epsilon, delta or budget text that is not an exact non-negative number.
    case unreadableEpsilon(String)
    /// The job's releases spent more epsilon than its module's budget.
    case budgetExceeded(spent: String, budget: String)
    /// A worker's launch claims another inheritance than the log, counted up to its checkpoint, gives.
    case ledgerInheritanceMismatch(claimed: String, counted: String)
    /// A worker's ledger claim does not fit the log: its checkpoint is not the log's prefix, or it
    /// names another ledger than its module's.
    case ledgerClaimInvalid(String)
    /// The worker's `budget_left` is not the module budget minus the logged releases' epsilon:
    /// a release is missing from the log (or was logged twice).
    case budgetLeftMismatch(stated: String, expected: String)

    /// A stable identifier for scripts (`report.json`).
    public var code: String {
        switch self {
        case .noLogKey: "noLogKey"
        case .log(let reason): "log." + Self.logCode(reason)
        case .unreadableEntry: "unreadableEntry"
        case .knownCheckpointRejected: "knownCheckpointRejected"
        case .knownCheckpointNotExtended: "knownCheckpointNotExtended"
        case .knownCheckpointUnwitnessed: "knownCheckpointUnwitnessed"
        case .jobLaunchedTwice: "jobLaunchedTwice"
        case .moduleUnreadable: "moduleUnreadable"
        case .moduleMeasurementMismatch: "moduleMeasurementMismatch"
        case .moduleSignerMismatch: "moduleSignerMismatch"
        case .moduleNotExpected: "moduleNotExpected"
        case .tierMismatch: "tierMismatch"
        case .evidenceUnparseable: "evidenceUnparseable"
        case .platformLogsUnavailable: "platformLogsUnavailable"
        case .noTrustAnchor: "noTrustAnchor"
        case .evidenceRejected: "evidenceRejected"
        case .claimsDiffer: "claimsDiffer"
        case .entryForUnlaunchedJob: "entryForUnlaunchedJob"
        case .workerEntryRejected: "workerEntryRejected"
        case .workerEntryForOtherJob: "workerEntryForOtherJob"
        case .undeclaredDataset: "undeclaredDataset"
        case .datasetAcceptedTwice: "datasetAcceptedTwice"
        case .providerMismatch: "providerMismatch"
        case .undeclaredRelease: "undeclaredRelease"
        case .releaseBeforeDatasets: "releaseBeforeDatasets"
        case .releaseInputMismatch: "releaseInputMismatch"
        case .unreadableEpsilon: "unreadableEpsilon"
        case .budgetExceeded: "budgetExceeded"
        case .budgetLeftMismatch: "budgetLeftMismatch"
        case .ledgerInheritanceMismatch: "ledgerInheritanceMismatch"
        case .ledgerClaimInvalid: "ledgerClaimInvalid"
        }
    }

    /// An English reason a person can act on.
    public var description: String {
        switch self {
        case .noLogKey: "no log key: pin the host's log-key.pub in the audit policy (the bundle has none)"
        case .log(let reason): reason.description
        case .unreadableEntry(let why): "the entry is not a Parley log entry: \(why)"
        case .knownCheckpointRejected(let source, let why): "the known checkpoint \(source) is refused: \(why)"
        case .knownCheckpointUnwitnessed(let source, let have, let need):
            "the known checkpoint \(source) carries \(have) valid cosignature(s) from the pinned witnesses; \(need) required"
        case .knownCheckpointNotExtended(let source, let known, let size, let rootDiffers):
            rootDiffers
                ? "the log does not extend the known checkpoint \(source): at size \(known) its root differs (history was rewritten and re-signed)"
                : "the log has \(size) entries but the known checkpoint \(source) covers \(known): the log was rolled back or cut"
        case .jobLaunchedTwice: "the job was already launched earlier in the log"
        case .moduleUnreadable(let why): "the launched module bundle does not open: \(why)"
        case .moduleMeasurementMismatch(let stated, let actual):
            "the launch states module \(stated.hex.prefix(16))... but the bundle's payload measures \(actual.hex.prefix(16))..."
        case .moduleSignerMismatch: "the launch states a module signer other than the bundle's author"
        case .moduleNotExpected(let m): "the job ran module \(m.hex.prefix(16))..., which the audit policy does not expect"
        case .tierMismatch(let stated, let evidence): "the entry says \(stated) but the evidence is \(evidence)"
        case .evidenceUnparseable(let why): "the launch evidence cannot be read: \(why)"
        case .platformLogsUnavailable(let why): "the launch evidence's platform logs cannot be rebuilt: \(why)"
        case .noTrustAnchor(let tier):
            "no \(tier == .software ? "quoting root" : "TPM attestation key") to verify \(tier) evidence (pin one, or include it in the bundle)"
        case .evidenceRejected(let failures): "the launch evidence does not verify: " + failures.map(\.description).joined(separator: "; ")
        case .claimsDiffer(let fields): "the launch entry's claims differ from the verified evidence's in: " + fields.joined(separator: ", ")
        case .entryForUnlaunchedJob(let kind): "a \(kind) entry for a job that was never launched in this log"
        case .workerEntryRejected(let rejection): rejection.description
        case .workerEntryForOtherJob(let job): "the worker signed this entry for job \(job), not the job it is logged under"
        case .undeclaredDataset(let d): "an upload of dataset \(d), which the job's module does not declare"
        case .datasetAcceptedTwice(let d): "dataset \(d) was accepted a second time in the same job"
        case .providerMismatch(let d, let declared, let logged): "dataset \(d) was accepted from \(logged), but the module names \(declared)"
        case .undeclaredRelease(let q, let r): "a release of \(q) to \(r), which the module does not declare"
        case .releaseBeforeDatasets(let q, let missing):
            "query \(q) was released before every dataset was accepted (missing: \(missing.joined(separator: ", ")))"
        case .releaseInputMismatch(let d): "the release read dataset \(d) with a digest other than the accepted upload's"
        case .unreadableEpsilon(let why): "a privacy parameter is not an exact number: \(why)"
        case .budgetExceeded(let spent, let budget): "the job spent epsilon \(spent), over its module's budget of \(budget)"
        case .budgetLeftMismatch(let stated, let expected):
            "the worker says \(stated) epsilon is left, but the logged releases leave \(expected): a release is missing from the log"
        case .ledgerInheritanceMismatch(let claimed, let counted):
            "the worker says earlier jobs of its ledger spent \(claimed), but the log up to its checkpoint counts \(counted)"
        case .ledgerClaimInvalid(let why): "the worker's ledger claim does not fit the log: \(why)"
        }
    }

    private static func logCode(_ reason: AuditFailureReason) -> String {
        switch reason {
        case .badFileHeader: "badFileHeader"
        case .entryChecksumMismatch: "entryChecksumMismatch"
        case .entryOutOfPlace: "entryOutOfPlace"
        case .entryTooLarge: "entryTooLarge"
        case .truncatedEntry: "truncatedEntry"
        case .checkpointFileDamaged: "checkpointFileDamaged"
        case .checkpointRejected: "checkpointRejected"
        case .forkedCheckpoints: "forkedCheckpoints"
        case .inconsistentCheckpoints: "inconsistentCheckpoints"
        case .checkpointBeyondLog: "checkpointBeyondLog"
        case .rootMismatch: "rootMismatch"
        }
    }
}

/// The outcome of a replay.
public enum AuditReplayVerdict: Sendable, Equatable {
    /// Every entry is intact, signed for, and consistent with the evidence and the modules.
    case passed
    /// The first failure: checkpoint-level failures first, then the lowest entry index.
    case failed(AuditReplayFailure)
}
