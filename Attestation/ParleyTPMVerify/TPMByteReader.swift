/// A bounds-checked, big-endian cursor over TPM-marshalled bytes (TPM 2.0 Part 1, all integers
/// are big-endian). Every read checks the remaining length first; every sized field is checked
/// against a caller-supplied cap before any bytes are copied.
struct TPMByteReader {
    private let bytes: [UInt8]
    private let structure: String
    /// Offset of the next unread byte.
    private(set) var offset: Int = 0

    /// - Parameter structure: the structure's name, used in error reasons.
    init(_ bytes: [UInt8], structure: String) {
        self.bytes = bytes
        self.structure = structure
    }

    /// Bytes not yet read.
    var remaining: Int { bytes.count - offset }

    mutating func readUInt8(_ field: String) throws(TPMEvidenceError) -> UInt8 {
        try UInt8(readInteger(width: 1, field))
    }

    mutating func readUInt16(_ field: String) throws(TPMEvidenceError) -> UInt16 {
        try UInt16(readInteger(width: 2, field))
    }

    mutating func readUInt32(_ field: String) throws(TPMEvidenceError) -> UInt32 {
        try UInt32(readInteger(width: 4, field))
    }

    mutating func readUInt64(_ field: String) throws(TPMEvidenceError) -> UInt64 {
        try readInteger(width: 8, field)
    }

    /// Reads exactly `count` bytes.
    mutating func readBytes(_ count: Int, _ field: String) throws(TPMEvidenceError) -> [UInt8] {
        guard count >= 0, count <= remaining else {
            throw truncated(field, needed: count)
        }
        let slice = Array(bytes[offset..<(offset + count)])
        offset += count
        return slice
    }

    /// Reads a TPM2B: a UINT16 size followed by that many bytes, refusing a size over `cap`.
    mutating func readSized(_ field: String, cap: Int) throws(TPMEvidenceError) -> [UInt8] {
        let at = offset
        let size = Int(try readUInt16("\(field).size"))
        guard size <= cap else {
            throw TPMEvidenceError(.limitExceeded,
                "\(structure): \(field) at offset \(at) declares \(size) bytes, over the cap of \(cap)")
        }
        return try readBytes(size, field)
    }

    /// Throws unless every byte has been consumed.
    func expectEnd() throws(TPMEvidenceError) {
        guard remaining == 0 else {
            throw TPMEvidenceError(.malformed,
                "\(structure): \(remaining) trailing bytes after offset \(offset)")
        }
    }

    /// An error naming this structure and the current offset.
    func error(_ code: TPMEvidenceError.Code, _ reason: String,
               fileID: String = #fileID, line: Int = #line) -> TPMEvidenceError {
        TPMEvidenceError(code, "\(structure): \(reason) (offset \(offset))", fileID: fileID, line: line)
    }

    private mutating func readInteger(width: Int, _ field: String) throws(TPMEvidenceError) -> UInt64 {
        guard width <= remaining else { throw truncated(field, needed: width) }
        var value: UInt64 = 0
        for index in offset..<(offset + width) {
            value = (value << 8) | UInt64(bytes[index])
        }
        offset += width
        return value
    }

    private func truncated(_ field: String, needed: Int) -> TPMEvidenceError {
        TPMEvidenceError(.malformed,
            "\(structure): truncated at \(field), offset \(offset): needs \(needed) bytes, \(remaining) left")
    }
}
