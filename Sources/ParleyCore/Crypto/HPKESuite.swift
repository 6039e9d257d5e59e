import Crypto
import Foundation

/// The one HPKE suite Parley uses (RFC 9180): base mode, DHKEM(X25519, HKDF-SHA256),
/// HKDF-SHA256, AES-256-GCM (KEM 0x0020, KDF 0x0001, AEAD 0x0002).
public enum ParleyHPKE {
    public static let ciphersuite = HPKE.Ciphersuite(kem: .Curve25519_HKDF_SHA256, kdf: .HKDF_SHA256, aead: .AES_GCM_256)

    /// Seals one message to `recipient` and returns `enc || ciphertext`.
    public static func seal(_ plaintext: [UInt8], to recipient: Curve25519.KeyAgreement.PublicKey,
                            info: [UInt8], aad: [UInt8] = []) throws -> [UInt8] {
        var sender = try HPKE.Sender(recipientKey: recipient, ciphersuite: ciphersuite, info: Data(info))
        let ct = try sender.seal(plaintext, authenticating: aad)
        return Array(sender.encapsulatedKey) + Array(ct)
    }

    /// Opens `enc || ciphertext` made by ``seal(_:to:info:aad:)``.
    /// - Throws: `ParleyError.verificationFailed` if the key, info, aad or bytes do not match.
    public static func open(_ sealed: [UInt8], with key: Curve25519.KeyAgreement.PrivateKey,
                            info: [UInt8], aad: [UInt8] = []) throws -> [UInt8] {
        guard sealed.count >= 32 + 16 else {
            throw ParleyError(.malformed, "an HPKE-sealed message is at least 48 bytes, found \(sealed.count)")
        }
        do {
            var recipient = try HPKE.Recipient(privateKey: key, ciphersuite: ciphersuite, info: Data(info),
                                               encapsulatedKey: Data(sealed.prefix(32)))
            return Array(try recipient.open(sealed.dropFirst(32), authenticating: aad))
        } catch {
            throw ParleyError(.verificationFailed, "the sealed message does not open with this key and context")
        }
    }
}
