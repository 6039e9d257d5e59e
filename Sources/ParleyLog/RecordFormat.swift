/// The byte layout of the log's append-only files (normative for auditors reading them).
///
/// A file is an 8-byte magic followed by records. A record is
///
///     u32 length (big-endian) || u64 index (big-endian) || payload (length bytes) || checksum
///
/// where `checksum` is the 32-byte RFC 9162 leaf hash `SHA-256(0x00 || payload)`, and `index`
/// counts records from 0. The checksum catches torn and flipped bytes, the index catches
/// dropped, repeated and reordered records; neither is a defence against someone who rewrites
/// the file (signed checkpoints are).
enum RecordFormat {
    /// Magic of the entry file.
    static let entryMagic: [UInt8] = Array("PRLYLOG1".utf8)
    /// Magic of the checkpoint file.
    static let checkpointMagic: [UInt8] = Array("PRLYCKP1".utf8)
    /// Length of the magic.
    static let magicLength = 8
    /// Bytes before the payload.
    static let headerLength = 12
    /// Bytes after the payload.
    static let trailerLength = TreeHash.byteCount

    /// The bytes of one record.
    static func encode(index: UInt64, payload: [UInt8]) -> [UInt8] {
        var record: [UInt8] = []
        record.reserveCapacity(headerLength + payload.count + trailerLength)
        BigEndian.append(UInt32(payload.count), to: &record)
        BigEndian.append(index, to: &record)
        record.append(contentsOf: payload)
        record.append(contentsOf: MerkleHashing.leafHash(payload).bytes)
        return record
    }
}

/// Where a sequential read of a record file stopped.
enum RecordScanEnd: Equatable {
    /// Every byte belongs to a whole, intact record.
    case clean
    /// The file ends inside the record at `position`: `bytes` bytes from `offset` on are a torn
    /// write (an unacknowledged append cut short by a crash).
    case tornTail(position: UInt64, offset: Int64, bytes: Int64)
    /// A record that is not at the end is damaged: this is not a crash artefact.
    case damaged(position: UInt64, offset: Int64, problem: RecordProblem)
}

/// What is wrong with a damaged record.
enum RecordProblem: Equatable, CustomStringConvertible {
    case badMagic
    case checksumMismatch
    case indexMismatch(found: UInt64)
    case tooLarge(length: Int)

    var description: String {
        switch self {
        case .badMagic: "the file does not start with the log's magic"
        case .checksumMismatch: "its bytes do not match its checksum"
        case let .indexMismatch(found): "it claims index \(found)"
        case let .tooLarge(length): "its length \(length) is over the limit of \(LogEntry.maxByteCount)"
        }
    }
}

/// One intact record met during a scan.
struct ScannedRecord {
    let index: UInt64
    let offset: Int64
    let payload: [UInt8]
    let leafHash: TreeHash
}

/// Reads records one after the other from a byte source, stopping at the first problem.
struct RecordScanner {
    let source: any ByteSource
    let magic: [UInt8]

    /// Calls `visit` for each intact record, in order, and says where and why it stopped.
    func scan(_ visit: (ScannedRecord) throws(LogError) -> Void) throws(LogError) -> RecordScanEnd {
        let size = source.size
        guard size >= Int64(RecordFormat.magicLength),
              try source.read(at: 0, count: RecordFormat.magicLength) == magic else {
            return .damaged(position: 0, offset: 0, problem: .badMagic)
        }
        var offset = Int64(RecordFormat.magicLength)
        var position: UInt64 = 0
        while offset < size {
            let remaining = size - offset
            guard remaining >= Int64(RecordFormat.headerLength) else {
                return .tornTail(position: position, offset: offset, bytes: remaining)
            }
            let header = try source.read(at: offset, count: RecordFormat.headerLength)
            let length = Int(BigEndian.uint32(header, at: 0))
            let index = BigEndian.uint64(header, at: 4)
            let recordLength = Int64(RecordFormat.headerLength + length + RecordFormat.trailerLength)
            guard recordLength <= remaining else {
                return .tornTail(position: position, offset: offset, bytes: remaining)
            }
            guard length <= LogEntry.maxByteCount else {
                return .damaged(position: position, offset: offset, problem: .tooLarge(length: length))
            }
            let body = try source.read(at: offset + Int64(RecordFormat.headerLength), count: length + RecordFormat.trailerLength)
            let payload = Array(body[..<length])
            let leaf = MerkleHashing.leafHash(payload)
            guard leaf.bytes[...] == body[length...] else {
                if recordLength == remaining {
                    return .tornTail(position: position, offset: offset, bytes: remaining)
                }
                return .damaged(position: position, offset: offset, problem: .checksumMismatch)
            }
            guard index == position else {
                return .damaged(position: position, offset: offset, problem: .indexMismatch(found: index))
            }
            try visit(ScannedRecord(index: index, offset: offset, payload: payload, leafHash: leaf))
            offset += recordLength
            position += 1
        }
        return .clean
    }
}
