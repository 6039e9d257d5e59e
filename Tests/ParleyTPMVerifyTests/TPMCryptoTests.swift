import Crypto
@testable import ParleyTPMVerify
import XCTest

/// The verifier's ECDSA P-256 and SHA-256, on swift-crypto: raw TPM points and (r, s) pairs
/// as the TPM marshals them, and every way they can be wrong.
final class TPMCryptoTests: XCTestCase {
    private let message = Array("TPMS_ATTEST bytes".utf8)

    private func signed(_ message: [UInt8]) throws -> (x: [UInt8], y: [UInt8], r: [UInt8], s: [UInt8]) {
        let key = P256.Signing.PrivateKey()
        let point = Array(key.publicKey.x963Representation)
        let raw = Array(try key.signature(for: message).rawRepresentation)
        return (Array(point[1...32]), Array(point[33...64]), Array(raw[0..<32]), Array(raw[32..<64]))
    }

    func testAValidSignatureVerifies() throws {
        let k = try signed(message)
        XCTAssertEqual(TPMCrypto.verifyECDSAP256SHA256(x: k.x, y: k.y, r: k.r, s: k.s, message: message), .valid)
    }

    /// TPM2B values may drop leading zeros or carry extra ones; the value is what counts.
    func testShortAndZeroPaddedScalarsAreTheSameValue() throws {
        let k = try signed(message)
        XCTAssertEqual(TPMCrypto.verifyECDSAP256SHA256(x: [0, 0] + k.x, y: [0] + k.y, r: [0] + k.r, s: [0, 0, 0] + k.s, message: message), .valid)
        var r = k.r
        r[0] = 0 // a signature whose r happens to start with a zero byte, sent without it
        XCTAssertEqual(TPMCrypto.verifyECDSAP256SHA256(x: k.x, y: k.y, r: Array(r.dropFirst()), s: k.s, message: message),
                       TPMCrypto.verifyECDSAP256SHA256(x: k.x, y: k.y, r: r, s: k.s, message: message))
    }

    func testRefusals() throws {
        let k = try signed(message)
        XCTAssertEqual(TPMCrypto.verifyECDSAP256SHA256(x: k.x, y: k.y, r: k.r, s: k.s, message: message + [0]),
                       .invalid("ECDSA signature does not verify with the key"))
        var s = k.s
        s[31] ^= 1
        XCTAssertEqual(TPMCrypto.verifyECDSAP256SHA256(x: k.x, y: k.y, r: k.r, s: s, message: message),
                       .invalid("ECDSA signature does not verify with the key"))
        var y = k.y
        y[31] ^= 1
        XCTAssertEqual(TPMCrypto.verifyECDSAP256SHA256(x: k.x, y: y, r: k.r, s: k.s, message: message),
                       .invalid("public key is not a valid P-256 point"))
        XCTAssertEqual(TPMCrypto.verifyECDSAP256SHA256(x: [1] + k.x, y: k.y, r: k.r, s: k.s, message: message),
                       .invalid("public key coordinates are longer than 32 bytes"))
        XCTAssertEqual(TPMCrypto.verifyECDSAP256SHA256(x: k.x, y: k.y, r: [1] + k.r, s: k.s, message: message),
                       .invalid("r or s is not a valid integer"))
        XCTAssertEqual(TPMCrypto.verifyECDSAP256SHA256(x: k.x, y: k.y, r: [0xff] + k.r, s: k.s, message: message),
                       .invalid("r or s is not a valid integer"))
        XCTAssertNotEqual(TPMCrypto.verifyECDSAP256SHA256(x: k.x, y: k.y, r: [0], s: k.s, message: message), .valid)
        XCTAssertNotEqual(TPMCrypto.verifyECDSAP256SHA256(x: k.x, y: k.y, r: k.s, s: k.r, message: message), .valid)
    }

    func testSHA256KnownAnswer() {
        // FIPS 180-2 example: SHA-256("abc").
        XCTAssertEqual(TPMCrypto.sha256(Array("abc".utf8)).map { String(format: "%02x", $0) }.joined(),
                       "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }
}
