import CTSS2

extension TPMClient {
    /// Extends a PCR in the SHA-256 bank: new = SHA-256(old || digest).
    /// - Parameters:
    ///   - index: the PCR, 0...23; Parley uses 23.
    ///   - digest: exactly 32 bytes.
    /// - Throws: ``TPMError`` `.invalidArgument` (index, digest size) or `.tss` (for example a
    ///   PCR not extendable at locality 0).
    public func extendPCR(_ index: Int, with digest: [UInt8]) throws(TPMError) {
        _ = try PCRSelection.validate([index])
        guard digest.count == 32 else {
            throw TPMError(.invalidArgument, "a SHA-256 PCR extend needs a 32-byte digest, not \(digest.count)")
        }
        var values = TPML_DIGEST_VALUES()
        values.count = 1
        values.digests.0.hashAlg = TSSConstant.algSHA256
        try TSSBytes.write(digest, into: &values.digests.0.digest, field: "PCR digest")
        try check(Esys_PCR_Extend(context, parley_esys_tr_pcr(UInt32(index)), parley_esys_tr_password(),
                                  parley_esys_tr_none(), parley_esys_tr_none(), &values),
                  "Esys_PCR_Extend(\(index))")
    }

    /// Resets a PCR to zeros. On a PC-client TPM only PCR 16 and 23 are resettable at
    /// locality 0.
    /// - Throws: ``TPMError`` `.invalidArgument` or `.tss` (the PCR is not resettable here).
    public func resetPCR(_ index: Int) throws(TPMError) {
        _ = try PCRSelection.validate([index])
        try check(Esys_PCR_Reset(context, parley_esys_tr_pcr(UInt32(index)), parley_esys_tr_password(),
                                 parley_esys_tr_none(), parley_esys_tr_none()),
                  "Esys_PCR_Reset(\(index))")
    }

    /// Reads SHA-256 PCR values.
    /// - Parameter indices: distinct PCRs in 0...23, at least one.
    /// - Returns: index -> 32-byte value, for every requested index.
    /// - Throws: ``TPMError`` `.invalidArgument` or `.tss`; `.internal` when the TPM does not
    ///   return a requested PCR (for example the SHA-256 bank is not allocated).
    public func readPCRs(_ indices: [Int]) throws(TPMError) -> [Int: [UInt8]] {
        var remaining = Set(try PCRSelection.validate(indices))
        var values: [Int: [UInt8]] = [:]
        // TPM2_PCR_Read returns at most 8 digests per call; ask again for the rest.
        while !remaining.isEmpty {
            let batch = try readPCRBatch(remaining)
            guard !batch.isEmpty else {
                throw TPMError(.internal, "TPM returned no value for PCRs \(remaining.sorted()) in the sha256 bank")
            }
            for (index, value) in batch where remaining.contains(index) {
                values[index] = value
                remaining.remove(index)
            }
        }
        return values
    }

    private func readPCRBatch(_ indices: Set<Int>) throws(TPMError) -> [(Int, [UInt8])] {
        var selection = PCRSelection.sha256(indices)
        var updateCounter: UInt32 = 0
        var selectionOut: UnsafeMutablePointer<TPML_PCR_SELECTION>?
        var digests: UnsafeMutablePointer<TPML_DIGEST>?
        defer {
            Esys_Free(selectionOut)
            Esys_Free(digests)
        }
        try check(Esys_PCR_Read(context, parley_esys_tr_none(), parley_esys_tr_none(), parley_esys_tr_none(),
                                &selection, &updateCounter, &selectionOut, &digests),
                  "Esys_PCR_Read")
        guard let selectionOut, let digests else {
            throw TPMError(.internal, "Esys_PCR_Read returned no values")
        }
        let returned = PCRSelection.sha256Indices(in: selectionOut.pointee)
        let count = Int(digests.pointee.count)
        guard returned.count == count else {
            throw TPMError(.internal, "TPM returned \(count) PCR values for \(returned.count) selected PCRs")
        }
        return withUnsafePointer(to: digests.pointee.digests) { tuple in
            let capacity = MemoryLayout.size(ofValue: digests.pointee.digests) / MemoryLayout<TPM2B_DIGEST>.stride
            return tuple.withMemoryRebound(to: TPM2B_DIGEST.self, capacity: capacity) { list in
                returned.prefix(capacity).enumerated().map { position, index in
                    (index, TSSBytes.read(list[position].buffer, count: Int(list[position].size)))
                }
            }
        }
    }
}
