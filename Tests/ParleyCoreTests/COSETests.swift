import Crypto
import Foundation
import XCTest
@testable import ParleyCore

final class COSETests: XCTestCase {
    private func vector() throws -> [String: String] {
        var out: [String: String] = [:]
        for line in try fixtureText("cose/rfc9052-c2.1.txt").split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
            out[parts[0]] = parts[1]
        }
        return out
    }

    /// RFC 9052 Appendix C.2.1: our Sig_structure matches the RFC's, byte for byte, or the
    /// RFC's own ECDSA signature would not verify.
    func testRFC9052SingleSignerExampleVerifies() throws {
        let v = try vector()
        let key = try P256.Signing.PublicKey(rawRepresentation: hex(v["x"]! + v["y"]!))
        let message = try COSESign1(bytes: hex(v["message"]!))
        XCTAssertEqual(message.algorithm, .es256)
        XCTAssertEqual(message.unprotectedHeader[.unsigned(4)], .bytes(Array("11".utf8)))
        guard case .valid(let verified) = message.verify(with: .p256(key)) else {
            return XCTFail("the RFC 9052 C.2.1 example must verify")
        }
        XCTAssertEqual(String(decoding: verified.payload, as: UTF8.self), v["payload"])
        // With external AAD the same signature no longer verifies.
        guard case .invalid(.signatureMismatch) = message.verify(with: .p256(key), externalAAD: [1]) else {
            return XCTFail("external AAD must be bound into the signature")
        }
    }

    func testSignAndVerifyBothAlgorithms() throws {
        for key in [ECSigningKey.p256(.init()), .p384(.init())] {
            let payload = CBOREncoder.encode(.textMap(["format": .text("parley/test/1")]))
            let signed = try COSESign1.sign(payload: payload, with: key, unprotected: [.unsigned(4): .bytes([7])], externalAAD: [9])
            let parsed = try COSESign1(bytes: signed)
            XCTAssertEqual(parsed.algorithm, key.algorithm)
            guard case .valid(let v) = parsed.verify(with: key.publicKey, externalAAD: [9]) else {
                return XCTFail("own signature must verify")
            }
            XCTAssertEqual(v.payload, payload)
            // Deterministic encoding: the bytes re-encode identically.
            XCTAssertEqual(CBOREncoder.encode(try CBORDecoder().decode(signed)), signed)
        }
    }

    func testRefusesAlgorithmOtherThanTheKeys() throws {
        let signed = try COSESign1.sign(payload: [1, 2, 3], with: .p256(.init()))
        let other = ECSigningKey.p384(.init())
        guard case .invalid(.algorithmMismatch(header: .es256, key: .es384)) = try COSESign1(bytes: signed).verify(with: other.publicKey) else {
            return XCTFail("an ES256 message must not verify with a P-384 key")
        }
    }

    func testRefusesWrongKeyAndEveryFlippedByte() throws {
        let key = ECSigningKey.p384(.init())
        let signed = try COSESign1.sign(payload: Array("payload".utf8), with: key)
        guard case .invalid(.signatureMismatch) = try COSESign1(bytes: signed).verify(with: ECSigningKey.p384(.init()).publicKey) else {
            return XCTFail("another key must not verify")
        }
        for i in 0..<signed.count {
            var bad = signed
            bad[i] ^= 0x01
            guard let parsed = try? COSESign1(bytes: bad) else { continue } // structural damage: refused at parse
            if case .valid = parsed.verify(with: key.publicKey) {
                XCTFail("flipping byte \(i) still verified")
            }
        }
        for cut in 0..<signed.count {
            XCTAssertThrowsError(try COSESign1(bytes: Array(signed.prefix(cut))))
        }
    }

    func testRefusesStructuralDefects() throws {
        let protected = CBOREncoder.encode(.map([.unsigned(1): .int(-7)]))
        func message(_ parts: [CBOR], tag: UInt64? = 18) -> [UInt8] {
            CBOREncoder.encode(tag.map { .tagged($0, .array(parts)) } ?? .array(parts))
        }
        let good: [CBOR] = [.bytes(protected), .map([:]), .bytes([1]), .bytes([UInt8](repeating: 0, count: 64))]
        XCTAssertNoThrow(try COSESign1(bytes: message(good)))
        assertRefused(.malformed, try COSESign1(bytes: message(good, tag: nil)))        // untagged
        assertRefused(.malformed, try COSESign1(bytes: message(good, tag: 98)))         // COSE_Sign, not Sign1
        assertRefused(.malformed, try COSESign1(bytes: message(Array(good.prefix(3))))) // 3 items
        var detached = good; detached[2] = .null
        assertRefused(.unsupported, try COSESign1(bytes: message(detached)))
        var crit = good; crit[0] = .bytes(CBOREncoder.encode(.map([.unsigned(1): .int(-7), .unsigned(2): .array([.unsigned(99)])])))
        assertRefused(.unsupported, try COSESign1(bytes: message(crit)))
        var eddsa = good; eddsa[0] = .bytes(CBOREncoder.encode(.map([.unsigned(1): .int(-8)])))
        assertRefused(.unsupported, try COSESign1(bytes: message(eddsa)))
        var noAlg = good; noAlg[0] = .bytes(CBOREncoder.encode(.map([.unsigned(4): .bytes([1])])))
        assertRefused(.malformed, try COSESign1(bytes: message(noAlg)))
        var algUnprotected = good; algUnprotected[1] = .map([.unsigned(1): .int(-7)])
        assertRefused(.malformed, try COSESign1(bytes: message(algUnprotected)))
        var shortSig = good; shortSig[3] = .bytes([1, 2, 3])
        let parsed = try COSESign1(bytes: message(shortSig))
        guard case .invalid(.badSignatureLength(3)) = parsed.verify(with: ECSigningKey.p256(.init()).publicKey) else {
            return XCTFail("a 3-byte signature must be refused by length")
        }
    }

    /// Independent cross-check: the `openssl` CLI verifies our ES384 signature over the
    /// Sig_structure, so our signer does not merely agree with itself.
    func testOpenSSLVerifiesOurSignature() throws {
        let dir = try temporaryDirectory(self)
        let p384 = P384.Signing.PrivateKey()
        let payload = Array("cross-check".utf8)
        let signed = try COSESign1.sign(payload: payload, with: .p384(p384))
        let parsed = try COSESign1(bytes: signed)
        let tbs = COSESign1.sigStructure(protectedBytes: parsed.protectedBytes, externalAAD: [], payload: payload)
        let der = try P384.Signing.ECDSASignature(rawRepresentation: parsed.signature).derRepresentation
        try Data(tbs).write(to: URL(fileURLWithPath: dir + "/tbs"))
        try der.write(to: URL(fileURLWithPath: dir + "/sig"))
        try p384.publicKey.pemRepresentation.write(toFile: dir + "/pub.pem", atomically: true, encoding: .utf8)
        let (ok, out, _) = try runTool("/usr/bin/openssl", ["dgst", "-sha384", "-verify", dir + "/pub.pem", "-signature", dir + "/sig", dir + "/tbs"])
        XCTAssertEqual(ok, 0, out)
        XCTAssertTrue(out.contains("Verified OK"))
        try Data(tbs + [0]).write(to: URL(fileURLWithPath: dir + "/tbs"))
        let (bad, _, _) = try runTool("/usr/bin/openssl", ["dgst", "-sha384", "-verify", dir + "/pub.pem", "-signature", dir + "/sig", dir + "/tbs"])
        XCTAssertNotEqual(bad, 0)
    }
}
