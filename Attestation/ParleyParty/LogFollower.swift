import Foundation
import ParleyCore
import ParleyLog

/// Holds a host's log to what this client saw of it before. Every interaction calls
/// ``follow()``: it fetches the host's newest checkpoint, verifies its signature with the log
/// key, and proves with an RFC 9162 consistency proof that it extends the checkpoint this
/// client remembers; only then does it remember the new one. A host that rolled its log back
/// (an older copy of its data directory), cut it, or rewrote it and re-signed every checkpoint
/// is refused, naming both tree sizes and when the larger was seen.
public final class LogFollower: @unchecked Sendable {
    // @unchecked: immutable after init; the files are guarded by an flock.
    /// The host.
    public let http: HTTP
    /// The log's verifier key.
    public let key: NoteVerifierKey
    /// True when the key came from the party's policy; false when the host supplied it (then a
    /// host can start a new log under a new key and this memory cannot tell: pin `log_key`).
    public let keyPinned: Bool
    /// Where the memory lives.
    public let state: ClientState
    /// Witnesses whose cosignatures count.
    public let witnesses: [CosignerKey]
    /// How many of them must have cosigned each checkpoint accepted.
    public let quorum: Int
    private let now: @Sendable () -> Date

    /// Follows the log of the host at `http`.
    /// - Parameters:
    ///   - pinnedKey: the log key from the party's policy (`log_key`); nil takes the host's own
    ///     (`GET /v1/log/key`), which protects only against a host that keeps its key.
    ///   - now: the clock used to date what is remembered (injected for tests).
    /// - Throws: `ParleyError` if the host's key cannot be fetched or parsed.
    ///   - witnesses, quorum: every checkpoint accepted must carry `quorum` valid `cosignature/v1`
    ///     lines from these witnesses (C2SP tlog-cosignature), dated at most a minute ahead.
    public init(http: HTTP, state: ClientState, pinnedKey: NoteVerifierKey?, witnesses: [CosignerKey] = [], quorum: Int = 0,
                now: @escaping @Sendable () -> Date = { Date() }) async throws {
        self.http = http
        self.state = state
        self.witnesses = witnesses
        self.quorum = quorum
        self.now = now
        if let pinnedKey {
            key = pinnedKey
            keyPinned = true
        } else {
            let r = try await http.request("GET", "/v1/log/key")
            guard r.status == 200 else { throw ParleyError(.io, "the host did not give its log key (\(r.status)): \(r.errorMessage)") }
            do { key = try NoteVerifierKey(parsing: r.text.trimmingCharacters(in: .whitespacesAndNewlines)) } catch {
                throw ParleyError(.malformed, "the host's log key does not parse: \(error.reason)")
            }
            keyPinned = false
        }
    }

    /// The folder of this log in the state directory.
    public var directory: String { state.logDirectory(for: key) }

    /// What this client remembers of the log, if anything.
    /// - Throws: `ParleyError` if the remembered checkpoint no longer verifies (the state was
    ///   damaged or replaced: remove the folder only if you know why).
    public func remembered() throws -> RememberedCheckpoint? {
        let path = directory + "/checkpoint"
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let note = try FileIO.read(path, maxBytes: SignedNote.maxByteCount)
        guard case .verified(let verified) = verifier.verify(note) else {
            throw ParleyError(.verificationFailed, "the checkpoint remembered in \(path) does not verify with the log key; the state directory was changed")
        }
        let seenText = (try? FileIO.readText(directory + "/seen")) ?? ""
        let millis = UInt64(seenText.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        return RememberedCheckpoint(checkpoint: verified.checkpoint, note: note, seen: Date(timeIntervalSince1970: Double(millis) / 1000))
    }

    /// Fetches, verifies and proves the host's newest checkpoint against the remembered one,
    /// then remembers it. - Returns: the verified checkpoint.
    /// - Throws: ``LogRefusal`` when the host's log does not extend what this client saw;
    ///   `ParleyError` when the host cannot be reached or the state cannot be written.
    @discardableResult
    public func follow() async throws -> VerifiedCheckpoint {
        try ClientState.makeDirectory(directory)
        let lock = try FileLock(path: directory + "/LOCK")
        defer { withExtendedLifetime(lock) {} }
        let r = try await http.request("GET", "/v1/log/checkpoint")
        guard r.status == 200 else { throw ParleyError(.io, "the host did not give its log checkpoint (\(r.status)): \(r.errorMessage)") }
        let current: VerifiedCheckpoint
        switch verifier.verify(r.body) {
        case .verified(let v): current = v
        case .rejected(let why): throw LogRefusal.checkpointRejected(why)
        }
        if quorum > 0 {
            let limit = UInt64(max(0, now().timeIntervalSince1970 + 60))
            let have = (try? SignedNote.parse(r.body))?.cosignatures(by: witnesses).filter { $0.timestamp <= limit }.count ?? 0
            guard have >= quorum else { throw LogRefusal.tooFewCosignatures(have: have, need: quorum) }
        }
        guard let old = try remembered() else {
            try remember(current)
            return current
        }
        try await proveExtends(old: old, new: current.checkpoint)
        if current.checkpoint.size > old.checkpoint.size { try remember(current) }
        return current
    }

    /// Proves that `new` extends `old` with the host's consistency proof.
    /// - Throws: ``LogRefusal``.
    func proveExtends(old: RememberedCheckpoint, new: Checkpoint) async throws {
        let (m, n) = (old.checkpoint.size, new.size)
        if n < m { throw LogRefusal.rolledBack(current: n, remembered: m, seen: old.seen) }
        if n == m {
            guard new.rootHash == old.checkpoint.rootHash else { throw LogRefusal.forked(size: n, seen: old.seen) }
            return
        }
        let proof = try await consistencyProof(from: m, to: n)
        if case .invalid(let failure) = proof.verify(oldRoot: old.checkpoint.rootHash, newRoot: new.rootHash) {
            throw LogRefusal.notAnExtension(current: n, remembered: m, seen: old.seen, failure)
        }
    }

    /// The host's consistency proof between two sizes.
    func consistencyProof(from m: UInt64, to n: UInt64) async throws -> ConsistencyProof {
        let r = try await http.request("GET", "/v1/log/proof/consistency?first=\(m)&second=\(n)")
        guard r.status == 200 else { throw ParleyError(.io, "the host gave no consistency proof from \(m) to \(n) (\(r.status)): \(r.errorMessage)") }
        return try ConsistencyProof(oldSize: m, newSize: n, rawPath: try Self.hashList(r.body, what: "consistency proof"))
    }

    /// The host's inclusion proof of entry `index` in the tree of `size`.
    func inclusionProof(index: UInt64, size: UInt64) async throws -> InclusionProof {
        let r = try await http.request("GET", "/v1/log/proof/inclusion?index=\(index)&size=\(size)")
        guard r.status == 200 else { throw ParleyError(.io, "the host gave no inclusion proof of entry \(index) (\(r.status)): \(r.errorMessage)") }
        return try InclusionProof(leafIndex: index, treeSize: size, rawPath: try Self.hashList(r.body, what: "inclusion proof"))
    }

    /// Entries `start ..< start + count` (the host may return fewer).
    func entries(start: UInt64, count: Int) async throws -> [[UInt8]] {
        let r = try await http.request("GET", "/v1/log/entries?start=\(start)&count=\(count)")
        guard r.status == 200 else { throw ParleyError(.io, "the host gave no log entries from \(start) (\(r.status)): \(r.errorMessage)") }
        let items = try CBORDecoder(limits: .init(maxBytes: 64 << 20, maxDepth: 2, maxItems: 2048)).decode(r.body).arrayValue("log entries")
        guard items.count <= count else { throw ParleyError(.malformed, "the host returned more log entries than asked for") }
        return try items.map { try $0.bytesValue("log entry") }
    }

    /// Verifies checkpoints of this log (the key and its name as origin).
    public var verifier: CheckpointVerifier { CheckpointVerifier(verifierKey: key, origin: key.name) }

    private func remember(_ checkpoint: VerifiedCheckpoint) throws {
        try FileIO.write(Array(key.encoded.utf8) + [0x0a], to: directory + "/key", mode: 0o600)
        try FileIO.write(Array(String(UInt64(now().timeIntervalSince1970 * 1000)).utf8), to: directory + "/seen", mode: 0o600)
        try FileIO.write(checkpoint.note, to: directory + "/checkpoint", mode: 0o600)
    }

    static func hashList(_ body: [UInt8], what: String) throws -> [[UInt8]] {
        let items = try CBORDecoder(limits: .init(maxBytes: 16 << 10, maxDepth: 2, maxItems: 256)).decode(body).arrayValue(what)
        return try items.map { try $0.bytesValue(what) }
    }
}

/// Why the client refused the host's log.
public enum LogRefusal: Error, Equatable, CustomStringConvertible {
    /// The newest checkpoint is not signed by the log key (or is malformed).
    case checkpointRejected(CheckpointRejection)
    /// The host's log is smaller than one this client verified before.
    case rolledBack(current: UInt64, remembered: UInt64, seen: Date)
    /// The host's log has the size this client saw, with another root.
    case forked(size: UInt64, seen: Date)
    /// The host's larger log does not contain the one this client saw.
    case notAnExtension(current: UInt64, remembered: UInt64, seen: Date, ProofFailure)
    /// The checkpoint carries fewer valid cosignatures from the pinned witnesses than the policy needs.
    case tooFewCosignatures(have: Int, need: Int)
    /// The worker's evidence binds no ledger (it was started without the log's handoff).
    case noLedgerBinding
    /// The worker counted its ledger from another log (another log key).
    case ledgerOnOtherLog
    /// The checkpoint the worker counted up to is not a prefix of the log this client follows.
    case ledgerCheckpointNotInLog(workerSize: UInt64, logSize: UInt64)
    /// The worker counted up to a checkpoint that does not include an entry of its ledger this client saw.
    case ledgerHidesEntries(workerSize: UInt64, seenIndex: UInt64, seen: Date)
    /// An earlier job of the ledger this client uploaded to is still open.
    case earlierJobOpen(job: String)
    /// The job's launch entry is missing or does not match the attested worker.
    case launchNotLogged(String)

    /// A stable identifier for scripts and tests.
    public var code: String {
        switch self {
        case .checkpointRejected: "checkpointRejected"
        case .rolledBack: "logRolledBack"
        case .forked: "logForked"
        case .notAnExtension: "logNotAnExtension"
        case .tooFewCosignatures: "tooFewCosignatures"
        case .noLedgerBinding: "noLedgerBinding"
        case .ledgerOnOtherLog: "ledgerOnOtherLog"
        case .ledgerCheckpointNotInLog: "ledgerCheckpointNotInLog"
        case .ledgerHidesEntries: "ledgerHidesEntries"
        case .earlierJobOpen: "earlierJobOpen"
        case .launchNotLogged: "launchNotLogged"
        }
    }

    /// An English reason a person can act on.
    public var description: String {
        switch self {
        case .checkpointRejected(let why):
            return "the host's log checkpoint is refused: \(why)"
        case let .rolledBack(current, remembered, seen):
            return "the host's log has \(current) entries, but on \(Self.date(seen)) you verified a checkpoint of \(remembered) entries: "
                + "the host rolled its log back or cut it (an older copy of its data directory?). Nothing was sent; keep your state "
                + "directory and tell the other parties and the auditor (`parley audit replay --known-checkpoint`)"
        case let .forked(size, seen):
            return "the host's log of \(size) entries has another root than the one of \(size) entries you verified on \(Self.date(seen)): "
                + "the host rewrote its history (a fork). Nothing was sent; keep your state directory as evidence"
        case let .notAnExtension(current, remembered, seen, failure):
            return "the host's log of \(current) entries does not extend the \(remembered) entries you verified on \(Self.date(seen)) (\(failure)): "
                + "the host rewrote its history. Nothing was sent; keep your state directory as evidence"
        case let .tooFewCosignatures(have, need):
            return "the host's checkpoint carries \(have) valid cosignature(s) from the witnesses your policy pins, and it needs \(need): "
                + "without them you cannot tell whether other parties are shown the same log. Nothing was sent; ask the operator to run `parley serve --witness URL` with your witnesses"
        case .noLedgerBinding:
            return "the worker's evidence binds no budget ledger (it was started without the host's log), so it may not count what earlier jobs spent. Nothing was sent"
        case .ledgerOnOtherLog:
            return "the worker counted its budget ledger from another log than the one you follow (another log key). Nothing was sent"
        case let .ledgerCheckpointNotInLog(workerSize, logSize):
            return "the worker counted its budget ledger up to a checkpoint of \(workerSize) entries that is not part of the host's log of \(logSize) entries: "
                + "the host showed the worker another history. Nothing was sent; keep your state directory as evidence"
        case let .ledgerHidesEntries(workerSize, seenIndex, seen):
            return "the worker counted its budget ledger up to a checkpoint of \(workerSize) entries, but on \(Self.date(seen)) you saw entry \(seenIndex) of this ledger: "
                + "the host hid earlier jobs from the new worker, which would reset the budget. Nothing was sent; keep your state directory as evidence"
        case .earlierJobOpen(let job):
            return "job \(job) of the same budget ledger, which you uploaded to, is still open: the operator must stop it (its worker then signs what it spent) before you upload to another job of the ledger. Nothing was sent"
        case .launchNotLogged(let why):
            return "the job's launch is not in the host's log as the worker attests it (\(why)): later jobs could not count its spend. Nothing was sent"
        }
    }

    static func date(_ d: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: d)
    }
}
