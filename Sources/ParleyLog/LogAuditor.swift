#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Replays a log offline: recomputes every leaf and the whole tree from the entries, verifies
/// every checkpoint's signature against the pinned log key, and checks that the checkpoints
/// agree with each other and with the entries. It never writes.
public struct LogAuditor: Sendable {
    /// The pinned log key and origin.
    public let verifier: CheckpointVerifier

    /// An auditor for the log with this key and origin.
    public init(verifier: CheckpointVerifier) {
        self.verifier = verifier
    }

    /// Replays the log files in `directory` (as `DurableLog` writes them), read-only.
    /// - Parameter visit: called with each intact entry, in order, for the caller's own checks
    ///   (decoding the CBOR, say).
    /// - Throws: `LogError` `.ioFailure` only when the files cannot be read at all; every
    ///   problem with their contents is a failure in the report.
    public func replay(directory: String, visit: (LogEntry) -> Void = { _ in }) throws(LogError) -> AuditReport {
        let entries = try FileIO.open(directory + "/" + DurableLog.entryFileName, O_RDONLY)
        defer { close(entries) }
        let checkpointPath = directory + "/" + DurableLog.checkpointFileName
        var notes: [[UInt8]] = []
        var checkpointFileFailure: AuditFailure?
        if FileIO.exists(checkpointPath) {
            let fd = try FileIO.open(checkpointPath, O_RDONLY)
            defer { close(fd) }
            let source = FileByteSource(descriptor: fd, size: try FileIO.size(fd, path: checkpointPath))
            let end = try RecordScanner(source: source, magic: RecordFormat.checkpointMagic).scan { notes.append($0.payload) }
            if case let .damaged(position, _, problem) = end {
                checkpointFileFailure = AuditFailure(entryIndex: nil, reason: .checkpointFileDamaged(position: position, problem: problem.description))
            }
        }
        let source = FileByteSource(descriptor: entries, size: try FileIO.size(entries, path: DurableLog.entryFileName))
        var report = try replay(source: source, checkpointNotes: notes, visit: visit)
        if let checkpointFileFailure { report = report.adding(checkpointFileFailure) }
        return report
    }

    /// Replays an entry file held in memory (an exported bundle) with checkpoint notes gathered
    /// from anywhere (the log's own file, witnesses, parties' receipts).
    /// - Throws: never for bad contents; see `replay(directory:visit:)`.
    public func replay(entryFile: [UInt8], checkpointNotes: [[UInt8]], visit: (LogEntry) -> Void = { _ in }) throws(LogError) -> AuditReport {
        try replay(source: MemoryByteSource(bytes: entryFile), checkpointNotes: checkpointNotes, visit: visit)
    }

    private func replay(source: any ByteSource, checkpointNotes: [[UInt8]], visit: (LogEntry) -> Void) throws(LogError) -> AuditReport {
        var failures: [AuditFailure] = []

        // 1. Entries: checksum and position of every record; the tree from the intact prefix.
        var tree = MerkleTree()
        let end = try RecordScanner(source: source, magic: RecordFormat.entryMagic).scan { record in
            tree.append(leafHash: record.leafHash)
            visit(LogEntry(index: record.index, bytes: record.payload))
        }
        switch end {
        case .clean: break
        case let .tornTail(position, _, bytes):
            failures.append(AuditFailure(entryIndex: position, reason: .truncatedEntry(bytes: bytes)))
        case let .damaged(position, _, problem):
            let reason: AuditFailureReason = switch problem {
            case .badMagic: .badFileHeader
            case .checksumMismatch: .entryChecksumMismatch
            case let .indexMismatch(found): .entryOutOfPlace(claimedIndex: found)
            case let .tooLarge(length): .entryTooLarge(length: length)
            }
            failures.append(AuditFailure(entryIndex: position, reason: reason))
        }

        // 2. Checkpoints: signatures, then forks among them.
        var verified: [Checkpoint] = []
        for (position, note) in checkpointNotes.enumerated() {
            switch verifier.verify(note) {
            case let .verified(checkpoint): verified.append(checkpoint.checkpoint)
            case let .rejected(rejection):
                failures.append(AuditFailure(entryIndex: nil, reason: .checkpointRejected(position: position, rejection)))
            }
        }
        let distinct = Array(Set(verified)).sorted { ($0.size, $0.rootHash.hex) < ($1.size, $1.rootHash.hex) }
        var previous: Checkpoint?
        for checkpoint in distinct {
            if let previous, previous.size == checkpoint.size, previous.rootHash != checkpoint.rootHash {
                failures.append(AuditFailure(entryIndex: nil, reason: .forkedCheckpoints(size: checkpoint.size)))
            }
            previous = checkpoint
        }

        // 3. Checkpoints against the recomputed tree, and against each other.
        failures += compare(distinct, with: tree)

        // Failures of the checkpoints alone first, then by entry index; ties keep their order.
        let ordered = failures.enumerated().sorted { lhs, rhs in
            let l = (lhs.element.entryIndex == nil ? 0 : 1, lhs.element.entryIndex ?? 0, lhs.offset)
            let r = (rhs.element.entryIndex == nil ? 0 : 1, rhs.element.entryIndex ?? 0, rhs.offset)
            return l < r
        }.map(\.element)
        return AuditReport(entryCount: tree.size, rootHash: tree.rootHash, verifiedCheckpoints: distinct, failures: ordered)
    }

    private func compare(_ checkpoints: [Checkpoint], with tree: MerkleTree) -> [AuditFailure] {
        var failures: [AuditFailure] = []
        var matching: [Checkpoint] = []
        var mismatching: [Checkpoint] = []
        for checkpoint in checkpoints {
            guard checkpoint.size <= tree.size else {
                failures.append(AuditFailure(entryIndex: tree.size,
                                             reason: .checkpointBeyondLog(checkpointSize: checkpoint.size, entryCount: tree.size)))
                continue
            }
            if (try? tree.rootHash(atSize: checkpoint.size)) == checkpoint.rootHash {
                matching.append(checkpoint)
            } else {
                mismatching.append(checkpoint)
            }
        }
        // Consecutive matching checkpoints must be consistent (they are, if the tree is one tree;
        // checked with real proofs so the report rests on RFC 9162, not on this code's logic).
        for (older, newer) in zip(matching, matching.dropFirst()) {
            if case let .invalid(failure) = consistency(older, newer, tree) {
                failures.append(AuditFailure(entryIndex: nil, reason: .inconsistentCheckpoints(olderSize: older.size, newerSize: newer.size, failure)))
            }
        }
        for checkpoint in mismatching {
            if let newer = matching.first(where: { $0.size > checkpoint.size }) {
                // The entries agree with a newer signed checkpoint: this older one is a fork.
                let verdict = consistency(checkpoint, newer, tree)
                let failure: ProofFailure = if case let .invalid(failure) = verdict { failure } else { .rootsDiffer }
                failures.append(AuditFailure(entryIndex: nil, reason: .inconsistentCheckpoints(olderSize: checkpoint.size, newerSize: newer.size, failure)))
            } else {
                // No later signed checkpoint vouches for these entries: they changed since signing.
                let vouched = matching.last(where: { $0.size < checkpoint.size })?.size ?? 0
                failures.append(AuditFailure(entryIndex: vouched, reason: .rootMismatch(checkpointSize: checkpoint.size, lastMatchingSize: vouched)))
            }
        }
        return failures
    }

    private func consistency(_ older: Checkpoint, _ newer: Checkpoint, _ tree: MerkleTree) -> ProofVerdict {
        guard let proof = try? tree.consistencyProof(oldSize: older.size, newSize: newer.size) else {
            return .invalid(.wrongPathLength)
        }
        return proof.verify(oldRoot: older.rootHash, newRoot: newer.rootHash)
    }
}

/// What a replay found.
public struct AuditReport: Sendable {
    /// Intact entries replayed (the prefix before the first damaged record).
    public let entryCount: UInt64
    /// The root recomputed over those entries.
    public let rootHash: TreeHash
    /// Checkpoints whose signatures verified, distinct, ordered by size.
    public let verifiedCheckpoints: [Checkpoint]
    /// Every failure found, the first one first (see `verdict`).
    public let failures: [AuditFailure]

    /// Passed, or failed with the first failure: failures of the checkpoint evidence itself
    /// (no entry index) come first, then the one with the lowest entry index.
    public var verdict: AuditVerdict {
        failures.first.map(AuditVerdict.failed) ?? .passed
    }

    func adding(_ failure: AuditFailure) -> AuditReport {
        AuditReport(entryCount: entryCount, rootHash: rootHash, verifiedCheckpoints: verifiedCheckpoints,
                    failures: [failure] + failures)
    }
}

/// The outcome of a replay.
public enum AuditVerdict: Hashable, Sendable {
    /// Every entry is intact and in place, and every checkpoint is signed and agrees.
    case passed
    /// The first failure.
    case failed(AuditFailure)
}

/// One thing a replay found wrong.
public struct AuditFailure: Hashable, Sendable, CustomStringConvertible {
    /// The first entry that fails, when the failure is about entries; nil when it is about the
    /// checkpoints alone (a bad signature, a fork).
    public let entryIndex: UInt64?
    /// What is wrong.
    public let reason: AuditFailureReason

    /// The entry (if any) and the reason, for a person.
    public var description: String {
        entryIndex.map { "entry \($0): \(reason)" } ?? "\(reason)"
    }
}

/// What a replay can find wrong.
public enum AuditFailureReason: Hashable, Sendable, CustomStringConvertible {
    /// The entry file does not start with the log's magic.
    case badFileHeader
    /// The entry's bytes do not match its checksum (a flipped byte).
    case entryChecksumMismatch
    /// The record at this position claims another index (a dropped, inserted or reordered entry).
    case entryOutOfPlace(claimedIndex: UInt64)
    /// The record's length is over the limit.
    case entryTooLarge(length: Int)
    /// The file ends inside this entry (a truncated file or a torn write).
    case truncatedEntry(bytes: Int64)
    /// The checkpoint file itself is damaged at this record.
    case checkpointFileDamaged(position: UInt64, problem: String)
    /// A checkpoint note was refused (position in the list given).
    case checkpointRejected(position: Int, CheckpointRejection)
    /// Two signed checkpoints of the same size have different roots.
    case forkedCheckpoints(size: UInt64)
    /// Two signed checkpoints cannot both be views of one append-only log.
    case inconsistentCheckpoints(olderSize: UInt64, newerSize: UInt64, ProofFailure)
    /// A signed checkpoint covers more entries than the file holds (entries from the index on
    /// are missing).
    case checkpointBeyondLog(checkpointSize: UInt64, entryCount: UInt64)
    /// The entries do not hash to a signed root; the entries from the index on are not vouched
    /// for by any signed checkpoint (the change is in `lastMatchingSize..<checkpointSize`).
    case rootMismatch(checkpointSize: UInt64, lastMatchingSize: UInt64)

    /// An English reason a person can act on.
    public var description: String {
        switch self {
        case .badFileHeader: "the entry file does not start with the log's magic"
        case .entryChecksumMismatch: "the entry's bytes do not match its checksum"
        case let .entryOutOfPlace(claimed): "the record here claims index \(claimed): an entry was dropped, inserted or moved"
        case let .entryTooLarge(length): "the record's length \(length) is over the limit"
        case let .truncatedEntry(bytes): "the file ends \(bytes) bytes into this entry"
        case let .checkpointFileDamaged(position, problem): "checkpoint record \(position) is damaged: \(problem)"
        case let .checkpointRejected(position, rejection): "checkpoint \(position) refused: \(rejection)"
        case let .forkedCheckpoints(size): "two signed checkpoints of size \(size) have different roots (a fork)"
        case let .inconsistentCheckpoints(older, newer, failure): "signed checkpoints \(older) and \(newer) are inconsistent: \(failure)"
        case let .checkpointBeyondLog(size, count): "a signed checkpoint covers \(size) entries but the file holds \(count)"
        case let .rootMismatch(size, last): "the entries do not hash to the signed root at size \(size); the last matching checkpoint is at \(last)"
        }
    }
}
