/// An ECC key's public area, parsed from TPM2B_PUBLIC bytes (TPM 2.0 Part 2, TPMT_PUBLIC with
/// TPMS_ECC_PARMS and a TPMS_ECC_POINT).
///
/// **Untrusted.** Parsing only checks the encoding. Nothing here says the key lives in a TPM,
/// belongs to anyone, or has the attributes a verifier needs; ``TPMQuoteVerifier`` checks the
/// attributes, and trusting the key itself is the caller's policy (for example a pinned AK).
public struct TPMECCPublicArea: Sendable, Equatable {
    /// Caps applied while parsing.
    public enum Limits {
        /// Largest accepted TPM2B_PUBLIC, in bytes (a TPMT_PUBLIC is well under this).
        public static let maxBytes = 1024
        /// Largest accepted ECC coordinate (P-521 needs 66).
        public static let maxCoordinateBytes = 66
        /// Largest accepted authPolicy digest (SHA-512).
        public static let maxDigestBytes = 64
    }

    /// The hash algorithm of the object's name.
    public let nameAlgorithm: TPMAlgorithm
    /// The object attributes (TPMA_OBJECT). Untrusted until a verifier checks them.
    public let attributes: TPMObjectAttributes
    /// The authorisation policy digest; empty when there is none.
    public let authPolicy: [UInt8]
    /// The symmetric algorithm for a storage key; ``TPMAlgorithm/null`` for a signing key.
    public let symmetric: TPMAlgorithm
    /// The signing scheme (for an attestation key, ``TPMAlgorithm/ecdsa``).
    public let scheme: TPMAlgorithm
    /// The scheme's hash algorithm, or nil when the scheme is ``TPMAlgorithm/null``.
    public let schemeHash: TPMAlgorithm?
    /// The curve.
    public let curve: TPMECCCurve
    /// The key-derivation scheme (normally ``TPMAlgorithm/null``).
    public let kdf: TPMAlgorithm
    /// The public point's x coordinate, big-endian.
    public let x: [UInt8]
    /// The public point's y coordinate, big-endian.
    public let y: [UInt8]
    /// The TPMT_PUBLIC bytes (without the TPM2B size), as hashed into the object's name.
    public let publicArea: [UInt8]

    /// Parses TPM2B_PUBLIC bytes holding an ECC key.
    /// - Parameter tpm2bPublic: a UINT16 size followed by exactly that many TPMT_PUBLIC bytes.
    /// - Throws: ``TPMEvidenceError`` `.malformed` (truncated, trailing bytes, sizes disagree),
    ///   `.limitExceeded` (a size over ``Limits``), `.unsupported` (not ECC, unknown scheme).
    public static func parse(tpm2bPublic: [UInt8]) throws(TPMEvidenceError) -> TPMECCPublicArea {
        guard tpm2bPublic.count <= Limits.maxBytes else {
            throw TPMEvidenceError(.limitExceeded,
                "TPM2B_PUBLIC is \(tpm2bPublic.count) bytes, over the cap of \(Limits.maxBytes)")
        }
        var outer = TPMByteReader(tpm2bPublic, structure: "TPM2B_PUBLIC")
        let area = try outer.readSized("publicArea", cap: Limits.maxBytes)
        try outer.expectEnd()
        return try parse(tpmtPublic: area)
    }

    /// Parses TPMT_PUBLIC bytes (no TPM2B size prefix) holding an ECC key.
    /// - Throws: ``TPMEvidenceError`` as for ``parse(tpm2bPublic:)``.
    public static func parse(tpmtPublic area: [UInt8]) throws(TPMEvidenceError) -> TPMECCPublicArea {
        guard area.count <= Limits.maxBytes else {
            throw TPMEvidenceError(.limitExceeded,
                "TPMT_PUBLIC is \(area.count) bytes, over the cap of \(Limits.maxBytes)")
        }
        var reader = TPMByteReader(area, structure: "TPMT_PUBLIC")
        let type = TPMAlgorithm(rawValue: try reader.readUInt16("type"))
        guard type == .ecc else {
            throw reader.error(.unsupported, "key type is \(type), only ecc is supported")
        }
        let nameAlgorithm = TPMAlgorithm(rawValue: try reader.readUInt16("nameAlg"))
        let attributes = TPMObjectAttributes(rawValue: try reader.readUInt32("objectAttributes"))
        let authPolicy = try reader.readSized("authPolicy", cap: Limits.maxDigestBytes)

        let symmetric = TPMAlgorithm(rawValue: try reader.readUInt16("symmetric.algorithm"))
        switch symmetric {
        case .null: break
        case .aes, .sm4, .camellia:
            _ = try reader.readUInt16("symmetric.keyBits")
            _ = try reader.readUInt16("symmetric.mode")
        default:
            throw reader.error(.unsupported, "symmetric algorithm \(symmetric) is not understood")
        }

        let scheme = TPMAlgorithm(rawValue: try reader.readUInt16("scheme.scheme"))
        var schemeHash: TPMAlgorithm?
        switch scheme {
        case .null: break
        case .ecdsa, .ecdh, .sm2, .ecschnorr, .ecmqv:
            schemeHash = TPMAlgorithm(rawValue: try reader.readUInt16("scheme.hashAlg"))
        case .ecdaa:
            schemeHash = TPMAlgorithm(rawValue: try reader.readUInt16("scheme.hashAlg"))
            _ = try reader.readUInt16("scheme.count")
        default:
            throw reader.error(.unsupported, "ECC scheme \(scheme) is not understood")
        }

        let curve = TPMECCCurve(rawValue: try reader.readUInt16("curveID"))
        let kdf = TPMAlgorithm(rawValue: try reader.readUInt16("kdf.scheme"))
        switch kdf {
        case .null: break
        case .mgf1, .kdf1SP800_56A, .kdf2, .kdf1SP800_108:
            _ = try reader.readUInt16("kdf.hashAlg")
        default:
            throw reader.error(.unsupported, "KDF scheme \(kdf) is not understood")
        }

        let x = try reader.readSized("unique.x", cap: Limits.maxCoordinateBytes)
        let y = try reader.readSized("unique.y", cap: Limits.maxCoordinateBytes)
        try reader.expectEnd()
        return TPMECCPublicArea(
            nameAlgorithm: nameAlgorithm, attributes: attributes, authPolicy: authPolicy,
            symmetric: symmetric, scheme: scheme, schemeHash: schemeHash, curve: curve, kdf: kdf,
            x: x, y: y, publicArea: area)
    }
}
