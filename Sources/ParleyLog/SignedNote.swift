/// One signature line of a signed note: `— <key name> <base64(key ID || signature)>`.
public struct NoteSignature: Hashable, Sendable {
    /// The key name as written on the line. Untrusted until verified.
    public let keyName: String
    /// The 4-byte key ID, big-endian. Untrusted until verified.
    public let keyID: UInt32
    /// The signature bytes after the key ID.
    public let signature: [UInt8]

    /// The line without its final newline.
    public var line: String {
        var blob: [UInt8] = []
        BigEndian.append(keyID, to: &blob)
        return "\u{2014} \(keyName) \(Base64.encode(blob + signature))"
    }
}

/// A C2SP signed note (c2sp.org/signed-note) as parsed, NOT verified: text, a blank line, and
/// signature lines. Nothing in `text` may be trusted until `verify(with:)` says so.
public struct SignedNote: Hashable, Sendable {
    /// The largest note accepted, in bytes.
    public static let maxByteCount = 64 * 1024
    /// The most signature lines accepted (the spec requires accepting at least 16).
    public static let maxSignatureCount = 32
    /// The longest key name accepted, in bytes.
    public static let maxKeyNameLength = 256

    /// The note text, including its final newline. Unverified.
    public let text: String
    /// The signature lines, in order. Unverified.
    public let signatures: [NoteSignature]

    /// Parses a signed note without verifying anything.
    /// - Throws: `LogError` `.oversize` beyond `maxByteCount` or `maxSignatureCount`;
    ///   `.malformedNote` naming the first rule broken.
    public static func parse(_ bytes: [UInt8]) throws(LogError) -> SignedNote {
        guard bytes.count <= maxByteCount else {
            throw LogError(.oversize, "a signed note is at most \(maxByteCount) bytes, got \(bytes.count)")
        }
        let whole = String(decoding: bytes, as: UTF8.self)
        guard Array(whole.utf8) == bytes else {
            throw LogError(.malformedNote, "a signed note must be valid UTF-8")
        }
        for scalar in whole.unicodeScalars where (scalar.value < 0x20 && scalar != "\n") || scalar.value == 0x7f {
            throw LogError(.malformedNote, "a signed note must not contain control characters other than newline (found U+\(String(scalar.value, radix: 16, uppercase: true)))")
        }
        guard bytes.last == 0x0a else { throw LogError(.malformedNote, "a signed note must end with a newline") }
        guard let split = lastBlankLine(bytes) else {
            throw LogError(.malformedNote, "a signed note needs a blank line between text and signatures")
        }
        let textBytes = Array(bytes[..<(split + 1)])
        guard textBytes.count > 1 else { throw LogError(.malformedNote, "the note text is empty") }
        let signatureBlock = bytes[(split + 2)...]
        guard !signatureBlock.isEmpty else { throw LogError(.malformedNote, "a signed note needs at least one signature") }

        var signatures: [NoteSignature] = []
        var seen: Set<String> = []
        for lineBytes in signatureBlock.split(separator: 0x0a, omittingEmptySubsequences: false).dropLast() {
            guard signatures.count < maxSignatureCount else {
                throw LogError(.oversize, "a signed note has at most \(maxSignatureCount) signatures")
            }
            let signature = try parseSignatureLine(String(decoding: lineBytes, as: UTF8.self))
            guard seen.insert("\(signature.keyName)+\(signature.keyID)").inserted else {
                throw LogError(.malformedNote, "two signatures by the same key \(signature.keyName)")
            }
            signatures.append(signature)
        }
        return SignedNote(text: String(decoding: textBytes, as: UTF8.self), signatures: signatures)
    }

    /// Signs `text` with each key, in order.
    /// - Throws: `LogError` `.malformedNote` if `text` would not parse back as note text
    ///   (empty, no final newline, control characters); `.signingFailure` from the crypto library.
    public static func sign(text: String, with keys: [NoteSignerKey]) throws(LogError) -> SignedNote {
        guard text.utf8.count > 1, text.hasSuffix("\n") else {
            throw LogError(.malformedNote, "note text must be non-empty and end with a newline")
        }
        for scalar in text.unicodeScalars where (scalar.value < 0x20 && scalar != "\n") || scalar.value == 0x7f {
            throw LogError(.malformedNote, "note text must not contain control characters other than newline")
        }
        guard !keys.isEmpty else { throw LogError(.malformedNote, "a signed note needs at least one key") }
        var signatures: [NoteSignature] = []
        for key in keys {
            let signature = try key.sign(Array(text.utf8))
            signatures.append(NoteSignature(keyName: key.name, keyID: key.verifierKey.keyID, signature: signature))
        }
        return SignedNote(text: text, signatures: signatures)
    }

    /// The wire form: text, blank line, signature lines.
    public var encoded: [UInt8] {
        Array((text + "\n" + signatures.map { $0.line + "\n" }.joined()).utf8)
    }

    /// Verifies the note against the keys the caller trusts (C2SP signed-note rules):
    /// signatures by unknown keys are ignored; a signature by a known key (same name and key
    /// ID) that fails rejects the whole note; at least one known key must have signed.
    public func verify(with verifiers: [NoteVerifierKey]) -> NoteVerdict {
        var verifiedBy: [NoteVerifierKey] = []
        let textBytes = Array(text.utf8)
        for signature in signatures {
            guard let key = verifiers.first(where: { $0.name == signature.keyName && $0.keyID == signature.keyID }) else {
                continue
            }
            guard signature.signature.count == 64, key.isValidSignature(signature.signature, for: textBytes) else {
                return .rejected(.badSignature(keyName: key.name))
            }
            verifiedBy.append(key)
        }
        guard !verifiedBy.isEmpty else { return .rejected(.noSignatureFromKnownKey) }
        return .verified(VerifiedNote(text: text, verifiedBy: verifiedBy))
    }

    private static func lastBlankLine(_ bytes: [UInt8]) -> Int? {
        var i = bytes.count - 2
        while i >= 0 {
            if bytes[i] == 0x0a && bytes[i + 1] == 0x0a { return i }
            i -= 1
        }
        return nil
    }

    private static func parseSignatureLine(_ line: String) throws(LogError) -> NoteSignature {
        let dash = "\u{2014} "
        guard line.hasPrefix(dash) else {
            throw LogError(.malformedNote, "a signature line starts with an em dash and a space: \(line.prefix(40).debugDescription)")
        }
        let fields = line.dropFirst(dash.count).split(separator: " ", omittingEmptySubsequences: false)
        guard fields.count == 2 else {
            throw LogError(.malformedNote, "a signature line is '— <key name> <signature>'")
        }
        let name = String(fields[0])
        do { try validateKeyName(name) } catch { throw LogError(.malformedNote, error.reason) }
        guard let blob = Base64.decode(fields[1]), blob.count >= 5 else {
            throw LogError(.malformedNote, "the signature of \(name) is not canonical base64 of at least 5 bytes")
        }
        return NoteSignature(keyName: name, keyID: BigEndian.uint32(blob, at: 0), signature: Array(blob[4...]))
    }
}

/// The outcome of verifying a signed note.
public enum NoteVerdict: Hashable, Sendable {
    /// At least one trusted key signed the text, and no trusted key's signature failed.
    case verified(VerifiedNote)
    /// The note must be ignored, and why.
    case rejected(NoteRejection)
}

/// A note whose text a trusted key signed.
public struct VerifiedNote: Hashable, Sendable {
    /// The signed text, including its final newline.
    public let text: String
    /// The trusted keys whose signatures verified.
    public let verifiedBy: [NoteVerifierKey]
}

/// Why a signed note was refused after parsing.
public enum NoteRejection: Hashable, Sendable, CustomStringConvertible {
    /// No signature line came from a key the verifier trusts (name and key ID).
    case noSignatureFromKnownKey
    /// A signature claiming a trusted key did not verify.
    case badSignature(keyName: String)

    /// An English reason a person can act on.
    public var description: String {
        switch self {
        case .noSignatureFromKnownKey: "no signature from a trusted key"
        case let .badSignature(name): "the signature by \(name) does not verify"
        }
    }
}
