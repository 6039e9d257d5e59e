import Foundation
import ParleyAttestation
import ParleyAudit
import ParleyCore
import ParleyLog
import ParleyModule

/// What this client saw of one budget ledger on one log: per job of the ledger, the index of its
/// launch entry, when the client verified it, whether the client uploaded to it, and whether it
/// saw the job end in the log. Stored as `<log folder>/ledgers/<ledger id hex>`, deterministic
/// CBOR `{job: {"launch": uint, "seen": uint (ms), "uploaded": bool, ? "ended": true}}`.
public struct LedgerMarks: Sendable, Equatable {
    /// One job's mark.
    public struct Mark: Sendable, Equatable {
        /// The index of the job's launch entry.
        public var launch: UInt64
        /// When it verified it.
        public var seen: Date
        /// This client uploaded to the job.
        public var uploaded: Bool
        /// This client found the job's `stopped` or `failed` entry in the log.
        public var ended: Bool = false
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
                                    uploaded: try j.required("uploaded", in: "mark").boolValue("uploaded"),
                                    ended: try j["ended"]?.boolValue("ended") ?? false)
        }
        return marks
    }

    /// Records that this client verified the launch entry (at `launch`) of `job` of `ledger`, or uploaded to it.
    func mark(_ ledger: [UInt8], job: String, launch: UInt64, uploaded: Bool = false, ended: Bool = false) throws {
        var marks = try ledgerMarks(ledger)
        var mark = marks.jobs[job] ?? .init(launch: launch, seen: Date(), uploaded: false)
        mark.uploaded = mark.uploaded || uploaded
        mark.ended = mark.ended || ended
        marks.jobs[job] = mark
        var map: [String: CBOR] = [:]
        for (j, m) in marks.jobs {
            var fields: [String: CBOR] = ["launch": .unsigned(m.launch), "seen": .unsigned(UInt64(m.seen.timeIntervalSince1970 * 1000)), "uploaded": .bool(m.uploaded)]
            if m.ended { fields["ended"] = .bool(true) }
            map[j] = .textMap(fields)
        }
        try ClientState.makeDirectory(directory + "/ledgers")
        try FileIO.write(CBOREncoder.encode(.textMap(map)), to: ledgerPath(ledger), mode: 0o600)
    }

    private func ledgerPath(_ ledger: [UInt8]) -> String { directory + "/ledgers/" + Hex.encode(ledger) }

    /// Holds the worker's ledger claim to the log and to what this client saw: the claim exists
    /// and names this log's key; the job's launch entry is in the log as attested (module, keys,
    /// ledger claim, and the list of jobs the worker counted, which the claim binds by digest), so
    /// later workers count this job; the checkpoint the worker counted up to is a prefix of
    /// `head` (consistency proof); and every other job of the ledger this client saw launched
    /// before this one is among those counted. A host that hides earlier jobs from a new worker
    /// (an older checkpoint, or a handoff that leaves their entries out) is caught here. Marks
    /// this job's launch as seen.
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
        let (launch, record) = try await launchEntry(claims, ledger: ledger)
        let counted = Set(record.ledgerCounted)
        let missed = try ledgerMarks(ledger.id).jobs.filter {
            $0.key != claims.job && $0.value.launch < launch && ($0.value.launch >= ledger.checkpointSize || !counted.contains($0.value.launch))
        }
        if let earliest = missed.min(by: { $0.value.launch < $1.value.launch }) {
            throw LogRefusal.ledgerHidesEntries(workerSize: ledger.checkpointSize, seenIndex: earliest.value.launch, seen: earliest.value.seen)
        }
        try mark(ledger.id, job: claims.job, launch: launch)
    }

    /// Before an upload: every earlier job of the ledger this client uploaded to has ended in the
    /// log (a `stopped` or `failed` entry, proved into the checkpoint), so that no two jobs spend
    /// the ledger's budget in parallel on its data. Marks the upload.
    /// - Throws: ``LogRefusal``.
    public func checkBeforeUpload(_ claims: LaunchClaims) async throws {
        guard let ledger = claims.ledger else { throw LogRefusal.noLedgerBinding }
        let marks = try ledgerMarks(ledger.id)
        for (job, mark) in marks.jobs.sorted(by: { $0.key < $1.key }) where job != claims.job && mark.uploaded && !mark.ended {
            guard try await hasEnded(job) else { throw LogRefusal.earlierJobOpen(job: job) }
            try self.mark(ledger.id, job: job, launch: mark.launch, ended: true)
        }
        guard let mine = marks.jobs[claims.job] else { throw LogRefusal.launchNotLogged("verify the worker with the log first") }
        try mark(ledger.id, job: claims.job, launch: mine.launch, uploaded: true)
    }

    /// True when the log holds a `stopped` or `failed` entry of `job`.
    func hasEnded(_ job: String) async throws -> Bool {
        for kind in ["stopped", "failed"] {
            do {
                _ = try await find(job: job, kind: kind, what: "the end of \(job)") { _ in true }
                return true
            } catch let e as ParleyError where e.code == .verificationFailed {
                continue
            }
        }
        return false
    }

    /// The index and record of the job's launch entry, which must state exactly the attested
    /// claims and carry a module bundle of the attested measurement and ledger.
    func launchEntry(_ claims: LaunchClaims, ledger: LedgerClaim) async throws -> (UInt64, LaunchRecord) {
        let launch: LogReceipt
        do {
            launch = try await find(job: claims.job, kind: "launch", what: "the launch of \(claims.job)") { record in
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
        return (launch.index, l)
    }
}
