import Crypto
import Foundation
@testable import ParleyLog
import XCTest

/// Signed notes and checkpoints: the Go sumdb vectors, a real sum.golang.org checkpoint, our own
/// signing, and every refusal.
final class CheckpointTests: XCTestCase {
    struct Notes: Decodable {
        struct GoExample: Decodable { let verifierKey: String; let signerKey: String; let text: String; let note: String; let noteWithTwoSignatures: String }
        struct SumDB: Decodable { let verifierKey: String; let origin: String; let size: UInt64; let rootHash: String; let note: String }
        let goSumdbNoteExample: GoExample
        let sumGolangOrgCheckpoint: SumDB
    }

    var notes: Notes!

    override func setUpWithError() throws {
        notes = try JSONDecoder().decode(Notes.self, from: fixture("signed-notes.json"))
    }

    func testGoNoteExampleVerifiesAndKeysRoundTrip() throws {
        let go = notes.goSumdbNoteExample
        let verifier = try NoteVerifierKey(parsing: go.verifierKey)
        XCTAssertEqual(verifier.name, "PeterNeumann")
        XCTAssertEqual(verifier.keyID, 0xc74f20a3)
        XCTAssertEqual(verifier.encoded, go.verifierKey)
        let signer = try NoteSignerKey(parsing: go.signerKey)
        XCTAssertEqual(signer.verifierKey, verifier)
        XCTAssertEqual(signer.encoded, go.signerKey)

        let note = try SignedNote.parse(Array(go.note.utf8))
        XCTAssertEqual(note.text, go.text)
        XCTAssertEqual(note.encoded, Array(go.note.utf8))
        XCTAssertEqual(note.verify(with: [verifier]), .verified(VerifiedNote(text: go.text, verifiedBy: [verifier])))

        // A second signature by an unknown key (EnochRoot) is ignored, as signed-note requires.
        let two = try SignedNote.parse(Array(go.noteWithTwoSignatures.utf8))
        XCTAssertEqual(two.signatures.map(\.keyName), ["PeterNeumann", "EnochRoot"])
        XCTAssertEqual(two.verify(with: [verifier]), .verified(VerifiedNote(text: go.text, verifiedBy: [verifier])))
    }

    func testSigningReproducesTheGoNoteByteForByte() throws {
        // Ed25519 (RFC 8032) is deterministic, and swift-crypto on Linux signs with BoringSSL.
        let go = notes.goSumdbNoteExample
        let signed = try SignedNote.sign(text: go.text, with: [try NoteSignerKey(parsing: go.signerKey)])
        XCTAssertEqual(String(decoding: signed.encoded, as: UTF8.self), go.note)
    }

    func testARealSumGolangOrgCheckpointVerifies() throws {
        let sumdb = notes.sumGolangOrgCheckpoint
        let verifier = CheckpointVerifier(verifierKey: try NoteVerifierKey(parsing: sumdb.verifierKey), origin: sumdb.origin)
        guard case let .verified(verified) = verifier.verify(Array(sumdb.note.utf8)) else {
            return XCTFail("the sum.golang.org checkpoint did not verify: \(verifier.verify(Array(sumdb.note.utf8)))")
        }
        XCTAssertEqual(verified.checkpoint.size, sumdb.size)
        XCTAssertEqual(verified.checkpoint.rootHash.base64, sumdb.rootHash)
        XCTAssertEqual(verified.checkpoint.body + "\n", String(sumdb.note.prefix(while: { $0 != "\u{2014}" })))
    }

    func testOwnCheckpointSignsAndVerifies() throws {
        let checkpoint = try Checkpoint(origin: "log.parley.example", size: 42, rootHash: treeHash(String(repeating: "ab", count: 32)),
                                        extensions: ["extra"])
        let note = try checkpoint.signedNote(with: testSigner)
        let text = String(decoding: note, as: UTF8.self)
        XCTAssertTrue(text.hasPrefix("log.parley.example\n42\nq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=\nextra\n\n\u{2014} log.parley.example "), text)
        XCTAssertEqual(testVerifier.verify(note), .verified(VerifiedCheckpoint(checkpoint: checkpoint, note: note)))
        // The key ID rule of C2SP signed-note: SHA-256(name || 0x0A || 0x01 || public key)[:4].
        let digest = Array(SHA256.hash(data: Array("log.parley.example".utf8) + [0x0a, 0x01] + testSigner.verifierKey.publicKey))
        XCTAssertEqual(testSigner.verifierKey.encoded.split(separator: "+")[1], digest.prefix(4).hexString[...])
    }

    func testRefusals() throws {
        let checkpoint = try Checkpoint(origin: "log.parley.example", size: 3, rootHash: MerkleHashing.emptyRoot)
        let good = String(decoding: try checkpoint.signedNote(with: testSigner), as: UTF8.self)
        let body = checkpoint.body
        let signatureLine = String(good.dropFirst(body.count + 1))
        let other = try NoteSignerKey.generate(name: "log.parley.example")
        let impostorLine = String(decoding: try checkpoint.signedNote(with: other), as: UTF8.self).dropFirst(body.count + 1)
        let renamedSigner = try NoteSignerKey(name: "someone.else", privateKey: testSigner.privateKey)

        func flipSignature(_ line: String) -> String {
            let parts = line.dropLast().split(separator: " ")
            var blob = Base64.decode(parts[2])!
            blob[10] ^= 1
            return "\(parts[0]) \(parts[1]) \(Base64.encode(blob))\n"
        }
        func signed(_ text: String, by key: NoteSignerKey = testSigner) throws -> String {
            String(decoding: try SignedNote.sign(text: text, with: [key]).encoded, as: UTF8.self)
        }

        let cases: [(String, String, (CheckpointRejection) -> Bool)] = [
            ("bad signature", body + "\n" + flipSignature(signatureLine), { $0 == .badSignature(keyName: "log.parley.example") }),
            ("unknown key (same name, other key)", body + "\n" + impostorLine, { $0 == .noSignatureFromKnownKey }),
            ("unknown key (other name, same key)", try signed(body, by: renamedSigner), { $0 == .noSignatureFromKnownKey }),
            ("wrong origin", try signed("other.example\n3\n\(MerkleHashing.emptyRoot.base64)\n"),
             { $0 == .originMismatch(expected: "log.parley.example", found: "other.example") }),
            ("missing root line", try signed("log.parley.example\n3\n"), { if case .malformedBody = $0 { true } else { false } }),
            ("empty extension line", try signed(body + "\nx\n"), { if case .malformedBody = $0 { true } else { false } }),
            ("leading zero in size", try signed("log.parley.example\n03\n\(MerkleHashing.emptyRoot.base64)\n"),
             { if case .malformedBody = $0 { true } else { false } }),
            ("negative size", try signed("log.parley.example\n-3\n\(MerkleHashing.emptyRoot.base64)\n"),
             { if case .malformedBody = $0 { true } else { false } }),
            ("short root", try signed("log.parley.example\n3\nAAAA\n"), { if case .malformedBody = $0 { true } else { false } }),
            ("too many extension lines", try signed(body + String(repeating: "x\n", count: 17)),
             { if case .malformedBody = $0 { true } else { false } }),
            ("no blank line", body + signatureLine, { if case .malformedNote = $0 { true } else { false } }),
            ("no signatures", body + "\n", { if case .malformedNote = $0 { true } else { false } }),
            ("no final newline", String(good.dropLast()), { if case .malformedNote = $0 { true } else { false } }),
            ("extra text after signatures", good + "trailing\n", { if case .malformedNote = $0 { true } else { false } }),
            ("carriage return", good.replacingOccurrences(of: "\n", with: "\r\n"), { if case .malformedNote = $0 { true } else { false } }),
            ("tab in body", "log.parley.example\t\n3\n" + good.dropFirst("log.parley.example\n3\n".count),
             { if case .malformedNote = $0 { true } else { false } }),
            ("duplicate signature", good + signatureLine, { if case .malformedNote = $0 { true } else { false } }),
            ("hyphen instead of em dash", body + "\n" + signatureLine.replacingOccurrences(of: "\u{2014}", with: "-"),
             { if case .malformedNote = $0 { true } else { false } }),
            ("non-canonical base64", body + "\n" + signatureLine.replacingOccurrences(of: "=", with: ""),
             { if case .malformedNote = $0 { true } else { false } }),
            ("too many signatures", body + "\n" + (0..<40).map { "\u{2014} k\($0) AAAAAAA=\n" }.joined(),
             { if case .malformedNote = $0 { true } else { false } }),
            ("oversize", body + String(repeating: "x\n", count: 40_000) + "\n" + signatureLine,
             { if case .oversize = $0 { true } else { false } }),
        ]
        for (name, note, expected) in cases {
            switch testVerifier.verify(Array(note.utf8)) {
            case .verified: XCTFail("\(name): verified")
            case let .rejected(rejection): XCTAssertTrue(expected(rejection), "\(name): \(rejection)")
            }
        }
        XCTAssertEqual(testVerifier.verify(Array(good.utf8)), .verified(VerifiedCheckpoint(checkpoint: checkpoint, note: Array(good.utf8))))
    }

    func testNoteGrammarEdges() throws {
        let checkpoint = try Checkpoint(origin: "log.parley.example", size: 3, rootHash: MerkleHashing.emptyRoot)
        let good = try checkpoint.signedNote(with: testSigner)
        var invalidUTF8 = good
        invalidUTF8[2] = 0xff
        guard case .rejected(.malformedNote) = testVerifier.verify(invalidUTF8) else { return XCTFail("invalid UTF-8 accepted") }
        // Text may hold blank lines; the last blank line separates the signatures.
        let text = "first paragraph\n\nsecond paragraph\n"
        let note = try SignedNote.sign(text: text, with: [testSigner])
        let parsed = try SignedNote.parse(note.encoded)
        XCTAssertEqual(parsed.text, text)
        XCTAssertEqual(parsed.verify(with: [testSigner.verifierKey]), .verified(VerifiedNote(text: text, verifiedBy: [testSigner.verifierKey])))
        XCTAssertThrowsError(try SignedNote.sign(text: "no newline", with: [testSigner]))
        XCTAssertThrowsError(try Checkpoint(origin: "two\nlines", size: 1, rootHash: MerkleHashing.emptyRoot))
    }

    func testKeyTextRefusals() throws {
        let good = testSigner.verifierKey.encoded
        XCTAssertEqual(try NoteVerifierKey(parsing: good), testSigner.verifierKey)
        let parts = good.split(separator: "+", maxSplits: 2).map(String.init)
        let bad = [
            "", parts[0], parts[0] + "+" + parts[1],
            "+" + parts[1] + "+" + parts[2],
            parts[0] + "+00000000+" + parts[2],
            parts[0] + "+" + parts[1].uppercased() + "+" + parts[2],
            parts[0] + "+" + parts[1] + "+" + String(parts[2].dropLast(4)),
            "other name+" + parts[1] + "+" + parts[2],
            parts[0] + "+" + parts[1] + "+" + Base64.encode([0x02] + testSigner.verifierKey.publicKey),
        ]
        for text in bad {
            XCTAssertThrowsError(try NoteVerifierKey(parsing: text), text) { error in
                XCTAssertEqual((error as? LogError)?.code, .malformedKey)
            }
        }
        XCTAssertThrowsError(try NoteSignerKey(parsing: "PRIVATE+KEY+x+00000000+AAAA"))
        XCTAssertThrowsError(try NoteSignerKey.generate(name: "has space"))
        XCTAssertThrowsError(try NoteSignerKey.generate(name: "has+plus"))
    }
}
