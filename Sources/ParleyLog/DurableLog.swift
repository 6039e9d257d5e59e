#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The log writer: an append-only entry file in a directory, the Merkle tree over it in memory,
/// and the signed checkpoints it published.
///
/// Durability: `append` returns only after the record is written and the file is `fsync`ed; a
/// file is created under a temporary name, `fsync`ed, renamed into place and the directory
/// `fsync`ed. So after a crash (even `kill -9` mid-write) every acknowledged entry is on disk,
/// and at most an unacknowledged torn record sits at the end; `open` cuts it and reports how
/// many bytes it cut. If a write or `fsync` fails, the writer stops: every later append throws
/// `.writerStopped`, because after a failed `fsync` the kernel may have dropped the dirty pages
/// and carrying on would acknowledge entries that are not durable. Reopen to recover.
///
/// Tree: leaf hashes are not kept in a side file; `open` reads every record, checks its
/// checksum (which is its leaf hash) and rebuilds the tree in memory, so the entry file is the
/// single source of truth. That is one SHA-256 per entry on open, and about 64 bytes of memory
/// per entry afterwards; appends are O(1) amortised, proofs O(log n).
///
/// Files in the directory: `entries.log`, `checkpoints.log` (see `RecordFormat`) and `LOCK`,
/// which is `flock`ed so that two writers cannot share a log. Not thread-safe: own one
/// `DurableLog` from one actor or thread.
public final class DurableLog {
    /// What `open` found.
    public struct OpenReport: Hashable, Sendable {
        /// True if the log did not exist and was created.
        public let created: Bool
        /// Entries recovered.
        public let entryCount: UInt64
        /// Signed checkpoints recovered.
        public let checkpointCount: Int
        /// Bytes of a torn, unacknowledged record cut from the end of the entry file.
        public let entryBytesCut: Int64
        /// Bytes of a torn record cut from the end of the checkpoint file.
        public let checkpointBytesCut: Int64
    }

    /// A checkpoint the log signed and stored.
    public struct PublishedCheckpoint: Hashable, Sendable {
        /// The checkpoint body.
        public let checkpoint: Checkpoint
        /// The signed note's bytes, as stored and as served.
        public let note: [UInt8]
    }

    static let entryFileName = "entries.log"
    static let checkpointFileName = "checkpoints.log"
    static let lockFileName = "LOCK"

    /// The directory holding the log's files.
    public let directory: String
    /// What `open` found.
    public let openReport: OpenReport

    private let entryFile: Int32
    private let checkpointFile: Int32
    private let lockFile: Int32
    private let sync: (Int32) -> Int32
    private var tree: MerkleTree
    private var recordOffsets: [Int64]
    private var entryEnd: Int64
    private var checkpointEnd: Int64
    private var storedCheckpoints: [[UInt8]]
    private var stopReason: String?

    /// Opens the log in `directory`, creating the directory and files if missing, cutting a torn
    /// tail and rebuilding the tree.
    /// - Throws: `LogError` `.ioFailure` if a file cannot be opened, locked, read or synced
    ///   (another writer holding the lock included); `.corruptStorage` if a record that is not
    ///   the last is damaged, or if a stored checkpoint covers entries that are not on disk.
    /// - Parameter onEntry: called with each recovered entry's index and bytes, in order, during
    ///   the one scan that rebuilds the tree (so a reader that indexes the log need not read it again).
    public convenience init(directory: String, onEntry: (UInt64, [UInt8]) -> Void = { _, _ in }) throws(LogError) {
        try self.init(directory: directory, sync: { fsync($0) }, onEntry: onEntry)
    }

    /// Opens with an injectable `fsync`, so tests can make it fail.
    init(directory: String, sync: @escaping (Int32) -> Int32, onEntry: (UInt64, [UInt8]) -> Void = { _, _ in }) throws(LogError) {
        self.directory = directory
        self.sync = sync
        var created = false
        if !FileIO.exists(directory) {
            guard mkdir(directory, 0o755) == 0 || errno == EEXIST else {
                throw LogError(.ioFailure, "cannot create directory \(directory): \(FileIO.errorText())")
            }
            try FileIO.syncDirectory(Self.parent(of: directory), using: sync)
        }
        lockFile = try FileIO.open(directory + "/" + Self.lockFileName, O_RDWR | O_CREAT)
        guard flock(lockFile, LOCK_EX | LOCK_NB) == 0 else {
            close(lockFile)
            throw LogError(.ioFailure, "the log in \(directory) is open in another writer")
        }
        var opened: [Int32] = []
        do {
            created = try Self.createIfMissing(directory, Self.entryFileName, RecordFormat.entryMagic, sync: sync)
            _ = try Self.createIfMissing(directory, Self.checkpointFileName, RecordFormat.checkpointMagic, sync: sync)
            let entries = try FileIO.open(directory + "/" + Self.entryFileName, O_RDWR)
            opened.append(entries)
            let checkpoints = try FileIO.open(directory + "/" + Self.checkpointFileName, O_RDWR)
            opened.append(checkpoints)

            var tree = MerkleTree()
            var offsets: [Int64] = []
            let (entryEnd, entryCut) = try Self.recover(entries, path: Self.entryFileName, magic: RecordFormat.entryMagic,
                                                        sync: sync) { record in
                onEntry(record.index, record.payload)
                tree.append(leafHash: record.leafHash)
                offsets.append(record.offset)
            }
            var notes: [[UInt8]] = []
            let (checkpointEnd, checkpointCut) = try Self.recover(checkpoints, path: Self.checkpointFileName,
                                                                  magic: RecordFormat.checkpointMagic, sync: sync) { record in
                notes.append(record.payload)
            }
            try Self.checkStoredCheckpoint(notes.last, against: tree)

            self.entryFile = entries
            self.checkpointFile = checkpoints
            self.tree = tree
            self.recordOffsets = offsets
            self.entryEnd = entryEnd
            self.checkpointEnd = checkpointEnd
            self.storedCheckpoints = notes
            self.openReport = OpenReport(created: created, entryCount: tree.size, checkpointCount: notes.count,
                                         entryBytesCut: entryCut, checkpointBytesCut: checkpointCut)
        } catch {
            for fd in opened { close(fd) }
            close(lockFile)
            throw error
        }
    }

    deinit {
        close(entryFile)
        close(checkpointFile)
        close(lockFile)
    }

    /// The number of entries.
    public var size: UInt64 { tree.size }

    /// The current root hash.
    public var rootHash: TreeHash { tree.rootHash }

    /// The in-memory tree, for proofs at any past size.
    public var merkleTree: MerkleTree { tree }

    /// Why the writer stopped, or nil while it accepts appends.
    public var stoppedBecause: String? { stopReason }

    /// The signed checkpoints stored so far, oldest first, as note bytes.
    public var checkpointNotes: [[UInt8]] { storedCheckpoints }

    /// Appends one entry and returns once it is durable.
    /// - Throws: `LogError` `.oversize` for an entry over `LogEntry.maxByteCount` (the writer
    ///   carries on); `.ioFailure` if the write or `fsync` fails (the writer stops);
    ///   `.writerStopped` after an earlier failure.
    @discardableResult
    public func append(_ entry: [UInt8]) throws(LogError) -> LogEntry {
        try append(contentsOf: [entry])[0]
    }

    /// Appends entries with one write and one `fsync` (group commit); returns once all are
    /// durable. Either all are acknowledged or the writer stops.
    /// - Throws: as `append(_:)`.
    @discardableResult
    public func append(contentsOf entries: [[UInt8]]) throws(LogError) -> [LogEntry] {
        try checkRunning()
        for entry in entries where entry.count > LogEntry.maxByteCount {
            throw LogError(.oversize, "an entry is at most \(LogEntry.maxByteCount) bytes, got \(entry.count)")
        }
        var buffer: [UInt8] = []
        var offsets: [Int64] = []
        var index = tree.size
        for entry in entries {
            offsets.append(entryEnd + Int64(buffer.count))
            buffer.append(contentsOf: RecordFormat.encode(index: index, payload: entry))
            index += 1
        }
        try durablyWrite(buffer, to: entryFile, at: entryEnd, what: "entry file")
        entryEnd += Int64(buffer.count)
        recordOffsets.append(contentsOf: offsets)
        var acknowledged: [LogEntry] = []
        for entry in entries {
            acknowledged.append(LogEntry(index: tree.size, bytes: entry))
            tree.append(entry: entry)
        }
        return acknowledged
    }

    /// Reads entry `index` back from disk and checks it against its leaf hash.
    /// - Throws: `LogError` `.outOfRange` for an index past the end, `.ioFailure` on read
    ///   errors, `.corruptStorage` if the bytes on disk changed since they were appended.
    public func entry(at index: UInt64) throws(LogError) -> LogEntry {
        guard index < tree.size else { throw LogError(.outOfRange, "entry \(index) does not exist; the log has \(tree.size)") }
        let offset = recordOffsets[Int(index)]
        let header = try FileIO.readExactly(entryFile, at: offset, count: RecordFormat.headerLength)
        let length = Int(BigEndian.uint32(header, at: 0))
        guard length <= LogEntry.maxByteCount, BigEndian.uint64(header, at: 4) == index else {
            throw LogError(.corruptStorage, "the record header of entry \(index) changed on disk")
        }
        let payload = try FileIO.readExactly(entryFile, at: offset + Int64(RecordFormat.headerLength), count: length)
        guard MerkleHashing.leafHash(payload) == (try tree.leafHash(at: index)) else {
            throw LogError(.corruptStorage, "entry \(index) changed on disk since it was appended")
        }
        return LogEntry(index: index, bytes: payload)
    }

    /// Signs a checkpoint of the current tree with `signer`, stores it durably and returns it.
    /// Every entry it covers is already durable, so a stored checkpoint never outruns the log.
    /// - Throws: `LogError` `.malformedNote` for a bad origin, `.signingFailure`, and the write
    ///   errors of `append`.
    public func publishCheckpoint(origin: String, signer: NoteSignerKey) throws(LogError) -> PublishedCheckpoint {
        try checkRunning()
        let checkpoint = try Checkpoint(origin: origin, size: tree.size, rootHash: tree.rootHash)
        let note = try checkpoint.signedNote(with: signer)
        let record = RecordFormat.encode(index: UInt64(storedCheckpoints.count), payload: note)
        try durablyWrite(record, to: checkpointFile, at: checkpointEnd, what: "checkpoint file")
        checkpointEnd += Int64(record.count)
        storedCheckpoints.append(note)
        return PublishedCheckpoint(checkpoint: checkpoint, note: note)
    }

    // MARK: - Writing

    private func checkRunning() throws(LogError) {
        if let stopReason {
            throw LogError(.writerStopped, "the log writer stopped after an earlier failure (\(stopReason)); reopen the log")
        }
    }

    private func durablyWrite(_ bytes: [UInt8], to fd: Int32, at offset: Int64, what: String) throws(LogError) {
        do {
            try FileIO.writeAll(fd, bytes, at: offset)
        } catch {
            stopReason = "writing the \(what) failed: \(error.reason)"
            throw LogError(.ioFailure, stopReason ?? error.reason)
        }
        guard sync(fd) == 0 else {
            stopReason = "fsync of the \(what) failed: \(FileIO.errorText())"
            throw LogError(.ioFailure, stopReason ?? "fsync failed")
        }
    }

    // MARK: - Opening

    private static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// Creates `name` atomically (temporary file, fsync, rename, directory fsync) if missing.
    private static func createIfMissing(_ directory: String, _ name: String, _ magic: [UInt8],
                                        sync: (Int32) -> Int32) throws(LogError) -> Bool {
        let path = directory + "/" + name
        let temporary = path + ".tmp"
        unlink(temporary)
        guard !FileIO.exists(path) else { return false }
        let fd = try FileIO.open(temporary, O_WRONLY | O_CREAT | O_TRUNC)
        defer { close(fd) }
        try FileIO.writeAll(fd, magic, at: 0)
        guard sync(fd) == 0 else { throw LogError(.ioFailure, "fsync of new \(name) failed: \(FileIO.errorText())") }
        guard rename(temporary, path) == 0 else {
            throw LogError(.ioFailure, "cannot rename \(temporary) into place: \(FileIO.errorText())")
        }
        try FileIO.syncDirectory(directory, using: sync)
        return true
    }

    /// Scans a record file, cuts a torn tail, and returns the end of the last good record and
    /// the number of bytes cut.
    private static func recover(_ fd: Int32, path: String, magic: [UInt8], sync: (Int32) -> Int32,
                                visit: (ScannedRecord) throws(LogError) -> Void) throws(LogError) -> (Int64, Int64) {
        let size = try FileIO.size(fd, path: path)
        let end = try RecordScanner(source: FileByteSource(descriptor: fd, size: size), magic: magic).scan(visit)
        switch end {
        case .clean:
            return (size, 0)
        case let .tornTail(_, offset, bytes):
            guard ftruncate(fd, off_t(offset)) == 0, sync(fd) == 0 else {
                throw LogError(.ioFailure, "cannot cut the torn tail of \(path): \(FileIO.errorText())")
            }
            return (offset, bytes)
        case let .damaged(position, offset, problem):
            throw LogError(.corruptStorage, "\(path): record \(position) at byte \(offset) is damaged: \(problem)")
        }
    }

    /// The newest stored checkpoint must describe a prefix of the recovered tree; if it does
    /// not, acknowledged entries were lost or changed, and the log refuses to open.
    private static func checkStoredCheckpoint(_ note: [UInt8]?, against tree: MerkleTree) throws(LogError) {
        guard let note else { return }
        let checkpoint: Checkpoint
        do {
            checkpoint = try Checkpoint.parse(body: try SignedNote.parse(note).text)
        } catch {
            throw LogError(.corruptStorage, "the newest stored checkpoint does not parse: \(error.reason)")
        }
        guard checkpoint.size <= tree.size else {
            throw LogError(.corruptStorage, "a stored checkpoint covers \(checkpoint.size) entries but only \(tree.size) are on disk")
        }
        guard try tree.rootHash(atSize: checkpoint.size) == checkpoint.rootHash else {
            throw LogError(.corruptStorage, "the entries on disk do not match the stored checkpoint at size \(checkpoint.size)")
        }
    }
}
