import ParleyAudit
import ParleyCore
import ParleyModule

/// The host's index of its own log: where each job's entries are (for `GET /v1/log/index`, so a
/// client finds its receipts and a job's launch in any size of log), and which entries a ledger's
/// handoff carries (each earlier job's launch, worker-signed `closed` and host `stopped`/`failed`
/// entries). Rebuilt from the log when it opens, kept current on every append.
///
/// Nothing here is trusted by anyone but the host: a client proves every entry it is pointed to
/// into a checkpoint, and a worker proves every entry of its handoff; what the index could leave
/// out, the parties and the audit catch (docs/privacy.md, "The ledger across jobs").
struct LogIndex {
    /// Entry indexes and kinds per job, ascending.
    private(set) var byJob: [String: [(index: UInt64, kind: String)]] = [:]
    /// Ledger id -> the indexes of the entries its handoff carries, ascending.
    private(set) var ledgerEntries: [[UInt8]: [UInt64]] = [:]
    /// Job -> the ledger its launch entry's module draws on.
    private var ledgerOfJob: [String: [UInt8]] = [:]

    /// Indexes the entry at `index` (indexes must ascend). An entry that does not parse is not indexed.
    mutating func add(_ bytes: [UInt8], at index: UInt64) {
        guard let record = try? LogRecord(bytes: bytes) else { return }
        let job = record.job
        byJob[job, default: []].append((index, record.kind))
        switch record.body {
        case .launch(let launch):
            guard ledgerOfJob[job] == nil, let module = try? SealedModule(bytes: launch.moduleBundle) else { return }
            let ledger = module.definition.ledgerID
            ledgerOfJob[job] = ledger
            ledgerEntries[ledger, default: []].append(index)
        case .stopped, .failed:
            if let ledger = ledgerOfJob[job] { ledgerEntries[ledger, default: []].append(index) }
        case .worker(let entry):
            if let ledger = ledgerOfJob[job], WorkerEntry.untrustedKind(entry) == "closed" { ledgerEntries[ledger, default: []].append(index) }
        case .uploadRefused:
            break
        }
    }

    /// Up to `limit` indexes of `job`'s entries (of `kind`, if given) below `before`, newest first.
    func entries(job: String, kind: String?, before: UInt64, limit: Int) -> [UInt64] {
        guard let all = byJob[job], limit > 0 else { return [] }
        // The job's entries ascend: find the first at or past `before` by bisection, so that a
        // client paging back through a long job does not rescan what it has already read.
        var (low, high) = (0, all.count)
        while low < high {
            let mid = (low + high) / 2
            if all[mid].index < before { low = mid + 1 } else { high = mid }
        }
        var out: [UInt64] = []
        for item in all[..<low].reversed() where kind == nil || item.kind == kind {
            out.append(item.index)
            if out.count == limit { break }
        }
        return out
    }
}
