/// An ECDSA signature parsed from TPMT_SIGNATURE bytes (TPM 2.0 Part 2, 11.3.4).
///
/// **Untrusted.** Parsing says nothing about whether the signature is valid.
public struct TPMECDSASignature: Sendable, Equatable {
    /// Caps applied while parsing.
    public enum Limits {
        /// Largest accepted TPMT_SIGNATURE, in bytes.
        public static let maxBytes = 512
        /// Largest accepted r or s (P-521 needs 66).
        public static let maxScalarBytes = 66
    }

    /// The hash algorithm the TPM used before signing.
    public let hash: TPMAlgorithm
    /// The signature's r value, big-endian as the TPM wrote it.
    public let r: [UInt8]
    /// The signature's s value, big-endian as the TPM wrote it.
    public let s: [UInt8]

    /// Parses marshalled TPMT_SIGNATURE bytes whose sigAlg is ECDSA.
    /// - Throws: ``TPMEvidenceError`` `.unsupported` (another signature algorithm),
    ///   `.malformed` (truncated, trailing bytes, empty r or s) or `.limitExceeded`.
    public static func parse(_ bytes: [UInt8]) throws(TPMEvidenceError) -> TPMECDSASignature {
        guard bytes.count <= Limits.maxBytes else {
            throw TPMEvidenceError(.limitExceeded,
                "TPMT_SIGNATURE is \(bytes.count) bytes, over the cap of \(Limits.maxBytes)")
        }
        var reader = TPMByteReader(bytes, structure: "TPMT_SIGNATURE")
        let algorithm = TPMAlgorithm(rawValue: try reader.readUInt16("sigAlg"))
        guard algorithm == .ecdsa else {
            throw reader.error(.unsupported, "signature algorithm is \(algorithm), only ecdsa is supported")
        }
        let hash = TPMAlgorithm(rawValue: try reader.readUInt16("hash"))
        let r = try reader.readSized("signatureR", cap: Limits.maxScalarBytes)
        let s = try reader.readSized("signatureS", cap: Limits.maxScalarBytes)
        try reader.expectEnd()
        guard !r.isEmpty, !s.isEmpty else {
            throw TPMEvidenceError(.malformed, "TPMT_SIGNATURE: r or s is empty")
        }
        return TPMECDSASignature(hash: hash, r: r, s: s)
    }
}
