/// One bank's PCR selection (TPMS_PCR_SELECTION): a hash algorithm and a bitmap of PCR indices.
///
/// **Untrusted** when parsed from evidence: it says which PCRs the TPM claims to have quoted.
public struct TPMPCRSelection: Sendable, Equatable {
    /// Caps applied while parsing.
    public enum Limits {
        /// Largest accepted bitmap, in bytes (4 bytes = 32 PCRs; PC-client TPMs have 24).
        public static let maxSelectBytes = 4
        /// Most banks accepted in one TPML_PCR_SELECTION (TPM2_NUM_PCR_BANKS).
        public static let maxBanks = 16
    }

    /// The PCR bank.
    public let hash: TPMAlgorithm
    /// The bitmap: bit `i % 8` of byte `i / 8` selects PCR `i`.
    public let bitmap: [UInt8]

    /// Creates a selection from its bank and raw bitmap.
    public init(hash: TPMAlgorithm, bitmap: [UInt8]) {
        self.hash = hash
        self.bitmap = bitmap
    }

    /// The selected PCR indices in ascending order: the order in which a TPM concatenates PCR
    /// values for the quote's digest.
    public var indices: [Int] {
        var result: [Int] = []
        for (byteIndex, byte) in bitmap.enumerated() {
            for bit in 0..<8 where byte & (1 << bit) != 0 {
                result.append(byteIndex * 8 + bit)
            }
        }
        return result
    }

    /// Reads a TPML_PCR_SELECTION (a UINT32 count, then that many TPMS_PCR_SELECTION).
    static func readList(_ reader: inout TPMByteReader) throws(TPMEvidenceError) -> [TPMPCRSelection] {
        let count = try reader.readUInt32("pcrSelect.count")
        guard count <= Limits.maxBanks else {
            throw reader.error(.limitExceeded,
                "PCR selection lists \(count) banks, over the cap of \(Limits.maxBanks)")
        }
        var selections: [TPMPCRSelection] = []
        for index in 0..<Int(count) {
            let hash = TPMAlgorithm(rawValue: try reader.readUInt16("pcrSelections[\(index)].hash"))
            let size = Int(try reader.readUInt8("pcrSelections[\(index)].sizeofSelect"))
            guard size <= Limits.maxSelectBytes else {
                throw reader.error(.limitExceeded,
                    "PCR bitmap of \(size) bytes, over the cap of \(Limits.maxSelectBytes)")
            }
            let bitmap = try reader.readBytes(size, "pcrSelections[\(index)].pcrSelect")
            selections.append(TPMPCRSelection(hash: hash, bitmap: bitmap))
        }
        return selections
    }
}
