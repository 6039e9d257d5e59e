import Crypto
import Foundation
import XCTest
@testable import ParleyCore

final class HPKETests: XCTestCase {
    struct VectorFile: Decodable {
        let source: String
        let vectors: [Vector]
    }
    struct Vector: Decodable {
        let mode: Int, kem_id: Int, kdf_id: Int, aead_id: Int
        let info: String, skRm: String, pkRm: String, enc: String, exporter_secret: String?
        let encryptions: [Encryption]
        let exports: [Export]
    }
    struct Encryption: Decodable { let seq: Int; let aad: String; let ct: String; let pt: String }
    struct Export: Decodable { let exporter_context: String; let L: Int; let exported_value: String }

    /// RFC 9180 test vectors, recipient side: from skRm, enc and info, the first ciphertexts open
    /// to the expected plaintexts in order and every exporter value matches.
    func testRFC9180VectorsOpen() throws {
        let file = try JSONDecoder().decode(VectorFile.self, from: Data(contentsOf: try fixtureURL("hpke/rfc9180-vectors.json")))
        XCTAssertTrue(file.source.contains("9180"))
        var checkedParleySuite = false
        for v in file.vectors {
            XCTAssertEqual([v.mode, v.kem_id, v.kdf_id], [0, 32, 1])
            let aead: HPKE.AEAD = v.aead_id == 2 ? .AES_GCM_256 : .AES_GCM_128
            let suite = HPKE.Ciphersuite(kem: .Curve25519_HKDF_SHA256, kdf: .HKDF_SHA256, aead: aead)
            let sk = try Curve25519.KeyAgreement.PrivateKey(rawRepresentation: hex(v.skRm))
            XCTAssertEqual(Array(sk.publicKey.rawRepresentation), hex(v.pkRm))
            var recipient = try HPKE.Recipient(privateKey: sk, ciphersuite: suite, info: Data(hex(v.info)), encapsulatedKey: Data(hex(v.enc)))
            for (i, e) in v.encryptions.enumerated() {
                XCTAssertEqual(e.seq, i, "vectors must be consecutive from 0")
                XCTAssertEqual(Array(try recipient.open(hex(e.ct), authenticating: hex(e.aad))), hex(e.pt))
            }
            for x in v.exports {
                let secret = try recipient.exportSecret(context: hex(x.exporter_context), outputByteCount: x.L)
                XCTAssertEqual(secret.withUnsafeBytes { Array($0) }, hex(x.exported_value))
            }
            if v.aead_id == 2 {
                checkedParleySuite = true
                // Parley's own suite object is the same one the vector exercises.
                XCTAssertEqual(ParleyHPKE.ciphersuite.aead, .AES_GCM_256)
                XCTAssertEqual(try ParleyHPKE.open(hex(v.enc) + hex(v.encryptions[0].ct), with: sk, info: hex(v.info),
                                                   aad: hex(v.encryptions[0].aad)), hex(v.encryptions[0].pt))
            }
        }
        XCTAssertTrue(checkedParleySuite, "the fixture must hold the X25519/SHA-256/AES-256-GCM vector")
    }

    func testSingleShotRoundTripAndRefusals() throws {
        let k = Curve25519.KeyAgreement.PrivateKey()
        let sealed = try ParleyHPKE.seal(Array("hello".utf8), to: k.publicKey, info: [1], aad: [2])
        XCTAssertEqual(try ParleyHPKE.open(sealed, with: k, info: [1], aad: [2]), Array("hello".utf8))
        assertRefused(.verificationFailed, try ParleyHPKE.open(sealed, with: k, info: [9], aad: [2]))
        assertRefused(.verificationFailed, try ParleyHPKE.open(sealed, with: k, info: [1], aad: [9]))
        assertRefused(.verificationFailed, try ParleyHPKE.open(sealed, with: .init(), info: [1], aad: [2]))
        assertRefused(.malformed, try ParleyHPKE.open(Array(sealed.prefix(40)), with: k, info: [1]))
    }
}
