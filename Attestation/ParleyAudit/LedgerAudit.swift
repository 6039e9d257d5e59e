import ParleyCore
import ParleyPrivacy
import ParleyLedger
import ParleyLog
import ParleyModule

/// The replay's check across jobs: every launch whose worker counted its budget ledger is held
/// to what the log, up to the checkpoint it names, really counts (``LedgerTally``, the rule the
/// worker applies); and each ledger's spend across all its jobs is reported.
struct LedgerAudit {
    /// One ledger as the whole log counts it.
    struct Summary: Sendable, Equatable {
        /// The ledger id, hex.
        let id: String
        /// Its name, from the newest job's module.
        let name: String
        /// Its jobs, in launch order.
        let jobs: [String]
        /// Epsilon counted as spent across them (jobs without a closing entry count in full).
        let spent: String
        /// The newest module's `budget_epsilon`.
        let budget: String
        /// Jobs with no end in the log.
        let open: [String]
    }

    private(set) var failures: [AuditReplayFailure] = []
    private(set) var summaries: [Summary] = []

    init(entries: [LogEntry]) {
        var ledgers: [(id: [UInt8], name: String, budget: String)] = []
        var launches: [(index: UInt64, job: String, ledger: [UInt8])] = []
        let tree = MerkleTree(leafHashes: entries.map { MerkleHashing.leafHash($0.bytes) })
        for entry in entries {
            guard let record = try? LogRecord(bytes: entry.bytes), case .launch(let launch) = record.body,
                  let module = try? SealedModule(bytes: launch.moduleBundle) else { continue }
            let id = module.definition.ledgerID
            let budget = (try? module.definition.privacyPolicy().budgetEpsilon.description) ?? "?"
            defer { launches.append((entry.index, record.job, id)) }
            if let i = ledgers.firstIndex(where: { $0.id == id }) {
                ledgers[i] = (id, module.definition.ledgerName, budget)
            } else {
                ledgers.append((id, module.definition.ledgerName, budget))
            }
            guard let claim = launch.claims.ledger else { continue }
            guard claim.id == id else {
                failures.append(.init(entryIndex: entry.index, reason: .ledgerClaimInvalid("it names another ledger than its module's")))
                continue
            }
            guard claim.checkpointSize <= entry.index, (try? tree.rootHash(atSize: claim.checkpointSize))?.bytes == claim.checkpointRoot else {
                failures.append(.init(entryIndex: entry.index, reason: .ledgerClaimInvalid(
                    "its checkpoint of \(claim.checkpointSize) entries is not this log's prefix before the launch")))
                continue
            }
            if let hidden = launches.first(where: { $0.ledger == id && $0.index >= claim.checkpointSize }) {
                failures.append(.init(entryIndex: entry.index, reason: .ledgerClaimInvalid(
                    "its checkpoint of \(claim.checkpointSize) entries leaves out job \(hidden.job) of the same ledger, launched earlier at entry \(hidden.index): the host hid it from the worker")))
                continue
            }
            var tally = LedgerTally(ledger: id)
            for earlier in entries.prefix(Int(claim.checkpointSize)) { tally.read(earlier.bytes) }
            // The worker was handed the ledger's entries with proofs; the audit has the whole log, so
            // it can tell whether a job was left out of what the worker counted.
            if !claim.binds(tally.countedLaunches) {
                let counted = Set(launch.ledgerCounted)
                if let left = tally.jobs.first(where: { !counted.contains($0.launchIndex) }) {
                    failures.append(.init(entryIndex: entry.index, reason: .ledgerClaimInvalid(
                        "its worker counted \(claim.counted) earlier job(s) of the ledger and leaves out job \(left.id), launched at entry \(left.launchIndex): the host hid it from the worker")))
                } else {
                    failures.append(.init(entryIndex: entry.index, reason: .ledgerClaimInvalid(
                        "its worker counted \(claim.counted) earlier job(s) of the ledger, not the \(tally.jobs.count) the log holds before its checkpoint")))
                }
                continue
            }
            if tally.spent.description != claim.inherited {
                failures.append(.init(entryIndex: entry.index, reason: .ledgerInheritanceMismatch(claimed: claim.inherited, counted: tally.spent.description)))
            }
        }
        for ledger in ledgers {
            var tally = LedgerTally(ledger: ledger.id)
            for entry in entries { tally.read(entry.bytes) }
            summaries.append(Summary(id: Hex.encode(ledger.id), name: ledger.name, jobs: tally.jobs.map(\.id),
                                     spent: tally.spent.description, budget: ledger.budget, open: tally.openJobs))
        }
    }
}
