import Crypto
import Foundation

/// A party's key pair as `parley keygen` writes it: a P-256 signing key (requests, uploads)
/// and an X25519 agreement key (results are HPKE-sealed to it).
///
/// Files are PEM. `NAME.key` holds two PKCS#8 `PRIVATE KEY` blocks (P-256 first, then X25519
/// per RFC 8410) and is written with mode 0600; `NAME.pub` holds the two matching
/// SubjectPublicKeyInfo `PUBLIC KEY` blocks. Both are readable by `openssl pkey`.
public struct PartyPrivateKey: Sendable {
    public let signing: P256.Signing.PrivateKey
    public let agreement: Curve25519.KeyAgreement.PrivateKey

    /// Fresh keys from the system CSPRNG.
    public init() {
        self.signing = P256.Signing.PrivateKey()
        self.agreement = Curve25519.KeyAgreement.PrivateKey()
    }

    public init(signing: P256.Signing.PrivateKey, agreement: Curve25519.KeyAgreement.PrivateKey) {
        self.signing = signing
        self.agreement = agreement
    }

    /// The public half.
    public var publicKey: PartyPublicKey {
        PartyPublicKey(signing: signing.publicKey, agreement: agreement.publicKey)
    }

    /// The two PEM blocks of the private key file.
    public var pemRepresentation: String {
        signing.pemRepresentation + "\n" + PEM.encode(label: "PRIVATE KEY", der: X25519DER.privateKeyPrefix + Array(agreement.rawRepresentation)) + "\n"
    }

    /// Reads a private key file's text.
    /// - Throws: `ParleyError.badKey` naming what is missing or wrong.
    public init(pem: String) throws {
        let blocks = try PEM.decodeAll(pem)
        var signing: P256.Signing.PrivateKey?
        var agreement: Curve25519.KeyAgreement.PrivateKey?
        for block in blocks where block.label == "PRIVATE KEY" {
            if let raw = X25519DER.rawPrivateKey(fromPKCS8: block.der) {
                agreement = try Curve25519.KeyAgreement.PrivateKey(rawRepresentation: raw)
            } else if let k = try? P256.Signing.PrivateKey(derRepresentation: block.der) {
                signing = k
            } else {
                throw ParleyError(.badKey, "a PRIVATE KEY block is neither P-256 nor X25519")
            }
        }
        guard let signing else { throw ParleyError(.badKey, "the key file has no P-256 signing key") }
        guard let agreement else { throw ParleyError(.badKey, "the key file has no X25519 agreement key") }
        self.init(signing: signing, agreement: agreement)
    }

    /// Reads `path`. - Throws: `ParleyError.io` if unreadable, `.badKey` if not a Parley key.
    public static func load(path: String) throws -> PartyPrivateKey {
        try PartyPrivateKey(pem: try FileIO.readText(path))
    }
}

/// The public half of a ``PartyPrivateKey``.
public struct PartyPublicKey: Sendable, Equatable {
    public let signing: P256.Signing.PublicKey
    public let agreement: Curve25519.KeyAgreement.PublicKey

    public init(signing: P256.Signing.PublicKey, agreement: Curve25519.KeyAgreement.PublicKey) {
        self.signing = signing
        self.agreement = agreement
    }

    /// The two PEM blocks of the public key file.
    public var pemRepresentation: String {
        signing.pemRepresentation + "\n" + PEM.encode(label: "PUBLIC KEY", der: X25519DER.publicKeyPrefix + Array(agreement.rawRepresentation)) + "\n"
    }

    /// Reads a public key file's text.
    public init(pem: String) throws {
        var signing: P256.Signing.PublicKey?
        var agreement: Curve25519.KeyAgreement.PublicKey?
        for block in try PEM.decodeAll(pem) where block.label == "PUBLIC KEY" {
            if let raw = X25519DER.rawPublicKey(fromSPKI: block.der) {
                agreement = try Curve25519.KeyAgreement.PublicKey(rawRepresentation: raw)
            } else if let k = try? P256.Signing.PublicKey(derRepresentation: block.der) {
                signing = k
            } else {
                throw ParleyError(.badKey, "a PUBLIC KEY block is neither P-256 nor X25519")
            }
        }
        guard let signing else { throw ParleyError(.badKey, "the public key file has no P-256 signing key") }
        guard let agreement else { throw ParleyError(.badKey, "the public key file has no X25519 agreement key") }
        self.init(signing: signing, agreement: agreement)
    }

    public static func == (a: PartyPublicKey, b: PartyPublicKey) -> Bool {
        a.signing.rawRepresentation == b.signing.rawRepresentation
            && a.agreement.rawRepresentation == b.agreement.rawRepresentation
    }
}

/// Fixed DER framing for X25519 keys (RFC 8410 section 7 and 10).
enum X25519DER {
    /// PKCS#8 OneAsymmetricKey, version 0, id-X25519 (1.3.101.110), 32-byte CurvePrivateKey.
    static let privateKeyPrefix: [UInt8] = [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e,
                                            0x04, 0x22, 0x04, 0x20]
    /// SubjectPublicKeyInfo with id-X25519 and a 32-byte key.
    static let publicKeyPrefix: [UInt8] = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x03, 0x21, 0x00]

    static func rawPrivateKey(fromPKCS8 der: [UInt8]) -> [UInt8]? {
        guard der.count == 48, Array(der.prefix(16)) == privateKeyPrefix else { return nil }
        return Array(der.suffix(32))
    }

    static func rawPublicKey(fromSPKI der: [UInt8]) -> [UInt8]? {
        guard der.count == 44, Array(der.prefix(12)) == publicKeyPrefix else { return nil }
        return Array(der.suffix(32))
    }
}

/// Minimal PEM (RFC 7468) reading and writing.
public enum PEM {
    public struct Block: Sendable {
        public let label: String
        public let der: [UInt8]
    }

    /// Encodes DER as a PEM block with 64-character lines.
    public static func encode(label: String, der: [UInt8]) -> String {
        let b64 = Data(der).base64EncodedString()
        var lines: [String] = ["-----BEGIN \(label)-----"]
        var idx = b64.startIndex
        while idx < b64.endIndex {
            let next = b64.index(idx, offsetBy: 64, limitedBy: b64.endIndex) ?? b64.endIndex
            lines.append(String(b64[idx..<next]))
            idx = next
        }
        lines.append("-----END \(label)-----")
        return lines.joined(separator: "\n")
    }

    /// Every block in `text`, in order. Caps: 64 blocks, 64 KiB of text.
    public static func decodeAll(_ text: String) throws -> [Block] {
        guard text.utf8.count <= 64 << 10 else {
            throw ParleyError(.limitExceeded, "PEM text is over 64 KiB")
        }
        var blocks: [Block] = []
        var label: String?
        var body = ""
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if label == nil {
                if line.hasPrefix("-----BEGIN "), line.hasSuffix("-----") {
                    label = String(line.dropFirst(11).dropLast(5))
                    body = ""
                }
                continue
            }
            if line.hasPrefix("-----END ") {
                guard line == "-----END \(label!)-----" else {
                    throw ParleyError(.malformed, "PEM block \"\(label!)\" ends with a different label")
                }
                guard let der = Data(base64Encoded: body) else {
                    throw ParleyError(.malformed, "PEM block \"\(label!)\" is not valid base64")
                }
                blocks.append(Block(label: label!, der: Array(der)))
                guard blocks.count <= 64 else { throw ParleyError(.limitExceeded, "more than 64 PEM blocks") }
                label = nil
            } else {
                body += line
            }
        }
        if let label { throw ParleyError(.malformed, "PEM block \"\(label)\" has no END line") }
        guard !blocks.isEmpty else { throw ParleyError(.malformed, "no PEM block found") }
        return blocks
    }
}
