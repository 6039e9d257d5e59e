import Crypto

/// The two operations the quote verifier needs, on swift-crypto: SHA-256 and ECDSA P-256
/// verification. No OpenSSL C code runs on a party's verify path. Neither operation can fail for
/// a reason other than its input, so neither throws.
enum TPMCrypto {
    /// SHA-256 of `bytes`.
    static func sha256(_ bytes: [UInt8]) -> [UInt8] {
        Array(SHA256.hash(data: bytes))
    }

    /// The outcome of an ECDSA check.
    enum SignatureCheck: Equatable {
        case valid
        case invalid(String)
    }

    /// Size of a P-256 coordinate or scalar, in bytes.
    private static let fieldBytes = 32

    /// Verifies an ECDSA P-256 signature `(r, s)` over SHA-256(`message`) with the public point
    /// `(x, y)`, all big-endian as the TPM marshals them (TPM2B values may omit leading zeros).
    /// A point off the curve or an out-of-range r or s is `.invalid`, never an error.
    static func verifyECDSAP256SHA256(x: [UInt8], y: [UInt8], r: [UInt8], s: [UInt8], message: [UInt8]) -> SignatureCheck {
        guard let x = fixedWidth(x), let y = fixedWidth(y) else {
            return .invalid("public key coordinates are longer than 32 bytes")
        }
        let key: P256.Signing.PublicKey
        do { key = try P256.Signing.PublicKey(x963Representation: [0x04] + x + y) } catch {
            return .invalid("public key is not a valid P-256 point")
        }
        // A scalar wider than the group order cannot be a valid r or s; swift-crypto takes
        // exactly 32 + 32 bytes, so a longer value (after leading zeros) is refused here.
        guard let r = fixedWidth(r), let s = fixedWidth(s),
              let signature = try? P256.Signing.ECDSASignature(rawRepresentation: r + s) else {
            return .invalid("r or s is not a valid integer")
        }
        return key.isValidSignature(signature, for: message) ? .valid : .invalid("ECDSA signature does not verify with the key")
    }

    /// `bytes` as exactly 32 big-endian bytes: left-padded with zeros, or with leading zeros
    /// dropped; nil when the value needs more than 32 bytes.
    private static func fixedWidth(_ bytes: [UInt8]) -> [UInt8]? {
        let significant = bytes.drop { $0 == 0 }
        guard significant.count <= fieldBytes else { return nil }
        return [UInt8](repeating: 0, count: fieldBytes - significant.count) + significant
    }
}
