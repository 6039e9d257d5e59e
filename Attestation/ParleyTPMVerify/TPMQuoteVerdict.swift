/// A quote that passed every check of ``TPMQuoteVerifier``: the second stage of
/// parse -> verify. Only the verifier creates one.
public struct VerifiedTPMQuote: Sendable, Equatable {
    /// The verified TPMS_ATTEST. Its nonce is the expected one and its PCR digest matches
    /// ``pcrs``.
    public let attestation: TPMAttestation
    /// The attestation key that signed. Its attributes were checked; whether the key itself is
    /// trusted remains the caller's decision.
    public let attestationKey: TPMECCPublicArea
    /// The PCR bank of ``pcrs``.
    public let pcrBank: TPMAlgorithm
    /// PCR index -> value, now bound to the signed digest: exactly the PCRs the TPM quoted.
    public let pcrs: [Int: [UInt8]]

    init(attestation: TPMAttestation, attestationKey: TPMECCPublicArea,
         pcrBank: TPMAlgorithm, pcrs: [Int: [UInt8]]) {
        self.attestation = attestation
        self.attestationKey = attestationKey
        self.pcrBank = pcrBank
        self.pcrs = pcrs
    }
}

/// The outcome of verifying a TPM quote. Never a Bool: a refusal lists every failure found.
public enum TPMQuoteVerdict: Sendable, Equatable {
    /// Every check passed.
    case verified(VerifiedTPMQuote)
    /// At least one check failed; all failures, in the order they were checked.
    case refused([TPMQuoteFailure])

    /// The failures, empty when verified.
    public var failures: [TPMQuoteFailure] {
        if case .refused(let failures) = self { return failures }
        return []
    }

    /// The verified quote, or nil when refused.
    public var verifiedQuote: VerifiedTPMQuote? {
        if case .verified(let quote) = self { return quote }
        return nil
    }
}

/// One reason a TPM quote was refused. Each has an English description a person can act on.
public enum TPMQuoteFailure: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// The attestation key is not an ECDSA-SHA256 key on NIST P-256; nothing it signs is checked.
    case attestationKeyUnsupported(String)
    /// The signature uses a hash other than SHA-256.
    case signatureHashUnsupported(TPMAlgorithm)
    /// The signature does not verify over SHA-256 of the attest bytes with the attestation key.
    case signatureInvalid(String)
    /// TPMS_ATTEST.magic is not TPM_GENERATED_VALUE: the TPM did not produce these bytes.
    case wrongMagic(UInt32)
    /// TPMS_ATTEST.type is not TPM_ST_ATTEST_QUOTE.
    case wrongType(TPMStructureTag)
    /// TPMS_ATTEST.extraData is not the nonce the verifier expected (stale or replayed quote).
    case nonceMismatch
    /// The attestation key lacks attributes an attestation key must have.
    case attestationKeyAttributesMissing(TPMObjectAttributes)
    /// The supplied PCR values are from a bank this verifier does not accept.
    case pcrBankUnsupported(TPMAlgorithm)
    /// The quote selects PCRs in a bank other than the supplied one.
    case pcrUnexpectedBank(TPMAlgorithm)
    /// A PCR value was supplied that the quote does not cover.
    case pcrNotQuoted(Int)
    /// The quote covers a PCR whose value was not supplied.
    case pcrNotSupplied(Int)
    /// A supplied PCR value has the wrong length for the bank.
    case pcrValueMalformed(index: Int, length: Int)
    /// The quote's PCR digest differs from the hash of the supplied values.
    case pcrDigestMismatch

    /// An English reason.
    public var description: String {
        switch self {
        case .attestationKeyUnsupported(let why):
            "attestation key is unsupported: \(why)"
        case .signatureHashUnsupported(let hash):
            "signature uses hash \(hash); only sha256 is accepted"
        case .signatureInvalid(let why):
            "quote signature is invalid: \(why)"
        case .wrongMagic(let magic):
            "attest magic is \(hex32(magic)), not TPM_GENERATED_VALUE (0xff544347): not produced by a TPM"
        case .wrongType(let type):
            "attest type is \(type), not TPM_ST_ATTEST_QUOTE"
        case .nonceMismatch:
            "quote nonce (extraData) is not the expected nonce: the quote is stale or replayed"
        case .attestationKeyAttributesMissing(let missing):
            "attestation key lacks required attributes: \(missing)"
        case .pcrBankUnsupported(let bank):
            "PCR bank \(bank) is not accepted; only sha256 is"
        case .pcrUnexpectedBank(let bank):
            "quote selects PCRs in bank \(bank), which were not supplied"
        case .pcrNotQuoted(let index):
            "PCR \(index) was supplied but is not covered by the quote"
        case .pcrNotSupplied(let index):
            "PCR \(index) is covered by the quote but its value was not supplied"
        case .pcrValueMalformed(let index, let length):
            "PCR \(index) value is \(length) bytes, not a digest of the bank's size"
        case .pcrDigestMismatch:
            "quote PCR digest does not match the supplied PCR values"
        }
    }
}
