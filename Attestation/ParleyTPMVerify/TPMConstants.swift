/// A TPM algorithm identifier (TPM_ALG_ID, TPM 2.0 Part 2 table 9). Open: unknown values parse,
/// and verifiers decide what to accept.
public struct TPMAlgorithm: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The 16-bit identifier as it appears on the wire.
    public let rawValue: UInt16
    /// Wraps a wire value.
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// TPM_ALG_RSA.
    public static let rsa = TPMAlgorithm(rawValue: 0x0001)
    /// TPM_ALG_SHA1.
    public static let sha1 = TPMAlgorithm(rawValue: 0x0004)
    /// TPM_ALG_AES.
    public static let aes = TPMAlgorithm(rawValue: 0x0006)
    /// TPM_ALG_SHA256.
    public static let sha256 = TPMAlgorithm(rawValue: 0x000B)
    /// TPM_ALG_SHA384.
    public static let sha384 = TPMAlgorithm(rawValue: 0x000C)
    /// TPM_ALG_SHA512.
    public static let sha512 = TPMAlgorithm(rawValue: 0x000D)
    /// TPM_ALG_NULL: "no algorithm".
    public static let null = TPMAlgorithm(rawValue: 0x0010)
    /// TPM_ALG_SM4.
    public static let sm4 = TPMAlgorithm(rawValue: 0x0013)
    /// TPM_ALG_RSASSA.
    public static let rsassa = TPMAlgorithm(rawValue: 0x0014)
    /// TPM_ALG_RSAPSS.
    public static let rsapss = TPMAlgorithm(rawValue: 0x0016)
    /// TPM_ALG_ECDSA.
    public static let ecdsa = TPMAlgorithm(rawValue: 0x0018)
    /// TPM_ALG_ECDH.
    public static let ecdh = TPMAlgorithm(rawValue: 0x0019)
    /// TPM_ALG_ECDAA.
    public static let ecdaa = TPMAlgorithm(rawValue: 0x001A)
    /// TPM_ALG_SM2.
    public static let sm2 = TPMAlgorithm(rawValue: 0x001B)
    /// TPM_ALG_ECSCHNORR.
    public static let ecschnorr = TPMAlgorithm(rawValue: 0x001C)
    /// TPM_ALG_ECMQV.
    public static let ecmqv = TPMAlgorithm(rawValue: 0x001D)
    /// TPM_ALG_MGF1.
    public static let mgf1 = TPMAlgorithm(rawValue: 0x0007)
    /// TPM_ALG_KDF1_SP800_56A.
    public static let kdf1SP800_56A = TPMAlgorithm(rawValue: 0x0020)
    /// TPM_ALG_KDF2.
    public static let kdf2 = TPMAlgorithm(rawValue: 0x0021)
    /// TPM_ALG_KDF1_SP800_108.
    public static let kdf1SP800_108 = TPMAlgorithm(rawValue: 0x0022)
    /// TPM_ALG_ECC.
    public static let ecc = TPMAlgorithm(rawValue: 0x0023)
    /// TPM_ALG_CAMELLIA.
    public static let camellia = TPMAlgorithm(rawValue: 0x0026)

    private static let names: [UInt16: String] = [
        0x0001: "rsa", 0x0004: "sha1", 0x0006: "aes", 0x000B: "sha256", 0x000C: "sha384",
        0x000D: "sha512", 0x0010: "null", 0x0013: "sm4", 0x0014: "rsassa", 0x0016: "rsapss",
        0x0018: "ecdsa", 0x0019: "ecdh", 0x001A: "ecdaa", 0x001B: "sm2", 0x001C: "ecschnorr",
        0x001D: "ecmqv", 0x0007: "mgf1", 0x0020: "kdf1_sp800_56a", 0x0021: "kdf2",
        0x0022: "kdf1_sp800_108", 0x0023: "ecc", 0x0026: "camellia",
    ]

    /// The TCG name in lower case, or the hex value when unknown.
    public var description: String { Self.names[rawValue] ?? hex16(rawValue) }

    /// The digest size in bytes for hash algorithms this package knows, else nil.
    public var digestSize: Int? {
        switch self {
        case .sha1: 20
        case .sha256: 32
        case .sha384: 48
        case .sha512: 64
        default: nil
        }
    }
}

/// A TPM elliptic curve identifier (TPM_ECC_CURVE).
public struct TPMECCCurve: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The 16-bit identifier as it appears on the wire.
    public let rawValue: UInt16
    /// Wraps a wire value.
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// TPM_ECC_NIST_P256 (secp256r1, OpenSSL's "prime256v1").
    public static let nistP256 = TPMECCCurve(rawValue: 0x0003)
    /// TPM_ECC_NIST_P384.
    public static let nistP384 = TPMECCCurve(rawValue: 0x0004)

    /// `nist_p256`, `nist_p384`, or the hex value.
    public var description: String {
        switch self {
        case .nistP256: "nist_p256"
        case .nistP384: "nist_p384"
        default: hex16(rawValue)
        }
    }
}

/// A TPM structure tag (TPM_ST), as found in TPMS_ATTEST's `type`.
public struct TPMStructureTag: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The 16-bit tag as it appears on the wire.
    public let rawValue: UInt16
    /// Wraps a wire value.
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// TPM_ST_ATTEST_CERTIFY.
    public static let attestCertify = TPMStructureTag(rawValue: 0x8017)
    /// TPM_ST_ATTEST_QUOTE: the only attestation type a quote verifier accepts.
    public static let attestQuote = TPMStructureTag(rawValue: 0x8018)
    /// TPM_ST_ATTEST_CREATION.
    public static let attestCreation = TPMStructureTag(rawValue: 0x801A)

    /// The TCG name, or the hex value.
    public var description: String {
        switch self {
        case .attestCertify: "TPM_ST_ATTEST_CERTIFY"
        case .attestQuote: "TPM_ST_ATTEST_QUOTE"
        case .attestCreation: "TPM_ST_ATTEST_CREATION"
        default: hex16(rawValue)
        }
    }
}

/// Well-known TPM constants.
public enum TPMConstants {
    /// TPM_GENERATED_VALUE (0xff544347, "\xffTCG"): the magic a TPM writes at the start of every
    /// structure it signs, and refuses to sign with a restricted key when it comes from outside.
    public static let generatedValue: UInt32 = 0xff54_4347
}

func hex16(_ value: UInt16) -> String {
    let digits = String(value, radix: 16)
    return "0x" + String(repeating: "0", count: max(0, 4 - digits.count)) + digits
}

func hex32(_ value: UInt32) -> String {
    let digits = String(value, radix: 16)
    return "0x" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
}
