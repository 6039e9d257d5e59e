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

/// `SHA-256(name || 0x0A || type || publicKey)[:4]` as a big-endian integer: the key ID of
/// C2SP signed-note (type 0x01, Ed25519) and tlog-cosignature (type 0x04, cosignature/v1) keys.
func ed25519KeyID(name: String, publicKey: [UInt8], type: UInt8 = ed25519SignatureType) -> UInt32 {
    var hasher = SHA256()
    hasher.update(data: Array(name.utf8) + [0x0a, type] + publicKey)
    return BigEndian.uint32(Array(hasher.finalize()), at: 0)
}

/// The parts of a verifier key's text form `<name>+<8 hex digits of key ID>+<base64(type || key)>`,
/// shared by note verifier keys (type 0x01) and witness cosigner keys (type 0x04): the same
/// caps and checks for both, so neither parser can drift from the other.
struct Ed25519KeyText {
    let name: String
    let keyID: UInt32
    let publicKey: [UInt8]

    /// - Parameters:
    ///   - what: how errors name the key ("a verifier key", "a cosigner key").
    ///   - type: the signature type byte the key must carry.
    ///   - typeName: how errors name that type ("Ed25519", "Ed25519 cosignature/v1").
    /// - Throws: `LogError` `.malformedKey` if any part is missing or wrong, including a key ID
    ///   that does not match the name and key.
    init(parsing text: String, what: String, type: UInt8, typeName: String) throws(LogError) {
        guard text.utf8.count <= 512 else { throw LogError(.malformedKey, "\(what) is at most 512 bytes") }
        let parts = text.split(separator: "+", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3 else {
            throw LogError(.malformedKey, "\(what) is <name>+<key id>+<key>, got \(parts.count) parts")
        }
        let name = String(parts[0])
        try validateKeyName(name)
        guard parts[1].utf8.count == 8, let id = UInt32(parts[1], radix: 16), parts[1] == parts[1].lowercased() else {
            throw LogError(.malformedKey, "the key id must be 8 lower-case hex digits")
        }
        guard let keyBytes = Base64.decode(parts[2]) else {
            throw LogError(.malformedKey, "the key is not canonical base64")
        }
        guard keyBytes.count == 33, keyBytes[0] == type else {
            throw LogError(.malformedKey, "only \(typeName) keys (type 0x\(String(format: "%02x", type)), 32 bytes) are supported")
        }
        let raw = Array(keyBytes[1...])
        guard (try? Curve25519.Signing.PublicKey(rawRepresentation: raw)) != nil else {
            throw LogError(.malformedKey, "the Ed25519 public key does not decode")
        }
        guard ed25519KeyID(name: name, publicKey: raw, type: type) == id else {
            throw LogError(.malformedKey, "the key id \(parts[1]) does not match the name and key")
        }
        self.name = name
        self.keyID = id
        self.publicKey = raw
    }

    /// The text form.
    static func encode(name: String, keyID: UInt32, type: UInt8, publicKey: [UInt8]) -> String {
        "\(name)+\(keyID.hex8)+\(Base64.encode([type] + publicKey))"
    }
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
        let parts = try Ed25519KeyText(parsing: text, what: "a verifier key", type: ed25519SignatureType, typeName: "Ed25519")
        self.name = parts.name
        self.keyID = parts.keyID
        self.publicKey = parts.publicKey
    }

    /// The text form `<name>+<hex key ID>+<base64(0x01 || key)>`.
    public var encoded: String {
        Ed25519KeyText.encode(name: name, keyID: keyID, type: ed25519SignatureType, publicKey: publicKey)
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
