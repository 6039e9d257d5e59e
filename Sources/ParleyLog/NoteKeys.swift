import Crypto
import Foundation

/// The signature type byte C2SP signed-note assigns to Ed25519.
let ed25519SignatureType: UInt8 = 0x01

/// Checks a signed-note key name: non-empty, no Unicode spaces, no `+`, no control characters,
/// at most `SignedNote.maxKeyNameLength` bytes.
func validateKeyName(_ name: String) throws(LogError) {
    guard !name.isEmpty else { throw LogError(.malformedKey, "a key name must not be empty") }
    guard name.utf8.count <= SignedNote.maxKeyNameLength else {
        throw LogError(.malformedKey, "a key name is at most \(SignedNote.maxKeyNameLength) bytes")
    }
    for scalar in name.unicodeScalars where scalar == "+" || scalar.properties.isWhitespace || scalar.value < 0x20 || scalar.value == 0x7f {
        throw LogError(.malformedKey, "a key name must not contain spaces, '+' or control characters: \(name.debugDescription)")
    }
}

/// `SHA-256(name || 0x0A || 0x01 || publicKey)[:4]` as a big-endian integer (C2SP signed-note).
func ed25519KeyID(name: String, publicKey: [UInt8]) -> UInt32 {
    var hasher = SHA256()
    hasher.update(data: Array(name.utf8) + [0x0a, ed25519SignatureType] + publicKey)
    return BigEndian.uint32(Array(hasher.finalize()), at: 0)
}

/// The public half of a note-signing key, as note verifiers configure it:
/// `<name>+<8 hex digits of key ID>+<base64(0x01 || 32-byte Ed25519 public key)>`.
public struct NoteVerifierKey: Hashable, Sendable, CustomStringConvertible {
    /// The key name, which signature lines repeat.
    public let name: String
    /// The 4-byte key ID, derived from name and key.
    public let keyID: UInt32
    /// The raw 32-byte Ed25519 public key.
    public let publicKey: [UInt8]

    /// A verifier key for an Ed25519 public key under `name`.
    /// - Throws: `LogError` `.malformedKey` for a bad name or a key that is not 32 bytes.
    public init(name: String, publicKey: Curve25519.Signing.PublicKey) throws(LogError) {
        try validateKeyName(name)
        self.name = name
        self.publicKey = Array(publicKey.rawRepresentation)
        self.keyID = ed25519KeyID(name: name, publicKey: self.publicKey)
    }

    /// Parses the text form `<name>+<hex key ID>+<base64(0x01 || key)>`.
    /// - Throws: `LogError` `.malformedKey` if any part is missing or wrong, including a key ID
    ///   that does not match the name and key.
    public init(parsing text: String) throws(LogError) {
        guard text.utf8.count <= 512 else { throw LogError(.malformedKey, "a verifier key is at most 512 bytes") }
        let parts = text.split(separator: "+", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3 else {
            throw LogError(.malformedKey, "a verifier key is <name>+<key id>+<key>, got \(parts.count) parts")
        }
        let name = String(parts[0])
        try validateKeyName(name)
        guard parts[1].utf8.count == 8, let id = UInt32(parts[1], radix: 16), parts[1] == parts[1].lowercased() else {
            throw LogError(.malformedKey, "the key id must be 8 lower-case hex digits")
        }
        guard let keyBytes = Base64.decode(parts[2]) else {
            throw LogError(.malformedKey, "the key is not canonical base64")
        }
        guard keyBytes.count == 33, keyBytes[0] == ed25519SignatureType else {
            throw LogError(.malformedKey, "only Ed25519 keys (type 0x01, 32 bytes) are supported")
        }
        let raw = Array(keyBytes[1...])
        guard (try? Curve25519.Signing.PublicKey(rawRepresentation: raw)) != nil else {
            throw LogError(.malformedKey, "the Ed25519 public key does not decode")
        }
        guard ed25519KeyID(name: name, publicKey: raw) == id else {
            throw LogError(.malformedKey, "the key id \(parts[1]) does not match the name and key")
        }
        self.name = name
        self.keyID = id
        self.publicKey = raw
    }

    /// The text form `<name>+<hex key ID>+<base64(0x01 || key)>`.
    public var encoded: String {
        "\(name)+\(keyID.hex8)+\(Base64.encode([ed25519SignatureType] + publicKey))"
    }

    /// The verifier key text form.
    public var description: String { encoded }

    func isValidSignature(_ signature: [UInt8], for text: [UInt8]) -> Bool {
        guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey) else { return false }
        return key.isValidSignature(signature, for: text)
    }
}

/// The private half of a note-signing key. Keep it secret; `encoded` is its only export.
public struct NoteSignerKey: Sendable {
    /// The key name written in signature lines (for a log, its origin).
    public let name: String
    /// The matching verifier key, to give to parties and auditors.
    public let verifierKey: NoteVerifierKey
    let privateKey: Curve25519.Signing.PrivateKey

    /// Wraps an Ed25519 private key under `name`.
    /// - Throws: `LogError` `.malformedKey` for a bad name.
    public init(name: String, privateKey: Curve25519.Signing.PrivateKey) throws(LogError) {
        self.verifierKey = try NoteVerifierKey(name: name, publicKey: privateKey.publicKey)
        self.name = name
        self.privateKey = privateKey
    }

    /// A fresh random key under `name`.
    /// - Throws: `LogError` `.malformedKey` for a bad name.
    public static func generate(name: String) throws(LogError) -> NoteSignerKey {
        try NoteSignerKey(name: name, privateKey: Curve25519.Signing.PrivateKey())
    }

    /// Parses the golang.org/x/mod/sumdb/note private key form
    /// `PRIVATE+KEY+<name>+<hex key ID>+<base64(0x01 || 32-byte seed)>`.
    /// - Throws: `LogError` `.malformedKey` if any part is wrong.
    public init(parsing text: String) throws(LogError) {
        let prefix = "PRIVATE+KEY+"
        guard text.hasPrefix(prefix), text.utf8.count <= 512 else {
            throw LogError(.malformedKey, "a signer key starts with PRIVATE+KEY+")
        }
        let parts = text.dropFirst(prefix.count).split(separator: "+", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, let id = UInt32(parts[1], radix: 16), parts[1].utf8.count == 8,
              let seed = Base64.decode(parts[2]), seed.count == 33, seed[0] == ed25519SignatureType,
              let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: seed[1...]) else {
            throw LogError(.malformedKey, "a signer key is PRIVATE+KEY+<name>+<key id>+<base64(0x01 || seed)>")
        }
        try self.init(name: String(parts[0]), privateKey: key)
        guard verifierKey.keyID == id else {
            throw LogError(.malformedKey, "the key id \(parts[1]) does not match the name and key")
        }
    }

    /// The `PRIVATE+KEY+...` text form.
    public var encoded: String {
        "PRIVATE+KEY+\(name)+\(verifierKey.keyID.hex8)+\(Base64.encode([ed25519SignatureType] + Array(privateKey.rawRepresentation)))"
    }

    func sign(_ text: [UInt8]) throws(LogError) -> [UInt8] {
        do {
            return Array(try privateKey.signature(for: text))
        } catch {
            throw LogError(.signingFailure, "Ed25519 signing failed: \(error)")
        }
    }
}

extension UInt32 {
    var hex8: String {
        let digits = String(self, radix: 16)
        return String(repeating: "0", count: 8 - digits.count) + digits
    }
}
