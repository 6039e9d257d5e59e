import Crypto

/// Reads the notes out of a `DurableLog` checkpoint file (`checkpoints.log`), whose record layout
/// is normative (see `RecordFormat` in ParleyLog and docs/log.md): the magic `PRLYCKP1`, then
/// records `u32be length || u64be index || note || SHA-256(0x00 || note)`.
///
/// Used to export a stopped host's log without opening it for writing. A torn last record (a
/// crash mid-write) is skipped, as the writer would cut it; any other damage is an error.
enum CheckpointFile {
    static let magic: [UInt8] = Array("PRLYCKP1".utf8)

    static func notes(in bytes: [UInt8]) throws(AuditError) -> [[UInt8]] {
        guard bytes.count >= magic.count, Array(bytes[..<magic.count]) == magic else {
            throw AuditError(.malformedBundle, "checkpoints.log does not start with the checkpoint file's magic")
        }
        var notes: [[UInt8]] = []
        var offset = magic.count
        while offset < bytes.count {
            guard bytes.count - offset >= 12 else { break }
            let length = bytes[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) }
            let index = bytes[offset + 4..<offset + 12].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            let end = offset + 12 + length + 32
            guard length <= 1 << 20, end <= bytes.count else { break }
            let note = Array(bytes[offset + 12..<offset + 12 + length])
            var hasher = SHA256()
            hasher.update(data: [0x00] + note)
            guard Array(hasher.finalize()) == Array(bytes[offset + 12 + length..<end]) else {
                if end == bytes.count { break }
                throw AuditError(.malformedBundle, "checkpoints.log: record \(notes.count) does not match its checksum")
            }
            guard index == UInt64(notes.count) else {
                throw AuditError(.malformedBundle, "checkpoints.log: record \(notes.count) claims index \(index)")
            }
            notes.append(note)
            offset = end
        }
        return notes
    }
}
