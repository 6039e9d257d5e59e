import CTSS2

/// The public half of a TPM signing key, in the forms verifiers and tools consume.
public struct AttestationKeyPublic: Sendable, Equatable {
    /// The marshalled TPM2B_PUBLIC, as ParleyTPMVerify and `tpm2_checkquote -u key.pub` read it.
    public let tpm2bPublic: [UInt8]
    /// The public point's x coordinate (32 bytes, big-endian).
    public let x: [UInt8]
    /// The public point's y coordinate (32 bytes, big-endian).
    public let y: [UInt8]
    /// The key as a PEM SubjectPublicKeyInfo (`-----BEGIN PUBLIC KEY-----`).
    public let pem: String
}

extension TPMClient {
    /// Derives (or reuses) a signing key under the endorsement hierarchy and returns its public
    /// half. The same template gives the same key on every call and across TPM restarts.
    /// - Parameter template: which key; Parley's attestation key by default.
    /// - Throws: ``TPMError`` `.tss` when the TPM refuses (for example wrong endorsement auth).
    public func attestationKey(
        _ template: SigningKeyTemplate = .attestationKey
    ) throws(TPMError) -> AttestationKeyPublic {
        let handle = try loadKey(template)
        var outPublic: UnsafeMutablePointer<TPM2B_PUBLIC>?
        try check(Esys_ReadPublic(context, handle, parley_esys_tr_none(), parley_esys_tr_none(),
                                  parley_esys_tr_none(), &outPublic, nil, nil),
                  "Esys_ReadPublic")
        defer { Esys_Free(outPublic) }
        guard let outPublic else { throw TPMError(.internal, "Esys_ReadPublic returned no public area") }
        return try Self.publicKey(from: outPublic.pointee)
    }

    /// The transient handle of `template`'s key, creating the primary on first use.
    func loadKey(_ template: SigningKeyTemplate) throws(TPMError) -> ESYS_TR {
        if let handle = loadedKeys[template] { return handle }
        var inSensitive = TPM2B_SENSITIVE_CREATE()
        var inPublic = try template.publicTemplate()
        var outsideInfo = TPM2B_DATA()
        var creationPCR = TPML_PCR_SELECTION()
        var handle = parley_esys_tr_none()
        try check(Esys_CreatePrimary(
            context, parley_esys_tr_rh_endorsement(),
            parley_esys_tr_password(), parley_esys_tr_none(), parley_esys_tr_none(),
            &inSensitive, &inPublic, &outsideInfo, &creationPCR,
            &handle, nil, nil, nil, nil), "Esys_CreatePrimary(endorsement)")
        loadedKeys[template] = handle
        return handle
    }

    private static func publicKey(from value: TPM2B_PUBLIC) throws(TPMError) -> AttestationKeyPublic {
        let marshalled = try TSSBytes.marshal(value, "TPM2B_PUBLIC", Tss2_MU_TPM2B_PUBLIC_Marshal)
        let point = value.publicArea.unique.ecc
        let x = TSSBytes.read(point.x.buffer, count: Int(point.x.size))
        let y = TSSBytes.read(point.y.buffer, count: Int(point.y.size))
        guard x.count == 32, y.count == 32 else {
            throw TPMError(.internal, "TPM returned a P-256 point with \(x.count)- and \(y.count)-byte coordinates")
        }
        let pem = try ECPublicKeyPEM.p256(x: x, y: y)
        return AttestationKeyPublic(tpm2bPublic: marshalled, x: x, y: y, pem: pem)
    }
}
