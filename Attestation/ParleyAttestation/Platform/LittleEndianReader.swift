import ParleyCore

/// A bounds-checked cursor over little-endian platform log bytes (the TCG event log and the IMA
/// list are written in the host's byte order, little-endian on every platform Parley supports).
struct LittleEndianReader {
    let bytes: [UInt8]
    private(set) var offset = 0
    /// Names the structure in error messages.
    let structure: String

    init(_ bytes: [UInt8], structure: String) {
        self.bytes = bytes
        self.structure = structure
    }

    var remaining: Int { bytes.count - offset }
    var atEnd: Bool { offset == bytes.count }

    mutating func u8(_ field: String) throws -> UInt8 {
        try need(1, field)
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func u16(_ field: String) throws -> UInt16 {
        try need(2, field)
        defer { offset += 2 }
        return UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8
    }

    mutating func u32(_ field: String) throws -> UInt32 {
        try need(4, field)
        defer { offset += 4 }
        var v: UInt32 = 0
        for i in 0..<4 { v |= UInt32(bytes[offset + i]) << (8 * i) }
        return v
    }

    /// Reads `count` bytes; `cap` refuses a declared length before anything is copied.
    mutating func take(_ count: Int, _ field: String, cap: Int) throws -> [UInt8] {
        guard count <= cap else {
            throw ParleyError(.limitExceeded, "\(structure) at byte \(offset): \(field) declares \(count) bytes, over the cap of \(cap)")
        }
        try need(count, field)
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }

    private func need(_ n: Int, _ field: String) throws {
        guard n <= remaining else {
            throw ParleyError(.malformed, "\(structure) is truncated at byte \(offset) (reading \(field))")
        }
    }
}
