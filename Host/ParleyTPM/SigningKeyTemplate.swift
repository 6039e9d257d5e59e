import CTSS2

/// Which ECDSA P-256 signing key to derive under the endorsement hierarchy.
///
/// Keys are primaries made by TPM2_CreatePrimary from a fixed template. A primary key is a
/// deterministic function of the hierarchy's seed and the template, so the same template gives
/// the same key after every restart, without a persistent handle. This avoids needing owner
/// authorisation for TPM2_EvictControl, colliding with another program's persistent handle on
/// a real machine, or leaving NV state behind; the cost is one key derivation per client (fast
/// for ECC). The key changes only if the endorsement primary seed changes (TPM2_ChangeEPS),
/// which also changes the EK: then re-enrol it, as for any new TPM.
public struct SigningKeyTemplate: Hashable, Sendable {
    /// Whether the key is restricted: it then signs only structures the TPM produced.
    public let restricted: Bool
    /// Bytes placed in `unique.x` of the template, making the key Parley's own.
    public let label: [UInt8]

    /// Parley's attestation key: fixedTPM, fixedParent, sensitiveDataOrigin, userWithAuth,
    /// restricted, sign; ECDSA with SHA-256 on NIST P-256.
    public static let attestationKey = SigningKeyTemplate(
        restricted: true, label: Array("parley/tpm-ak/1".utf8))

    /// An unrestricted ECDSA P-256 signing key. It can sign a quote, but it could equally sign
    /// forged TPMS_ATTEST bytes, so verifiers must refuse its quotes. Exists for tests that
    /// prove this refusal; never use it as an attestation key.
    public static let unrestrictedSigningKey = SigningKeyTemplate(
        restricted: false, label: Array("parley/tpm-unrestricted-test/1".utf8))

    /// The TPMA_OBJECT bits of this template.
    var objectAttributes: TPMA_OBJECT {
        var attributes = TSSConstant.attrFixedTPM | TSSConstant.attrFixedParent
            | TSSConstant.attrSensitiveDataOrigin | TSSConstant.attrUserWithAuth | TSSConstant.attrSign
        if restricted { attributes |= TSSConstant.attrRestricted }
        return attributes
    }

    /// The TPM2B_PUBLIC template passed to TPM2_CreatePrimary.
    func publicTemplate() throws(TPMError) -> TPM2B_PUBLIC {
        var template = TPM2B_PUBLIC()
        template.publicArea.type = TSSConstant.algECC
        template.publicArea.nameAlg = TSSConstant.algSHA256
        template.publicArea.objectAttributes = objectAttributes
        template.publicArea.parameters.eccDetail.symmetric.algorithm = TSSConstant.algNull
        template.publicArea.parameters.eccDetail.scheme.scheme = TSSConstant.algECDSA
        template.publicArea.parameters.eccDetail.scheme.details.ecdsa.hashAlg = TSSConstant.algSHA256
        template.publicArea.parameters.eccDetail.curveID = TSSConstant.curveNISTP256
        template.publicArea.parameters.eccDetail.kdf.scheme = TSSConstant.algNull
        template.publicArea.unique.ecc.x.size = UInt16(label.count)
        try TSSBytes.write(label, into: &template.publicArea.unique.ecc.x.buffer, field: "template label")
        return template
    }
}
