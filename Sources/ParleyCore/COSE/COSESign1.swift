import Crypto

/// COSE algorithm identifiers Parley accepts (RFC 9053 section 2.1).
public enum COSEAlgorithm: Int64, Sendable, CaseIterable {
    /// ECDSA with SHA-256 on P-256.
    case es256 = -7
    /// ECDSA with SHA-384 on P-384.
    case es384 = -35

    public var name: String { self == .es256 ? "ES256" : "ES384" }
}

/// A COSE_Sign1 message (RFC 9052 section 4.2) as parsed from untrusted bytes: nothing in it
/// is trusted until ``verify(with:externalAAD:)`` returns ``COSEVerdict/valid(_:)``.
public struct COSESign1: Sendable {
    /// CBOR tag for COSE_Sign1.
    public static let tag: UInt64 = 18
    private static let labelAlg = CBOR.unsigned(1)
    private static let labelCrit = CBOR.unsigned(2)

    /// The serialized protected header, exactly as received (it is what was signed).
    public let protectedBytes: [UInt8]
    /// The algorithm named in the protected header. Untrusted until verified.
    public let algorithm: COSEAlgorithm
    /// The unprotected header. Never authenticated: use only as a hint.
    public let unprotectedHeader: [CBOR: CBOR]
    /// The signature bytes (raw `r || s`).
    public let signature: [UInt8]
    private let payload: [UInt8]

    /// The payload before verification. UNTRUSTED: only for formats that carry the verifying
    /// key's certificate inside the payload (read the certificate, validate it, then call
    /// ``verify(with:externalAAD:)`` and use the payload of the verified message).
    public var untrustedPayload: [UInt8] { payload }

    /// Parses a tagged COSE_Sign1. Parsing checks structure only, never the signature.
    /// - Throws: ``ParleyError`` when the bytes are not a COSE_Sign1 Parley accepts: untagged,
    ///   wrong shape, detached payload, an unknown algorithm, or critical headers.
    public init(bytes: [UInt8], limits: CBORDecoder.Limits = .standard) throws {
        let item = try CBORDecoder(mode: .deterministic, limits: limits).decode(bytes)
        guard case .tagged(Self.tag, let inner) = item else {
            throw ParleyError(.malformed, "COSE_Sign1 must carry CBOR tag 18")
        }
        guard case .array(let parts) = inner, parts.count == 4 else {
            throw ParleyError(.malformed, "COSE_Sign1 must be an array of 4 items")
        }
        guard case .bytes(let protectedBytes) = parts[0], !protectedBytes.isEmpty else {
            throw ParleyError(.malformed, "COSE_Sign1 protected header must be a non-empty byte string")
        }
        guard case .map(let unprotected) = parts[1] else {
            throw ParleyError(.malformed, "COSE_Sign1 unprotected header must be a map")
        }
        guard case .bytes(let payload) = parts[2] else {
            throw ParleyError(.unsupported, "COSE_Sign1 payload must be a byte string (detached payloads are not accepted)")
        }
        guard case .bytes(let signature) = parts[3] else {
            throw ParleyError(.malformed, "COSE_Sign1 signature must be a byte string")
        }
        let header = try CBORDecoder(mode: .deterministic, limits: limits).decode(protectedBytes)
        guard case .map(let protected) = header else {
            throw ParleyError(.malformed, "COSE_Sign1 protected header must encode a map")
        }
        if protected[Self.labelCrit] != nil {
            throw ParleyError(.unsupported, "COSE_Sign1 protected header lists critical parameters, which Parley does not accept")
        }
        guard let alg = protected[Self.labelAlg]?.int64 else {
            throw ParleyError(.malformed, "COSE_Sign1 protected header has no integer algorithm (label 1)")
        }
        guard let algorithm = COSEAlgorithm(rawValue: alg) else {
            throw ParleyError(.unsupported, "COSE algorithm \(alg) is not accepted (ES256 = -7 or ES384 = -35)")
        }
        if unprotected[Self.labelAlg] != nil {
            throw ParleyError(.malformed, "COSE_Sign1 algorithm must not appear in the unprotected header")
        }
        self.protectedBytes = protectedBytes
        self.algorithm = algorithm
        self.unprotectedHeader = unprotected
        self.payload = payload
        self.signature = signature
    }

    /// Signs `payload` and returns the tagged COSE_Sign1 bytes (deterministic CBOR).
    /// - Parameters:
    ///   - payload: the bytes to sign (Parley payloads are themselves deterministic CBOR).
    ///   - key: the signer; its curve fixes the algorithm (ES256 or ES384).
    ///   - unprotected: unauthenticated hints such as a key id (label 4).
    ///   - externalAAD: application data bound into the signature but not carried.
    public static func sign(payload: [UInt8], with key: ECSigningKey,
                            unprotected: [CBOR: CBOR] = [:], externalAAD: [UInt8] = []) throws -> [UInt8] {
        let protectedBytes = CBOREncoder.encode(.map([labelAlg: .int(key.algorithm.rawValue)]))
        let toBeSigned = sigStructure(protectedBytes: protectedBytes, externalAAD: externalAAD, payload: payload)
        let signature = try key.sign(toBeSigned)
        return CBOREncoder.encode(.tagged(tag, .array([
            .bytes(protectedBytes), .map(unprotected), .bytes(payload), .bytes(signature),
        ])))
    }

    /// Verifies the signature with `key`. The algorithm in the protected header must be the
    /// key's own: a P-256 key never accepts an ES384 message, nor the reverse.
    public func verify(with key: ECVerifyingKey, externalAAD: [UInt8] = []) -> COSEVerdict {
        guard key.algorithm == algorithm else {
            return .invalid(.algorithmMismatch(header: algorithm, key: key.algorithm))
        }
        let expectedLength = algorithm == .es256 ? 64 : 96
        guard signature.count == expectedLength else {
            return .invalid(.badSignatureLength(signature.count))
        }
        let toBeSigned = Self.sigStructure(protectedBytes: protectedBytes, externalAAD: externalAAD, payload: payload)
        guard key.isValid(signature: signature, for: toBeSigned) else {
            return .invalid(.signatureMismatch)
        }
        return .valid(VerifiedCOSESign1(algorithm: algorithm, payload: payload, unprotectedHeader: unprotectedHeader))
    }

    /// The Sig_structure of RFC 9052 section 4.4 for a COSE_Sign1.
    static func sigStructure(protectedBytes: [UInt8], externalAAD: [UInt8], payload: [UInt8]) -> [UInt8] {
        CBOREncoder.encode(.array([.text("Signature1"), .bytes(protectedBytes), .bytes(externalAAD), .bytes(payload)]))
    }
}

/// A COSE_Sign1 whose signature has been checked. Only ``COSESign1/verify(with:externalAAD:)``
/// creates one, so holding it proves the payload was signed by the key it was checked with.
public struct VerifiedCOSESign1: Sendable {
    public let algorithm: COSEAlgorithm
    /// The authenticated payload.
    public let payload: [UInt8]
    /// Not authenticated, even here.
    public let unprotectedHeader: [CBOR: CBOR]
}

/// The outcome of verifying a COSE_Sign1.
public enum COSEVerdict: Sendable {
    case valid(VerifiedCOSESign1)
    case invalid(COSEFailure)
}

/// Why a COSE_Sign1 signature was refused.
public enum COSEFailure: Sendable, Equatable, CustomStringConvertible {
    /// The protected header names an algorithm other than the verifying key's.
    case algorithmMismatch(header: COSEAlgorithm, key: COSEAlgorithm)
    /// The signature is not the length the algorithm requires.
    case badSignatureLength(Int)
    /// The signature does not verify with the key.
    case signatureMismatch

    public var description: String {
        switch self {
        case .algorithmMismatch(let h, let k):
            return "the message is signed with \(h.name) but the key is for \(k.name)"
        case .badSignatureLength(let n):
            return "the signature is \(n) bytes, the wrong length for its algorithm"
        case .signatureMismatch:
            return "the signature does not verify with the given key"
        }
    }
}
