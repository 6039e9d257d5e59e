import CTSS2

extension TPMClient {
    /// Smallest nonce accepted: 128 bits of freshness.
    public static let minimumNonceBytes = 16
    /// Largest nonce accepted: TPM2B_DATA holds at most 64 bytes.
    public static let maximumNonceBytes = 64

    /// Takes a TPM2_Quote over SHA-256 PCRs, signed by a key derived from `key`.
    ///
    /// After quoting, the PCRs are read and their SHA-256 compared with the quote's PCR digest;
    /// if a PCR changed in between, the quote is taken again (up to three attempts).
    /// - Parameters:
    ///   - nonce: the verifier's qualifying data, 16 to 64 bytes; becomes TPMS_ATTEST.extraData.
    ///   - pcrs: distinct PCR indices in 0...23; PCR 23 by default.
    ///   - key: the signing key; Parley's restricted attestation key by default.
    /// - Throws: ``TPMError`` `.invalidArgument` (nonce size, PCR indices), `.tss`, or
    ///   `.pcrsChanged` when no consistent quote could be taken.
    public func quote(nonce: [UInt8], pcrs: [Int] = [23],
                      key: SigningKeyTemplate = .attestationKey) throws(TPMError) -> TPMQuote {
        guard (Self.minimumNonceBytes...Self.maximumNonceBytes).contains(nonce.count) else {
            throw TPMError(.invalidArgument,
                "nonce is \(nonce.count) bytes; it must be \(Self.minimumNonceBytes) to \(Self.maximumNonceBytes)")
        }
        let indices = try PCRSelection.validate(pcrs)
        let handle = try loadKey(key)
        for _ in 0..<3 {
            let (attest, signature, pcrDigest) = try signQuote(handle: handle, nonce: nonce, indices: indices)
            let values = try readPCRs(indices)
            let concatenated = indices.flatMap { values[$0] ?? [] }
            if try OpenSSLSHA256.hash(concatenated) == pcrDigest {
                return TPMQuote(attest: attest, signature: signature, nonce: nonce,
                                pcrBank: "sha256", pcrs: values)
            }
        }
        throw TPMError(.pcrsChanged, "PCRs \(indices) changed during each of 3 quote attempts")
    }

    /// Runs TPM2_Quote and returns the attest bytes, the marshalled signature and the quote's
    /// PCR digest (decoded with Tss2_MU, independently of ParleyTPMVerify).
    private func signQuote(handle: ESYS_TR, nonce: [UInt8],
                           indices: [Int]) throws(TPMError) -> ([UInt8], [UInt8], [UInt8]) {
        var qualifyingData = TPM2B_DATA()
        qualifyingData.size = UInt16(nonce.count)
        try TSSBytes.write(nonce, into: &qualifyingData.buffer, field: "nonce")
        var scheme = TPMT_SIG_SCHEME()
        scheme.scheme = TSSConstant.algNull  // use the key's own scheme (ECDSA-SHA256)
        var selection = PCRSelection.sha256(indices)
        var quoted: UnsafeMutablePointer<TPM2B_ATTEST>?
        var signature: UnsafeMutablePointer<TPMT_SIGNATURE>?
        defer {
            Esys_Free(quoted)
            Esys_Free(signature)
        }
        try check(Esys_Quote(context, handle, parley_esys_tr_password(), parley_esys_tr_none(),
                             parley_esys_tr_none(), &qualifyingData, &scheme, &selection,
                             &quoted, &signature), "Esys_Quote")
        guard let quoted, let signature else {
            throw TPMError(.internal, "Esys_Quote returned no attestation or signature")
        }
        let attest = TSSBytes.read(quoted.pointee.attestationData, count: Int(quoted.pointee.size))
        let signatureBytes = try TSSBytes.marshal(signature.pointee, "TPMT_SIGNATURE",
                                                  Tss2_MU_TPMT_SIGNATURE_Marshal)

        var decoded = TPMS_ATTEST()
        var offset = 0
        try attest.withUnsafeBufferPointer { buffer throws(TPMError) in
            try check(Tss2_MU_TPMS_ATTEST_Unmarshal(buffer.baseAddress, buffer.count, &offset, &decoded),
                      "unmarshalling TPMS_ATTEST")
        }
        let digest = decoded.attested.quote.pcrDigest
        return (attest, signatureBytes, TSSBytes.read(digest.buffer, count: Int(digest.size)))
    }
}
