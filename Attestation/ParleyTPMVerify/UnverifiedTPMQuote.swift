/// TPM quote evidence after parsing and before verification: the first stage of
/// parse -> verify (see ``TPMQuoteVerifier``).
///
/// **Untrusted.** Every field is what the prover sent. Only a ``VerifiedTPMQuote``, which only
/// the verifier creates, carries content a party may rely on.
public struct UnverifiedTPMQuote: Sendable, Equatable {
    /// The TPMS_ATTEST bytes exactly as the TPM signed them.
    public let attestBytes: [UInt8]
    /// The parsed TPMS_ATTEST. Untrusted.
    public let attestation: TPMAttestation
    /// The parsed ECDSA signature. Untrusted.
    public let signature: TPMECDSASignature
    /// The attestation key's public area. Untrusted: the caller decides whether this key is one
    /// it trusts (for example by pinning it or its name); the verifier checks its attributes.
    public let attestationKey: TPMECCPublicArea
    /// The PCR bank the supplied values come from.
    public let pcrBank: TPMAlgorithm
    /// PCR index -> value as claimed by the prover. Untrusted until the verifier matches them to
    /// the signed digest.
    public let pcrs: [Int: [UInt8]]

    /// Parses the three TPM structures of a quote and keeps the claimed PCR values beside them.
    /// - Parameters:
    ///   - attest: TPMS_ATTEST bytes (TPM2B_ATTEST's attestationData).
    ///   - signature: marshalled TPMT_SIGNATURE bytes.
    ///   - akPublic: marshalled TPM2B_PUBLIC bytes of the attestation key.
    ///   - pcrBank: the bank of `pcrs`; the verifier accepts only ``TPMAlgorithm/sha256``.
    ///   - pcrs: PCR index -> value, as supplied with the evidence.
    /// - Throws: ``TPMEvidenceError`` from whichever parser fails first.
    public init(attest: [UInt8], signature: [UInt8], akPublic: [UInt8],
                pcrBank: TPMAlgorithm = .sha256, pcrs: [Int: [UInt8]]) throws(TPMEvidenceError) {
        guard pcrs.count <= 64 else {
            throw TPMEvidenceError(.limitExceeded, "\(pcrs.count) PCR values supplied, over the cap of 64")
        }
        self.attestBytes = attest
        self.attestation = try TPMAttestation.parse(attest)
        self.signature = try TPMECDSASignature.parse(signature)
        self.attestationKey = try TPMECCPublicArea.parse(tpm2bPublic: akPublic)
        self.pcrBank = pcrBank
        self.pcrs = pcrs
    }
}
