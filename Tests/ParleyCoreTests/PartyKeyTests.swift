import Crypto
import Foundation
import XCTest
@testable import ParleyCore

final class PartyKeyTests: XCTestCase {
    func testPEMRoundTrip() throws {
        let key = PartyPrivateKey()
        let back = try PartyPrivateKey(pem: key.pemRepresentation)
        XCTAssertEqual(back.publicKey, key.publicKey)
        XCTAssertEqual(try PartyPublicKey(pem: key.publicKey.pemRepresentation), key.publicKey)
    }

    /// `openssl pkey` reads both blocks of each file and derives the same public keys.
    func testOpenSSLReadsOurKeyFiles() throws {
        let dir = try temporaryDirectory(self)
        let key = PartyPrivateKey()
        let blocks = try PEM.decodeAll(key.pemRepresentation)
        XCTAssertEqual(blocks.count, 2)
        let pubBlocks = try PEM.decodeAll(key.publicKey.pemRepresentation)
        for (i, block) in blocks.enumerated() {
            let path = dir + "/k\(i).pem"
            try PEM.encode(label: block.label, der: block.der).write(toFile: path, atomically: true, encoding: .utf8)
            let (status, out, err) = try runTool("/usr/bin/openssl", ["pkey", "-in", path, "-pubout", "-outform", "DER"])
            XCTAssertEqual(status, 0, err)
            _ = out
            let (_, pem, _) = try runTool("/usr/bin/openssl", ["pkey", "-in", path, "-pubout"])
            XCTAssertEqual(try PEM.decodeAll(pem)[0].der, pubBlocks[i].der, "public key \(i) differs from openssl's")
        }
    }

    func testRefusesIncompleteOrForeignKeyFiles() throws {
        let key = PartyPrivateKey()
        let onlySigning = key.signing.pemRepresentation
        let e = assertRefused(.badKey, try PartyPrivateKey(pem: onlySigning))
        XCTAssertTrue(e?.reason.contains("X25519") ?? false)
        let p384 = P384.Signing.PrivateKey().pemRepresentation
        assertRefused(.badKey, try PartyPrivateKey(pem: p384))
        assertRefused(.malformed, try PartyPrivateKey(pem: "not a key"))
        assertRefused(.malformed, try PartyPrivateKey(pem: "-----BEGIN PRIVATE KEY-----\nAAAA\n"))
        assertRefused(.malformed, try PartyPrivateKey(pem: "-----BEGIN PRIVATE KEY-----\n!!!\n-----END PRIVATE KEY-----\n"))
    }
}
