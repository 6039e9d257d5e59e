import Foundation
import ParleyAttestation
import ParleyAudit
import ParleyCore
import ParleyLedger
import ParleyLog

/// The host's log writer: every host event becomes one `parley/log-entry/1` entry (see
/// ``LogRecord``) of a durable, append-only Merkle log, and every entry is followed by a new
/// signed checkpoint.
///
/// Files, under the data directory: `log/` (the `DurableLog`: `entries.log`, `checkpoints.log`,
/// `LOCK`), `log-key` (the Ed25519 note signer key, mode 0600, created on first start) and
/// `log-key.pub` (its verifier key text, for parties and auditors to pin).
///
/// Acknowledgement: each `record...` method returns only after the entry was appended and
/// `fsync`ed *and* a checkpoint covering it was signed and stored (two `fsync`s per event; host
/// events are launches, uploads and queries, so there is no batching). If it throws, the event
/// is not acknowledged; the entry may still be durable (a crash between the two writes), and the
/// next start publishes the missing checkpoint. Thread-safe: one lock serialises all access.
public final class HostLog: @unchecked Sendable {
    // @unchecked: every access to `log` goes through `lock`; the rest is immutable.
    /// The checkpoint origin (also the log key's name).
    public let origin: String
    /// The host's data directory.
    public let dataDirectory: String
    private let log: DurableLog
    private let signer: NoteSignerKey
    private let lock = NSLock()
    private let now: @Sendable () -> Date
    /// The platform logs the launch entries written since this process opened the log carried
    /// (guarded by `lock`). Empty at open: the first TPM launch after a start carries its logs whole.
    private var platform = PlatformLogState()
    /// Where each job's entries are, and what each ledger's handoff carries (guarded by `lock`).
    private var index = LogIndex()

    /// The most entries ``entries(from:count:)`` returns at once.
    public static let maxEntriesPerRead = 1000
    /// The log's folder inside the data directory.
    public static func logDirectory(in dataDirectory: String) -> String { HostFiles.logDirectory(in: dataDirectory) }

    /// Opens (or creates) the log in `<dataDirectory>/log` with the key in `<dataDirectory>/log-key`.
    /// - Parameters:
    ///   - origin: the checkpoint origin line and the key's name.
    ///   - now: the clock entries are stamped with (injected for tests).
    /// - Throws: `AuditError` `.badKey` for an unusable or foreign key file, `.storage` if the
    ///   log cannot be opened (another writer holds it, or its files are damaged).
    public init(dataDirectory: String, origin: String = "parley.local/log",
                now: @escaping @Sendable () -> Date = { Date() }) throws {
        do {
            try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        } catch {
            throw AuditError(.storage, "cannot create the data directory \(dataDirectory): \(error.localizedDescription)")
        }
        self.origin = origin
        self.dataDirectory = dataDirectory
        self.now = now
        signer = try LogSignerKeyFile.loadOrCreate(dataDirectory: dataDirectory, origin: origin)
        var index = LogIndex()
        do { log = try DurableLog(directory: Self.logDirectory(in: dataDirectory)) { index.add($1, at: $0) } } catch {
            throw AuditError(error, doing: "cannot open the log")
        }
        self.index = index
        // A crash between an append and its checkpoint (or a new log) leaves the newest entries
        // without a signed checkpoint: sign one now, so `checkpoint()` always covers the log.
        if latestCheckpointSize() != log.size {
            do { _ = try log.publishCheckpoint(origin: origin, signer: signer) } catch {
                throw AuditError(error, doing: "cannot sign a checkpoint of the log")
            }
        }
    }

    /// The key auditors verify checkpoints with.
    public var verifierKey: NoteVerifierKey { signer.verifierKey }

    /// The number of entries.
    public var size: UInt64 { locked { log.size } }

    // MARK: - Recording

    /// Records a worker launch with evidence the host fetched for its own `nonce`.
    /// - Parameters:
    ///   - module: the sealed module bundle as launched.
    ///   - evidence: the quote provider's evidence for `claims` and `nonce`.
    /// - Throws: `AuditError` `.invalidRecord` if `claims.job` is not `job`; `.storage` if the
    ///   entry or its checkpoint cannot be written (the event is then not acknowledged).
    ///
    /// TPM evidence's platform logs are stored as a change from the previous launch entry's
    /// (``PlatformLogDelta``): the boot log once per boot, the IMA list's new entries only.
    ///   - ledgerCounted: the earlier jobs of its ledger the worker counted (``LaunchRecord/ledgerCounted``).
    public func recordLaunch(job: String, claims: LaunchClaims, module: [UInt8], evidence: [UInt8], nonce: Nonce,
                             tier: AssuranceTier, ledgerCounted: [UInt64] = []) throws {
        let millis = UInt64(max(0, now().timeIntervalSince1970 * 1000).rounded(.down))
        try locked { () throws(AuditError) in
            let (stored, delta, next) = platform.compress(evidence: evidence)
            let bytes = try LogRecord(job: job, timeMillis: millis,
                                      body: .launch(LaunchRecord(claims: claims, tier: tier, ledgerCounted: ledgerCounted, moduleBundle: module, evidence: stored,
                                                                 nonce: nonce, platform: delta))).encoded
            do throws(LogError) { try log.append(bytes) } catch { throw AuditError(error, doing: "cannot append to the log") }
            index.add(bytes, at: log.size - 1)
            platform = next
            do throws(LogError) { _ = try log.publishCheckpoint(origin: origin, signer: signer) } catch {
                throw AuditError(error, doing: "the entry was written but its checkpoint was not")
            }
        }
    }

    /// Records an entry the worker signed (COSE_Sign1 bytes), verbatim.
    /// - Throws: as ``recordLaunch(job:claims:module:evidence:nonce:tier:ledgerCounted:)``.
    public func recordWorkerEntry(job: String, entry: [UInt8]) throws {
        try record(job: job, .worker(entry: entry))
    }

    /// Records an upload the worker refused, by its refusal code only (the reason, which names
    /// rows and columns of the upload, goes to the provider, never to the public log).
    /// - Throws: `AuditError` `.invalidRecord` if `code` is not a `RefusalCode`; otherwise as
    ///   ``recordLaunch(job:claims:module:evidence:nonce:tier:ledgerCounted:)``.
    public func recordUploadRefused(job: String, dataset: String, code: String) throws {
        guard RefusalCode(rawValue: code) != nil else {
            throw AuditError(.invalidRecord, "an upload refusal is logged by its refusal code only")
        }
        try record(job: job, .uploadRefused(dataset: dataset, code: code))
    }

    /// Records that the operator stopped a job.
    /// - Throws: as ``recordLaunch(job:claims:module:evidence:nonce:tier:ledgerCounted:)``.
    public func recordStopped(job: String) throws {
        try record(job: job, .stopped)
    }

    /// Records that a job failed, and why.
    /// - Throws: as ``recordLaunch(job:claims:module:evidence:nonce:tier:ledgerCounted:)``.
    public func recordFailed(job: String, reason: String) throws {
        try record(job: job, .failed(reason: LogRecord.boundedReason(reason)))
    }

    private func record(job: String, _ body: LogRecordBody) throws(AuditError) {
        let millis = UInt64(max(0, now().timeIntervalSince1970 * 1000).rounded(.down))
        let bytes = try LogRecord(job: job, timeMillis: millis, body: body).encoded
        try locked { () throws(AuditError) in
            do throws(LogError) { try log.append(bytes) } catch { throw AuditError(error, doing: "cannot append to the log") }
            index.add(bytes, at: log.size - 1)
            do throws(LogError) { _ = try log.publishCheckpoint(origin: origin, signer: signer) } catch {
                throw AuditError(error, doing: "the entry was written but its checkpoint was not")
            }
        }
    }

    // MARK: - Reading (the HTTP endpoints)

    /// The newest signed checkpoint, as note bytes (it covers every entry).
    /// - Throws: `AuditError` `.storage` if no checkpoint was stored (cannot happen after `init`).
    public func checkpoint() throws -> [UInt8] {
        guard let note = locked({ log.checkpointNotes.last }) else {
            throw AuditError(.storage, "the log has no signed checkpoint yet")
        }
        return note
    }

    /// Entries `from ..< from + count`, cut at the end of the log and at ``maxEntriesPerRead``.
    /// - Throws: `AuditError` `.outOfRange` if `from` is past the end; `.storage` if an entry
    ///   cannot be read back or changed on disk.
    public func entries(from: UInt64, count: Int) throws -> [[UInt8]] {
        try locked { () throws(AuditError) -> [[UInt8]] in
            guard from <= log.size else {
                throw AuditError(.outOfRange, "entry \(from) does not exist; the log has \(log.size)")
            }
            let end = min(log.size, from + UInt64(max(0, min(count, Self.maxEntriesPerRead))))
            var out: [[UInt8]] = []
            for index in from..<end {
                do throws(LogError) { out.append(try log.entry(at: index).bytes) } catch { throw AuditError(error, doing: "cannot read entry \(index)") }
            }
            return out
        }
    }

    /// The RFC 9162 inclusion proof of entry `index` in the tree of `size` entries, leaf first.
    /// - Throws: `AuditError` `.outOfRange` unless `index < size <= self.size`.
    public func inclusionProof(index: UInt64, size: UInt64) throws -> [[UInt8]] {
        try locked { () throws(AuditError) -> [[UInt8]] in
            do throws(LogError) { return try log.merkleTree.inclusionProof(leafIndex: index, treeSize: size).path.map(\.bytes) } catch {
                throw AuditError(error, doing: "no inclusion proof")
            }
        }
    }

    /// The RFC 9162 consistency proof from the tree of `from` entries to the tree of `to`.
    /// - Throws: `AuditError` `.outOfRange` unless `from <= to <= size`.
    public func consistencyProof(from: UInt64, to: UInt64) throws -> [[UInt8]] {
        try locked { () throws(AuditError) -> [[UInt8]] in
            do throws(LogError) { return try log.merkleTree.consistencyProof(oldSize: from, newSize: to).path.map(\.bytes) } catch {
                throw AuditError(error, doing: "no consistency proof")
            }
        }
    }

    /// The most indexes ``jobEntries(job:kind:before:limit:)`` returns at once.
    public static let maxIndexesPerRead = 256

    /// Up to `limit` (at most ``maxIndexesPerRead``) indexes of `job`'s entries of `kind` (any
    /// kind if nil) below `before`, newest first. Untrusted by clients: they prove each entry
    /// they use into a checkpoint.
    public func jobEntries(job: String, kind: String?, before: UInt64, limit: Int) -> [UInt64] {
        locked { index.entries(job: job, kind: kind, before: before, limit: max(0, min(limit, Self.maxIndexesPerRead))) }
    }

    /// What a new worker of `ledger` needs to count it: the newest checkpoint, and each entry of
    /// the ledger it covers (``LogIndex``) with its inclusion proof into it, taken under the lock
    /// so that they agree.
    /// - Throws: `AuditError` `.outOfRange` if the ledger's entries are more than a handoff
    ///   carries (``LedgerHandoff/maxBytes``): the launch then fails rather than start a worker
    ///   that cannot count its ledger; `.storage` if an entry cannot be read.
    public func ledgerHandoff(ledger: [UInt8]) throws -> LedgerHandoff {
        try locked { () throws(AuditError) -> LedgerHandoff in
            guard let note = log.checkpointNotes.last else { throw AuditError(.storage, "the log has no signed checkpoint yet") }
            let size = log.size
            let indexes = index.ledgerEntries[ledger] ?? []
            guard indexes.count <= LedgerHandoff.maxEntries else {
                throw AuditError(.outOfRange, "the ledger has \(indexes.count) entries, more than a worker's handoff carries (\(LedgerHandoff.maxEntries))")
            }
            var items: [LedgerHandoff.Item] = []
            var bytes = note.count
            for i in indexes {
                let entry: [UInt8], proof: [TreeHash]
                do throws(LogError) {
                    entry = try log.entry(at: i).bytes
                    proof = try log.merkleTree.inclusionProof(leafIndex: i, treeSize: size).path
                } catch {
                    throw AuditError(error, doing: "cannot read entry \(i) for the ledger handoff")
                }
                bytes += entry.count + 32 * proof.count + 16
                guard bytes <= LedgerHandoff.maxBytes else {
                    throw AuditError(.outOfRange, "the ledger's entries take more than \(LedgerHandoff.maxBytes >> 20) MiB, more than a worker's handoff carries")
                }
                items.append(.init(index: i, entry: entry, proof: proof))
            }
            return LedgerHandoff(checkpointNote: note, logKey: signer.verifierKey.encoded, items: items)
        }
    }

    /// A consistent copy of the entry file and every checkpoint note, taken under the lock.
    func snapshot() throws(AuditError) -> (entryFile: [UInt8], checkpointNotes: [[UInt8]]) {
        try locked { () throws(AuditError) in
            let path = Self.logDirectory(in: dataDirectory) + "/entries.log"
            do {
                return (try FileIO.read(path, maxBytes: 1 << 40), log.checkpointNotes)
            } catch {
                throw AuditError(.storage, "cannot read \(path): \(error)")
            }
        }
    }

    private func latestCheckpointSize() -> UInt64? {
        guard let note = log.checkpointNotes.last,
              case .verified(let checkpoint) = CheckpointVerifier(verifierKey: signer.verifierKey, origin: origin).verify(note) else {
            return nil
        }
        return checkpoint.checkpoint.size
    }

    private func locked<T>(_ body: () throws(AuditError) -> T) throws(AuditError) -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    private func locked<T>(_ body: () -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body()
    }
}
