import Crypto
import Foundation

/// The signature type byte C2SP tlog-cosignature assigns to Ed25519 `cosignature/v1`.
let cosignatureV1Type: UInt8 = 0x04

/// A witness's Ed25519 cosigning key, public half (c2sp.org/tlog-cosignature):
/// `<name>+<8 hex digits of key ID>+<base64(0x04 || 32-byte Ed25519 public key)>`, with key ID
/// `SHA-256(name || 0x0A || 0x04 || key)[:4]`.
public struct CosignerKey: Hashable, Sendable, CustomStringConvertible {
    /// The cosigner's name (a schema-less URL by convention).
    public let name: String
    /// The 4-byte key ID.
    public let keyID: UInt32
    /// The raw Ed25519 public key.
    public let publicKey: [UInt8]

    /// A cosigner key for an Ed25519 public key under `name`.
    /// - Throws: `LogError` `.malformedKey` for a bad name.
    public init(name: String, publicKey: Curve25519.Signing.PublicKey) throws(LogError) {
        try validateKeyName(name)
        self.name = name
        self.publicKey = Array(publicKey.rawRepresentation)
        keyID = Self.keyID(name: name, publicKey: self.publicKey)
    }

    /// Parses the vkey text form.
    /// - Throws: `LogError` `.malformedKey` naming what is wrong.
    public init(parsing text: String) throws(LogError) {
        let parts = try Ed25519KeyText(parsing: text, what: "a cosigner key", type: cosignatureV1Type, typeName: "Ed25519 cosignature/v1")
        self.name = parts.name
        self.keyID = parts.keyID
        self.publicKey = parts.publicKey
    }

    /// The vkey text form.
    public var encoded: String { Ed25519KeyText.encode(name: name, keyID: keyID, type: cosignatureV1Type, publicKey: publicKey) }

    /// The vkey text form.
    public var description: String { encoded }

    static func keyID(name: String, publicKey: [UInt8]) -> UInt32 {
        ed25519KeyID(name: name, publicKey: publicKey, type: cosignatureV1Type)
    }

    /// The message a `cosignature/v1` signs: `cosignature/v1\ntime <T>\n` then the checkpoint body.
    static func signedMessage(body: String, timestamp: UInt64) -> [UInt8] {
        Array("cosignature/v1\ntime \(timestamp)\n".utf8) + Array(body.utf8)
    }
}

/// A witness's private cosigning key. `encoded` (`PRIVATE+KEY+<name>+<id>+<base64(0x04 || seed)>`) is its only export.
public struct CosignerSigningKey: Sendable {
    /// The public half.
    public let verifierKey: CosignerKey
    let privateKey: Curve25519.Signing.PrivateKey

    /// Wraps an Ed25519 key under `name`. - Throws: `LogError` `.malformedKey` for a bad name.
    public init(name: String, privateKey: Curve25519.Signing.PrivateKey) throws(LogError) {
        verifierKey = try CosignerKey(name: name, publicKey: privateKey.publicKey)
        self.privateKey = privateKey
    }

    /// Parses the private text form. - Throws: `LogError` `.malformedKey`.
    public init(parsing text: String) throws(LogError) {
        let prefix = "PRIVATE+KEY+"
        guard text.hasPrefix(prefix), text.utf8.count <= 512 else { throw LogError(.malformedKey, "a cosigner key starts with PRIVATE+KEY+") }
        let parts = text.dropFirst(prefix.count).split(separator: "+", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, let id = UInt32(parts[1], radix: 16), parts[1].utf8.count == 8,
              let seed = Base64.decode(parts[2]), seed.count == 33, seed[0] == cosignatureV1Type,
              let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: seed[1...]) else {
            throw LogError(.malformedKey, "a cosigner key is PRIVATE+KEY+<name>+<key id>+<base64(0x04 || seed)>")
        }
        try self.init(name: String(parts[0]), privateKey: key)
        guard verifierKey.keyID == id else { throw LogError(.malformedKey, "the key id does not match the name and key") }
    }

    /// The private text form.
    public var encoded: String {
        "PRIVATE+KEY+\(verifierKey.name)+\(verifierKey.keyID.hex8)+\(Base64.encode([cosignatureV1Type] + Array(privateKey.rawRepresentation)))"
    }

    /// The cosignature line (without its newline) over `checkpoint` at `timestamp` (POSIX seconds).
    /// - Throws: `LogError` `.signingFailure`.
    public func cosign(_ checkpoint: Checkpoint, timestamp: UInt64) throws(LogError) -> String {
        let signature: [UInt8]
        do { signature = Array(try privateKey.signature(for: CosignerKey.signedMessage(body: checkpoint.body, timestamp: timestamp))) } catch {
            throw LogError(.signingFailure, "Ed25519 signing failed: \(error)")
        }
        var blob: [UInt8] = []
        BigEndian.append(timestamp, to: &blob)
        return NoteSignature(keyName: verifierKey.name, keyID: verifierKey.keyID, signature: blob + signature).line
    }
}

/// A cosignature that verified: who, and when they say they cosigned.
public struct VerifiedCosignature: Hashable, Sendable {
    /// The cosigner.
    public let cosigner: CosignerKey
    /// Its timestamp, POSIX seconds.
    public let timestamp: UInt64
}

extension SignedNote {
    /// The `cosignature/v1` signatures on this note (a checkpoint) by `cosigners` that verify;
    /// lines by other keys are ignored, and a line claiming a pinned cosigner that does not
    /// verify is left out (so it cannot count towards a quorum).
    public func cosignatures(by cosigners: [CosignerKey]) -> [VerifiedCosignature] {
        var out: [VerifiedCosignature] = []
        for signature in signatures {
            guard let key = cosigners.first(where: { $0.name == signature.keyName && $0.keyID == signature.keyID }),
                  signature.signature.count == 72, !out.contains(where: { $0.cosigner == key }),
                  let ed = try? Curve25519.Signing.PublicKey(rawRepresentation: key.publicKey) else { continue }
            let timestamp = BigEndian.uint64(signature.signature, at: 0)
            guard timestamp <= UInt64(Int64.max),
                  ed.isValidSignature(Array(signature.signature[8...]), for: CosignerKey.signedMessage(body: text, timestamp: timestamp)) else { continue }
            out.append(VerifiedCosignature(cosigner: key, timestamp: timestamp))
        }
        return out
    }

    /// This note with `lines` (signature lines without newlines) appended, as bytes.
    /// - Throws: `LogError` `.malformedNote` if a line does not parse as a signature line.
    public func adding(signatureLines lines: [String]) throws(LogError) -> [UInt8] {
        let joined = encoded + Array(lines.map { $0 + "\n" }.joined().utf8)
        return try SignedNote.parse(joined).encoded
    }
}
