import Crypto
import XCTest
@testable import ParleyLog

/// Note verifier keys (C2SP signed-note, type 0x01) and witness cosigner keys (C2SP
/// tlog-cosignature, type 0x04) share one text parser; each must still refuse the other's type.
final class KeyTextTests: XCTestCase {
    let raw = try! Curve25519.Signing.PrivateKey(rawRepresentation: [UInt8](repeating: 7, count: 32)).publicKey

    func testEachKeyRoundTripsAndRefusesTheOthersType() throws {
        let note = try NoteVerifierKey(name: "log.example/a", publicKey: raw)
        let cosigner = try CosignerKey(name: "log.example/a", publicKey: raw)
        XCTAssertEqual(try NoteVerifierKey(parsing: note.encoded), note)
        XCTAssertEqual(try CosignerKey(parsing: cosigner.encoded), cosigner)
        // Same name and key, different type byte: different key IDs, and neither parses as the other.
        XCTAssertNotEqual(note.keyID, cosigner.keyID)
        XCTAssertThrowsError(try CosignerKey(parsing: note.encoded)) { error in
            XCTAssertTrue((error as? LogError)?.reason.contains("only Ed25519 cosignature/v1 keys (type 0x04") == true, "\(error)")
        }
        XCTAssertThrowsError(try NoteVerifierKey(parsing: cosigner.encoded)) { error in
            XCTAssertTrue((error as? LogError)?.reason.contains("only Ed25519 keys (type 0x01") == true, "\(error)")
        }
    }

    func testWrongKeyIDTooLongAndMissingPartsAreRefused() throws {
        let note = try NoteVerifierKey(name: "log.example/a", publicKey: raw)
        let cosigner = try CosignerKey(name: "log.example/a", publicKey: raw)
        let cases: [(encoded: String, keyID: UInt32, parse: (String) throws -> Void)] = [
            (note.encoded, note.keyID, { _ = try NoteVerifierKey(parsing: $0) }),
            (cosigner.encoded, cosigner.keyID, { _ = try CosignerKey(parsing: $0) }),
        ]
        for (encoded, keyID, parse) in cases {
            let parts = encoded.split(separator: "+").map(String.init)
            let otherID = String(format: "%08x", keyID ^ 1)
            for (text, reason) in [
                ("\(parts[0])+\(otherID)+\(parts[2])", "does not match the name and key"),
                (parts[0] + "+" + parts[1], "got 2 parts"),
                (String(repeating: "a", count: 513), "at most 512 bytes"),
                ("\(parts[0])+\(parts[1].uppercased())+\(parts[2])", "8 lower-case hex digits"),
                ("\(parts[0])+\(parts[1])+\(parts[2])=", "not canonical base64"),
            ] {
                XCTAssertThrowsError(try parse(text)) { error in
                    XCTAssertTrue((error as? LogError)?.reason.contains(reason) == true, "\(text.prefix(40)): \(error)")
                }
            }
        }
    }
}
