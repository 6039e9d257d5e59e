import ParleyAttestation
import ParleyCore
import ParleyLog

/// Replays an exported log offline, alone: the Merkle log and its checkpoints first (with
/// `LogAuditor`), then every entry in order against the evidence, the modules and the budgets.
/// The order of checks is in docs/log.md. It reads nothing but the bundle and never throws: every
/// problem is a failure or a warning in the report.
public struct AuditReplay: Sendable {
    /// The bundle to replay.
    public let bundle: AuditBundle
    /// What the auditor pinned; nil pins nothing (every anchor then comes from the bundle, with warnings).
    public let policy: AuditPolicy?

    /// A replay of `bundle` under `policy`.
    public init(bundle: AuditBundle, policy: AuditPolicy?) {
        self.bundle = bundle
        self.policy = policy
    }

    /// Runs every check and reports.
    public func run() -> AuditReplayReport {
        var warnings = bundle.manifestProblems.map(AuditWarning.manifest)
        let key: NoteVerifierKey
        if let pinned = policy?.logKey {
            key = pinned
            if let carried = bundle.logKey, carried != pinned { warnings.append(.bundleLogKeyDiffers) }
        } else if let carried = bundle.logKey {
            key = carried
            warnings.append(.logKeyNotPinned)
        } else {
            return AuditReplayReport(log: nil, logKey: nil, logKeyPinned: false, ledger: nil, warnings: warnings,
                                     failures: [AuditReplayFailure(entryIndex: nil, reason: .noLogKey)])
        }

        // 1. The log: every leaf and the tree recomputed, every checkpoint's signature, forks,
        //    consistency between checkpoints and with the entries.
        var entries: [LogEntry] = []
        let auditor = LogAuditor(verifier: CheckpointVerifier(verifierKey: key, origin: policy?.origin ?? key.name))
        let logReport: AuditReport
        do {
            logReport = try auditor.replay(entryFile: bundle.entryFile, checkpointNotes: bundle.checkpointNotes) { entries.append($0) }
        } catch {
            return AuditReplayReport(log: nil, logKey: key, logKeyPinned: policy?.logKey != nil, ledger: nil, warnings: warnings,
                                     failures: [AuditReplayFailure(entryIndex: nil, reason: .unreadableEntry(error.reason))])
        }
        var failures = logReport.failures.map { AuditReplayFailure(entryIndex: $0.entryIndex, reason: .log($0.reason)) }
        failures += Self.checkKnown(policy?.knownCheckpoints ?? [], against: entries,
                                    verifier: CheckpointVerifier(verifierKey: key, origin: policy?.origin ?? key.name),
                                    witnesses: policy?.witnesses ?? [], quorum: policy?.witnessQuorum ?? 0)

        // 2. The entries, in order (only the intact prefix the log check read).
        var anchors = policy?.anchors ?? TrustAnchors()
        if anchors.quotingRoot == nil, let root = bundle.quotingRoot {
            anchors.quotingRoot = root
            warnings.append(.anchorNotPinned("quoting-root.pem"))
        }
        if anchors.tpmAttestationKey == nil, let ak = bundle.tpmAttestationKey {
            anchors.tpmAttestationKey = ak
            warnings.append(.anchorNotPinned("tpm-ak.pem"))
        }
        var ledger = ReplayLedger(launches: LaunchVerification(anchors: anchors, expectedModules: policy?.expectedModules))
        for entry in entries { ledger.visit(entry) }
        failures += ledger.failures
        warnings += ledger.warnings + ledger.relaunchWarnings
        let acrossJobs = LedgerAudit(entries: entries)
        failures += acrossJobs.failures

        return AuditReplayReport(log: logReport, logKey: key, logKeyPinned: policy?.logKey != nil, ledger: ledger,
                                 warnings: warnings, failures: Self.ordered(failures), ledgers: acrossJobs.summaries)
    }

    /// Holds the log to checkpoints others saw: each must verify with the log key, and the
    /// replayed tree must have its size at least and the same root at its size.
    static func checkKnown(_ known: [(source: String, note: [UInt8])], against entries: [LogEntry],
                           verifier: CheckpointVerifier, witnesses: [CosignerKey] = [], quorum: Int = 0) -> [AuditReplayFailure] {
        guard !known.isEmpty else { return [] }
        let tree = MerkleTree(leafHashes: entries.map { MerkleHashing.leafHash($0.bytes) })
        var failures: [AuditReplayFailure] = []
        for (source, note) in known {
            switch verifier.verify(note) {
            case .rejected(let why):
                failures.append(AuditReplayFailure(entryIndex: nil, reason: .knownCheckpointRejected(source: source, why)))
            case .verified(let v):
                let c = v.checkpoint
                if quorum > 0 {
                    let have = (try? SignedNote.parse(note))?.cosignatures(by: witnesses).count ?? 0
                    if have < quorum {
                        failures.append(AuditReplayFailure(entryIndex: nil, reason: .knownCheckpointUnwitnessed(source: source, have: have, need: quorum)))
                    }
                }
                if c.size > tree.size {
                    failures.append(AuditReplayFailure(entryIndex: nil, reason: .knownCheckpointNotExtended(
                        source: source, knownSize: c.size, logSize: tree.size, rootDiffers: false)))
                } else if (try? tree.rootHash(atSize: c.size)) != c.rootHash {
                    failures.append(AuditReplayFailure(entryIndex: nil, reason: .knownCheckpointNotExtended(
                        source: source, knownSize: c.size, logSize: tree.size, rootDiffers: true)))
                }
            }
        }
        return failures
    }

    /// Failures about the checkpoints alone (no entry) first, then by entry index; ties keep
    /// their order (the log's own failures before what the entry says).
    static func ordered(_ failures: [AuditReplayFailure]) -> [AuditReplayFailure] {
        failures.enumerated().sorted { lhs, rhs in
            let l = (lhs.element.entryIndex == nil ? 0 : 1, lhs.element.entryIndex ?? 0, lhs.offset)
            let r = (rhs.element.entryIndex == nil ? 0 : 1, rhs.element.entryIndex ?? 0, rhs.offset)
            return l < r
        }.map(\.element)
    }
}
