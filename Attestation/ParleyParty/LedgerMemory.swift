import Foundation
import ParleyAttestation
import ParleyAudit
import ParleyCore
import ParleyLog
import ParleyModule

/// What this client saw of one budget ledger on one log: per job of the ledger, the index of its
/// launch entry, when the client verified it, and whether the client uploaded to it. Stored as
/// `<log folder>/ledgers/<ledger id hex>`, deterministic CBOR
/// `{job: {"launch": uint, "seen": uint (ms), "uploaded": bool}}`.
public struct LedgerMarks: Sendable, Equatable {
    /// One job's mark.
    public struct Mark: Sendable, Equatable {
        /// The index of the job's launch entry.
        public var launch: UInt64
        /// When it verified it.
        public var seen: Date
        /// This client uploaded to the job.
        public var uploaded: Bool
    }

    /// Job id -> mark.
    public var jobs: [String: Mark] = [:]
}

extension LogFollower {
    /// The marks this client keeps for `ledger` (empty if none).
    /// - Throws: `ParleyError` if the file is damaged.
    public func ledgerMarks(_ ledger: [UInt8]) throws -> LedgerMarks {
        let path = ledgerPath(ledger)
        guard FileManager.default.fileExists(atPath: path) else { return LedgerMarks() }
        var marks = LedgerMarks()
        let m = try CBORDecoder(limits: .init(maxBytes: 1 << 20, maxDepth: 3, maxItems: 50_000)).decode(try FileIO.read(path, maxBytes: 1 << 20))
            .textKeyedMap("ledger marks")
        for (job, value) in m {
            let j = try value.textKeyedMap("ledger mark")
            marks.jobs[job] = .init(launch: try j.required("launch", in: "mark").unsignedValue("launch"),
                                    seen: Date(timeIntervalSince1970: Double(try j.required("seen", in: "mark").unsignedValue("seen")) / 1000),
                                    uploaded: try j.required("uploaded", in: "mark").boolValue("uploaded"))
        }
        return marks
    }

    /// Records that this client verified the launch entry (at `launch`) of `job` of `ledger`, or uploaded to it.
    func mark(_ ledger: [UInt8], job: String, launch: UInt64, uploaded: Bool = false) throws {
        var marks = try ledgerMarks(ledger)
        var mark = marks.jobs[job] ?? .init(launch: launch, seen: Date(), uploaded: false)
        mark.uploaded = mark.uploaded || uploaded
        marks.jobs[job] = mark
        var map: [String: CBOR] = [:]
        for (j, m) in marks.jobs {
            map[j] = .textMap(["launch": .unsigned(m.launch), "seen": .unsigned(UInt64(m.seen.timeIntervalSince1970 * 1000)), "uploaded": .bool(m.uploaded)])
        }
        try ClientState.makeDirectory(directory + "/ledgers")
        try FileIO.write(CBOREncoder.encode(.textMap(map)), to: ledgerPath(ledger), mode: 0o600)
    }

    private func ledgerPath(_ ledger: [UInt8]) -> String { directory + "/ledgers/" + Hex.encode(ledger) }

    /// Holds the worker's ledger claim to the log and to what this client saw: the claim exists
    /// and names this log's key; the job's launch entry is in the log as attested (module, keys,
    /// ledger claim), so later workers count this job; the checkpoint the worker counted up to is
    /// a prefix of `head` (consistency proof); and it includes the launch of every other job of
    /// the ledger this client saw launched before this one. A host that hides earlier jobs from a
    /// new worker is caught here. Marks this job's launch as seen.
    /// - Throws: ``LogRefusal``.
    public func checkLedger(_ claims: LaunchClaims, head: VerifiedCheckpoint) async throws {
        guard let ledger = claims.ledger else { throw LogRefusal.noLedgerBinding }
        guard ledger.logKey == key.encoded else { throw LogRefusal.ledgerOnOtherLog }
        let size = head.checkpoint.size
        guard ledger.checkpointSize <= size, let root = try? TreeHash(bytes: ledger.checkpointRoot) else {
            throw LogRefusal.ledgerCheckpointNotInLog(workerSize: ledger.checkpointSize, logSize: size)
        }
        let proof = ledger.checkpointSize == size ? ConsistencyProof(oldSize: size, newSize: size, path: [])
            : try await consistencyProof(from: ledger.checkpointSize, to: size)
        guard proof.verify(oldRoot: root, newRoot: head.checkpoint.rootHash) == .valid else {
            throw LogRefusal.ledgerCheckpointNotInLog(workerSize: ledger.checkpointSize, logSize: size)
        }
        let launch = try await launchEntry(claims, ledger: ledger)
        let missed = try ledgerMarks(ledger.id).jobs.filter {
            $0.key != claims.job && $0.value.launch < launch && $0.value.launch >= ledger.checkpointSize
        }
        if let earliest = missed.min(by: { $0.value.launch < $1.value.launch }) {
            throw LogRefusal.ledgerHidesEntries(workerSize: ledger.checkpointSize, seenIndex: earliest.value.launch, seen: earliest.value.seen)
        }
        try mark(ledger.id, job: claims.job, launch: launch)
    }

    /// Before an upload: no earlier job of the ledger this client uploaded to is open in the
    /// worker's count (no double spending by parallel jobs). Marks the upload.
    /// - Throws: ``LogRefusal``.
    public func checkBeforeUpload(_ claims: LaunchClaims) throws {
        guard let ledger = claims.ledger else { throw LogRefusal.noLedgerBinding }
        let marks = try ledgerMarks(ledger.id)
        if let open = marks.jobs.filter({ $0.key != claims.job && $0.value.uploaded && ledger.openJobs.contains($0.key) }).keys.sorted().first {
            throw LogRefusal.earlierJobOpen(job: open)
        }
        guard let mine = marks.jobs[claims.job] else { throw LogRefusal.launchNotLogged("verify the worker with the log first") }
        try mark(ledger.id, job: claims.job, launch: mine.launch, uploaded: true)
    }

    /// The index of the job's launch entry, which must state exactly the attested claims and
    /// carry a module bundle of the attested measurement and ledger.
    func launchEntry(_ claims: LaunchClaims, ledger: LedgerClaim) async throws -> UInt64 {
        let launch: LogReceipt
        do {
            launch = try await find(job: claims.job, what: "the launch of \(claims.job)") { record in
                if case .launch(let l) = record.body { return l.claims == claims }
                return false
            }
        } catch let e as ParleyError {
            throw LogRefusal.launchNotLogged(e.reason)
        }
        guard let record = try? LogRecord(bytes: launch.entry), case .launch(let l) = record.body,
              let module = try? SealedModule(bytes: l.moduleBundle), module.measurement == claims.module,
              module.definition.ledgerID == ledger.id else {
            throw LogRefusal.launchNotLogged("its module bundle does not open, or does not measure to the attested module and its ledger")
        }
        return launch.index
    }
}
