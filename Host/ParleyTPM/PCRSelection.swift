import CTSS2

/// Building TPML_PCR_SELECTION values for the SHA-256 bank.
enum PCRSelection {
    /// Validates PCR indices: each in 0...23, no duplicates, at least one.
    static func validate(_ indices: [Int]) throws(TPMError) -> [Int] {
        guard !indices.isEmpty else {
            throw TPMError(.invalidArgument, "no PCR index given")
        }
        for index in indices where !(0...TSSConstant.maxPCRIndex).contains(index) {
            throw TPMError(.invalidArgument, "PCR index \(index) is outside 0...\(TSSConstant.maxPCRIndex)")
        }
        guard Set(indices).count == indices.count else {
            throw TPMError(.invalidArgument, "PCR indices contain duplicates")
        }
        return indices.sorted()
    }

    /// A one-bank SHA-256 selection of `indices` (already validated).
    static func sha256(_ indices: some Sequence<Int>) -> TPML_PCR_SELECTION {
        var list = TPML_PCR_SELECTION()
        list.count = 1
        list.pcrSelections.0.hash = TSSConstant.algSHA256
        list.pcrSelections.0.sizeofSelect = UInt8(TSSConstant.pcrSelectBytes)
        withUnsafeMutableBytes(of: &list.pcrSelections.0.pcrSelect) { bitmap in
            for index in indices {
                bitmap[index / 8] |= UInt8(1 << (index % 8))
            }
        }
        return list
    }

    /// The SHA-256 bank's indices in a selection the TPM returned, ascending, bank by bank.
    static func sha256Indices(in list: TPML_PCR_SELECTION) -> [Int] {
        var result: [Int] = []
        withUnsafeBytes(of: list.pcrSelections) { raw in
            let selections = raw.bindMemory(to: TPMS_PCR_SELECTION.self)
            for selection in selections.prefix(Int(list.count)) where selection.hash == TSSConstant.algSHA256 {
                let bitmap = TSSBytes.read(selection.pcrSelect, count: Int(selection.sizeofSelect))
                for (byteIndex, byte) in bitmap.enumerated() {
                    for bit in 0..<8 where byte & (1 << bit) != 0 {
                        result.append(byteIndex * 8 + bit)
                    }
                }
            }
        }
        return result
    }
}
