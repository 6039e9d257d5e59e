import Foundation
import ParleyAttestation
import ParleyCore
import ParleyLog

/// What a replay found: the log's shape, every job with its module, tier and state, every
/// accepted dataset, release and refusal, epsilon spent per dataset digest, warnings, failures,
/// and the verdict. ``text`` is for people, ``json`` for scripts.
public struct AuditReplayReport: Sendable {
    /// One job as the log shows it.
    public struct Job: Sendable, Equatable {
        /// The job id.
        public let id: String
        /// The module's name and version, if its bundle opened.
        public let moduleName: String?
        /// The module's version.
        public let moduleVersion: String?
        /// The module measurement the launch states.
        public let module: MeasurementDigest?
        /// The quote tier of its launch evidence.
        public let tier: AssuranceTier?
        /// Where the job got to.
        public let state: JobState
        /// Epsilon its releases spent (exact).
        public let epsilonSpent: String
        /// Its module's `budget_epsilon`.
        public let budget: String?
        /// The index of its launch entry.
        public let launchEntry: UInt64?
    }

    /// Where a job got to, by the log.
    public enum JobState: Sendable, Equatable, CustomStringConvertible {
        /// Launched; some declared datasets not yet accepted.
        case collectingDatasets(received: Int, declared: Int)
        /// Every declared dataset accepted.
        case ready
        /// Stopped by the operator.
        case stopped
        /// Failed, and why.
        case failed(String)

        /// A short text.
        public var description: String {
            switch self {
            case .collectingDatasets(let received, let declared): "collecting datasets (\(received) of \(declared))"
            case .ready: "ready"
            case .stopped: "stopped"
            case .failed(let why): "failed: \(why)"
            }
        }
    }

    /// An accepted upload.
    public struct Upload: Sendable, Equatable {
        /// The job.
        public let job: String
        /// The dataset name.
        public let dataset: String
        /// The providing party.
        public let provider: String
        /// Rows loaded.
        public let rows: UInt64
        /// SHA-256 of the ciphertext.
        public let digest: [UInt8]
        /// The worker entry's index.
        public let entryIndex: UInt64
    }

    /// A release (values are never logged).
    public struct Release: Sendable, Equatable {
        /// The job.
        public let job: String
        /// The declared query.
        public let query: String
        /// The receiving party.
        public let receiver: String
        /// Epsilon charged.
        public let epsilon: String
        /// Delta charged.
        public let delta: String
        /// Budget left, as the worker stated.
        public let budgetLeft: String
        /// Groups withheld by the minimum group size.
        public let suppressedGroups: UInt64
        /// The worker entry's index.
        public let entryIndex: UInt64
    }

    /// A refused upload or query.
    public struct Refusal: Sendable, Equatable {
        /// What was refused.
        public enum Kind: String, Sendable { case upload, query }
        /// The job.
        public let job: String
        /// Upload or query.
        public let kind: Kind
        /// The dataset, or `query for receiver`.
        public let subject: String
        /// The refusal code logged (the reason itself never enters the log).
        public let code: String
        /// The entry's index.
        public let entryIndex: UInt64
    }

    /// Epsilon spent on one dataset digest, across jobs.
    public struct DatasetSpending: Sendable, Equatable {
        /// SHA-256 of the accepted ciphertext, hex.
        public let digest: String
        /// The dataset name.
        public let dataset: String
        /// Jobs that accepted it (more than one is warned about).
        public let jobs: [String]
        /// Epsilon of every release that read it.
        public let epsilon: String
    }

    /// Entries read (the intact prefix).
    public let entryCount: UInt64
    /// The root recomputed over them, hex.
    public let rootHash: String?
    /// Distinct checkpoints whose signatures verified.
    public let verifiedCheckpoints: Int
    /// The largest of them.
    public let largestCheckpoint: UInt64?
    /// The log key used, text form.
    public let logKey: String?
    /// Whether it was pinned by the policy (rather than taken from the bundle).
    public let logKeyPinned: Bool
    /// Jobs, in launch order.
    public let jobs: [Job]
    /// Accepted uploads, in log order.
    public let uploads: [Upload]
    /// Releases, in log order.
    public let releases: [Release]
    /// Refused uploads and queries, in log order.
    public let refusals: [Refusal]
    /// Epsilon spent per dataset digest.
    public let epsilonByDataset: [DatasetSpending]
    /// Spend per budget ledger across jobs.
    public let ledgers: [LedgerSpending]
    /// Things to look at that do not fail the replay.
    public let warnings: [AuditWarning]
    /// Every failure, the first one first.
    public let failures: [AuditReplayFailure]

    /// One budget ledger's spend across its jobs (docs/privacy.md, "The ledger across jobs").
    public struct LedgerSpending: Sendable, Equatable {
        /// The ledger id, hex.
        public let id: String
        /// Its name.
        public let name: String
        /// Its jobs, in launch order.
        public let jobs: [String]
        /// Epsilon counted as spent (a job without a closing entry counts as having spent all it could).
        public let spent: String
        /// The newest module's `budget_epsilon`.
        public let budget: String
        /// Jobs with no end in the log.
        public let open: [String]
    }

    init(log: AuditReport?, logKey: NoteVerifierKey?, logKeyPinned: Bool, ledger: ReplayLedger?,
         warnings: [AuditWarning], failures: [AuditReplayFailure], ledgers: [LedgerAudit.Summary] = []) {
        self.ledgers = ledgers.map { LedgerSpending(id: $0.id, name: $0.name, jobs: $0.jobs, spent: $0.spent, budget: $0.budget, open: $0.open) }
        entryCount = log?.entryCount ?? 0
        rootHash = log?.rootHash.hex
        verifiedCheckpoints = log?.verifiedCheckpoints.count ?? 0
        largestCheckpoint = log?.verifiedCheckpoints.map(\.size).max()
        self.logKey = logKey?.encoded
        self.logKeyPinned = logKeyPinned
        jobs = ledger?.jobSummaries ?? []
        uploads = ledger?.uploads ?? []
        releases = ledger?.releases ?? []
        refusals = ledger?.refusals ?? []
        epsilonByDataset = ledger?.datasetSpending ?? []
        self.warnings = warnings
        self.failures = failures
    }

    /// Passed, or the first failure.
    public var verdict: AuditReplayVerdict {
        failures.first.map(AuditReplayVerdict.failed) ?? .passed
    }
}
