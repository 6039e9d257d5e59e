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

    /// Reads the next entry (entries must come in log order, from 0). Entries of other ledgers,
    /// and entries that do not parse, are skipped: the audit reports those.
    public mutating func read(_ entry: [UInt8]) {
        let index = size
        size += 1
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
    /// entries are exactly the checkpoint's tree (count and root), and only then are they counted.
    public static func verify(_ handoff: LedgerHandoff, ledger: [UInt8]) -> LedgerVerdict {
        let key: NoteVerifierKey
        do { key = try NoteVerifierKey(parsing: handoff.logKey) } catch { return .refused(.badLogKey(error.reason)) }
        let checkpoint: VerifiedCheckpoint
        switch CheckpointVerifier(verifierKey: key, origin: key.name).verify(handoff.checkpointNote) {
        case .verified(let c): checkpoint = c
        case .rejected(let why): return .refused(.checkpointRejected(why))
        }
        guard UInt64(handoff.entries.count) == checkpoint.checkpoint.size else {
            return .refused(.wrongEntryCount(checkpoint: checkpoint.checkpoint.size, given: UInt64(handoff.entries.count)))
        }
        var tree = CompactRange()
        var tally = LedgerTally(ledger: ledger)
        for entry in handoff.entries {
            tree.append(MerkleHashing.leafHash(entry))
            tally.read(entry)
        }
        guard tree.root == checkpoint.checkpoint.rootHash else { return .refused(.rootMismatch) }
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
    /// The handoff holds another number of entries than the checkpoint covers.
    case wrongEntryCount(checkpoint: UInt64, given: UInt64)
    /// The entries do not hash to the checkpoint's root (one was left out, changed or added).
    case rootMismatch

    /// An English reason.
    public var description: String {
        switch self {
        case .badLogKey(let why): "the ledger handoff's log key does not parse: \(why)"
        case .checkpointRejected(let why): "the ledger handoff's checkpoint is refused: \(why)"
        case let .wrongEntryCount(size, given): "the ledger handoff holds \(given) entries but its checkpoint covers \(size)"
        case .rootMismatch: "the ledger handoff's entries do not hash to its checkpoint's root: entries were left out, changed or added"
        }
    }
}

/// The RFC 9162 root of a growing list of leaves in O(log n) memory: the perfect subtrees of
/// the binary decomposition of the size, largest first.
struct CompactRange {
    private var stack: [(size: UInt64, hash: TreeHash)] = []

    mutating func append(_ leaf: TreeHash) {
        var node = (size: UInt64(1), hash: leaf)
        while let last = stack.last, last.size == node.size {
            stack.removeLast()
            node = (size: last.size * 2, hash: MerkleHashing.nodeHash(last.hash, node.hash))
        }
        stack.append(node)
    }

    var root: TreeHash {
        guard var hash = stack.last?.hash else { return MerkleHashing.emptyRoot }
        for node in stack.dropLast().reversed() { hash = MerkleHashing.nodeHash(node.hash, hash) }
        return hash
    }
}
