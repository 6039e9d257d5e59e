import ParleyCore
import ParleyPrivacy
import ParleyLog
import ParleyModule

/// What earlier jobs of one budget ledger spent, counted from the host's log: the rule every new
/// worker applies before it is ready, and that the audit replays (docs/privacy.md, "The ledger
/// across jobs").
///
/// Jobs are taken in launch order. A job of the ledger is one whose launch entry carries a module
/// bundle that opens and has the ledger's id. Its spend is:
/// - with a worker-signed `closed` entry: the larger of the `spent` it states and the sum of its
///   logged releases and charged refusals;
/// - without one (stopped or failed by the host, killed, or still running): everything it could
///   have spent, so the total becomes at least its module's `budget_epsilon`.
public struct LedgerTally: Sendable, Equatable {
    /// One earlier job of the ledger.
    public struct Job: Sendable, Equatable {
        /// The job id.
        public let id: String
        /// Index of its launch entry.
        public let launchIndex: UInt64
        /// Its module's `budget_epsilon`.
        public let budget: Rational
        /// The sum of the epsilon of its releases the log holds (signatures checked).
        public internal(set) var released: Rational = .zero
        /// What its worker's closing entry says it spent, if it closed.
        public internal(set) var closedSpent: Rational?
        /// The host recorded that it stopped or failed.
        public internal(set) var endedByHost = false
        /// The worker's signing key, from the launch entry.
        let signingKey: [UInt8]
    }

    /// The ledger id.
    public let ledger: [UInt8]
    /// The ledger's jobs, in launch order.
    public private(set) var jobs: [Job] = []
    /// Entries read (the tally covers the log up to this size).
    public private(set) var size: UInt64 = 0

    /// An empty tally of `ledger`.
    public init(ledger: [UInt8]) {
        self.ledger = ledger
    }

    /// The epsilon counted as spent by all earlier jobs (see the type's rules).
    public var spent: Rational {
        var total = Rational.zero
        for job in jobs {
            if let closed = job.closedSpent {
                total = (try? total.adding(max(closed, job.released))) ?? Rational(UInt64.max)
            } else {
                let floor = (try? total.adding(job.released)) ?? Rational(UInt64.max)
                total = max(floor, job.budget)
            }
        }
        return total
    }

    /// Jobs with no closing entry and no end recorded by the host: they may still be running.
    public var openJobs: [String] { jobs.filter { $0.closedSpent == nil && !$0.endedByHost }.map(\.id) }

    /// The launch entry indexes of the ledger's jobs, ascending: the list a worker's claim binds.
    public var countedLaunches: [UInt64] { jobs.map(\.launchIndex) }

    /// Reads the next entry of the whole log (entries must come in log order, from 0).
    public mutating func read(_ entry: [UInt8]) {
        read(entry, at: size)
    }

    /// Reads the entry at `index` (indexes must ascend; entries between may be left out, as in a
    /// handoff that carries only the ledger's). Entries of other ledgers, and entries that do not
    /// parse, are skipped: the audit reports those.
    public mutating func read(_ entry: [UInt8], at index: UInt64) {
        size = max(size, index + 1)
        guard let m = try? CBORDecoder(limits: .init(maxBytes: 16 << 20, maxDepth: 8, maxItems: 1 << 16)).decode(entry).textKeyedMap("entry"),
              (try? m["format"]?.textValue("format")) == "parley/log-entry/1",
              let kind = try? m["kind"]?.textValue("kind"), let job = try? m["job"]?.textValue("job") else { return }
        switch kind {
        case "launch":
            guard !jobs.contains(where: { $0.id == job }),
                  let bundle = try? m["module_bundle"]?.bytesValue("module_bundle"), let module = try? SealedModule(bytes: bundle),
                  module.definition.ledgerID == ledger, let budget = try? module.definition.privacyPolicy().budgetEpsilon,
                  let key = try? m["signing_key"]?.bytesValue("signing_key") else { return }
            jobs.append(Job(id: job, launchIndex: index, budget: budget, signingKey: key))
        case "stopped", "failed":
            if let i = jobs.firstIndex(where: { $0.id == job }) { jobs[i].endedByHost = true }
        case "worker":
            guard let i = jobs.firstIndex(where: { $0.id == job }), let signed = try? m["entry"]?.bytesValue("entry"),
                  case .verified(let workerEntry) = WorkerEntry.verify(signed, signingKey: jobs[i].signingKey),
                  workerEntry.job == job else { return }
            // A refusal after the charge (it carries epsilon) spent like a release.
            var charged: String?
            switch workerEntry.kind {
            case .release(let release): charged = release.epsilon
            case .queryRefused(let refused): charged = refused.charge?.epsilon
            case .closed(let spent, _):
                if let spent = try? Rational(exactText: spent) { jobs[i].closedSpent = spent }
            case .uploadAccepted: break
            }
            if let charged, let epsilon = try? Rational(exactText: charged) {
                jobs[i].released = (try? jobs[i].released.adding(epsilon)) ?? Rational(UInt64.max)
            }
        default: break
        }
    }

    /// Checks a handoff and tallies it: the log key parses, the checkpoint is signed by it, the
    /// entries come in strictly ascending order inside the checkpoint, and each one's inclusion
    /// proof leads to the checkpoint's root; only then are they counted. Whether an entry was left
    /// out is not decidable here: the claim built from the result binds the jobs counted, for the
    /// parties and the audit to check (see ``LedgerHandoff``).
    public static func verify(_ handoff: LedgerHandoff, ledger: [UInt8]) -> LedgerVerdict {
        let key: NoteVerifierKey
        do { key = try NoteVerifierKey(parsing: handoff.logKey) } catch { return .refused(.badLogKey(error.reason)) }
        let checkpoint: VerifiedCheckpoint
        switch CheckpointVerifier(verifierKey: key, origin: key.name).verify(handoff.checkpointNote) {
        case .verified(let c): checkpoint = c
        case .rejected(let why): return .refused(.checkpointRejected(why))
        }
        let size = checkpoint.checkpoint.size
        var tally = LedgerTally(ledger: ledger)
        var previous: UInt64?
        for item in handoff.items {
            guard item.index < size else { return .refused(.entryBeyondCheckpoint(index: item.index, checkpoint: size)) }
            if let previous, item.index <= previous { return .refused(.entriesOutOfOrder(index: item.index)) }
            previous = item.index
            let proof = InclusionProof(leafIndex: item.index, treeSize: size, path: item.proof)
            if case .invalid(let failure) = proof.verify(leafHash: MerkleHashing.leafHash(item.entry), rootHash: checkpoint.checkpoint.rootHash) {
                return .refused(.notInCheckpoint(index: item.index, failure))
            }
            tally.read(item.entry, at: item.index)
        }
        guard tally.jobs.count <= LedgerClaim.maxCountedJobs else { return .refused(.tooManyJobs(tally.jobs.count)) }
        tally.size = size
        return .verified(VerifiedLedger(tally: tally, checkpoint: checkpoint.checkpoint, logKey: key))
    }
}

/// A tally over a log prefix whose entries hash to a checkpoint signed by `logKey`.
public struct VerifiedLedger: Sendable, Equatable {
    /// What earlier jobs spent.
    public let tally: LedgerTally
    /// The checkpoint the entries hash to.
    public let checkpoint: Checkpoint
    /// The log key that signed it.
    public let logKey: NoteVerifierKey
}

/// The outcome of checking a ledger handoff.
public enum LedgerVerdict: Sendable, Equatable {
    /// The entries are the signed log prefix; here is what they count.
    case verified(VerifiedLedger)
    /// The handoff cannot be trusted, and why.
    case refused(LedgerRefusal)
}

/// Why a worker refused the host's ledger handoff (it then does not start).
public enum LedgerRefusal: Sendable, Equatable, CustomStringConvertible {
    /// The log key text does not parse.
    case badLogKey(String)
    /// The checkpoint is not signed by the log key.
    case checkpointRejected(CheckpointRejection)
    /// An entry's index is not inside the checkpoint.
    case entryBeyondCheckpoint(index: UInt64, checkpoint: UInt64)
    /// The entries are not in strictly ascending order (one repeated or moved).
    case entriesOutOfOrder(index: UInt64)
    /// An entry's inclusion proof does not lead to the checkpoint's root (it was changed or made up).
    case notInCheckpoint(index: UInt64, ProofFailure)
    /// The ledger has more earlier jobs than a worker counts.
    case tooManyJobs(Int)

    /// An English reason.
    public var description: String {
        switch self {
        case .badLogKey(let why): "the ledger handoff's log key does not parse: \(why)"
        case .checkpointRejected(let why): "the ledger handoff's checkpoint is refused: \(why)"
        case let .entryBeyondCheckpoint(index, size): "the ledger handoff holds entry \(index), which its checkpoint of \(size) entries does not cover"
        case .entriesOutOfOrder(let index): "the ledger handoff's entries are not in ascending order (entry \(index))"
        case let .notInCheckpoint(index, failure): "the ledger handoff's entry \(index) is not in its checkpoint (\(failure)): it was changed or made up"
        case .tooManyJobs(let n): "the ledger has \(n) earlier jobs, more than a worker counts (\(LedgerClaim.maxCountedJobs))"
        }
    }
}
