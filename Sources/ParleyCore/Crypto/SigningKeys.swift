import Crypto

/// An ECDSA private key Parley signs with: P-256 (ES256) or P-384 (ES384).
public enum ECSigningKey: Sendable {
    case p256(P256.Signing.PrivateKey)
    case p384(P384.Signing.PrivateKey)

    /// The matching public key.
    public var publicKey: ECVerifyingKey {
        switch self {
        case .p256(let k): return .p256(k.publicKey)
        case .p384(let k): return .p384(k.publicKey)
        }
    }

    /// The COSE algorithm this key signs with.
    public var algorithm: COSEAlgorithm {
        switch self {
        case .p256: return .es256
        case .p384: return .es384
        }
    }

    /// Signs `message` (hashed with SHA-256 or SHA-384 by curve) and returns the raw `r || s`.
    public func sign(_ message: [UInt8]) throws -> [UInt8] {
        switch self {
        case .p256(let k): return Array(try k.signature(for: message).rawRepresentation)
        case .p384(let k): return Array(try k.signature(for: message).rawRepresentation)
        }
    }
}

/// An ECDSA public key Parley verifies with: P-256 (ES256) or P-384 (ES384).
public enum ECVerifyingKey: Sendable {
    case p256(P256.Signing.PublicKey)
    case p384(P384.Signing.PublicKey)

    /// The COSE algorithm this key verifies.
    public var algorithm: COSEAlgorithm {
        switch self {
        case .p256: return .es256
        case .p384: return .es384
        }
    }

    /// Reads a SubjectPublicKeyInfo in PEM for either curve.
    /// - Throws: `ParleyError.badKey` if it is neither a P-256 nor a P-384 public key.
    public init(pem: String) throws {
        if let k = try? P256.Signing.PublicKey(pemRepresentation: pem) {
            self = .p256(k)
        } else if let k = try? P384.Signing.PublicKey(pemRepresentation: pem) {
            self = .p384(k)
        } else {
            throw ParleyError(.badKey, "the PEM is not a P-256 or P-384 public key")
        }
    }

    /// Reads a DER SubjectPublicKeyInfo for either curve.
    public init(der: [UInt8]) throws {
        if let k = try? P256.Signing.PublicKey(derRepresentation: der) {
            self = .p256(k)
        } else if let k = try? P384.Signing.PublicKey(derRepresentation: der) {
            self = .p384(k)
        } else {
            throw ParleyError(.badKey, "the DER is not a P-256 or P-384 public key")
        }
    }

    /// SubjectPublicKeyInfo DER.
    public var derRepresentation: [UInt8] {
        switch self {
        case .p256(let k): return Array(k.derRepresentation)
        case .p384(let k): return Array(k.derRepresentation)
        }
    }

    /// SubjectPublicKeyInfo PEM.
    public var pemRepresentation: String {
        switch self {
        case .p256(let k): return k.pemRepresentation
        case .p384(let k): return k.pemRepresentation
        }
    }

    /// True only if `signature` (raw `r || s`) is a valid signature of `message`.
    /// Internal building block: public callers get a verdict from ``COSESign1/verify(with:externalAAD:)``.
    func isValid(signature: [UInt8], for message: [UInt8]) -> Bool {
        switch self {
        case .p256(let k):
            guard signature.count == 64, let s = try? P256.Signing.ECDSASignature(rawRepresentation: signature) else { return false }
            return k.isValidSignature(s, for: message)
        case .p384(let k):
            guard signature.count == 96, let s = try? P384.Signing.ECDSASignature(rawRepresentation: signature) else { return false }
            return k.isValidSignature(s, for: message)
        }
    }
}
