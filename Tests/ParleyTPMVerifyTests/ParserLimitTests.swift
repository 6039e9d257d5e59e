import ParleyTPMVerify
import XCTest

/// Parser behaviour on hand-built bytes: truncation, caps, trailing data, unsupported algorithms.
final class ParserLimitTests: XCTestCase {
    private func u16(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xff)] }
    private func u32(_ value: UInt32) -> [UInt8] { u16(UInt16(value >> 16)) + u16(UInt16(value & 0xffff)) }
    private func sized(_ bytes: [UInt8]) -> [UInt8] { u16(UInt16(bytes.count)) + bytes }

    /// A TPMT_PUBLIC for an ECDSA-SHA256 P-256 key with dummy coordinates.
    private func eccPublicArea(x: [UInt8] = .init(repeating: 1, count: 32)) -> [UInt8] {
        u16(0x0023) + u16(0x000B) + u32(0x0005_0072) + sized([])
            + u16(0x0010) + u16(0x0018) + u16(0x000B) + u16(0x0003) + u16(0x0010)
            + sized(x) + sized(.init(repeating: 2, count: 32))
    }

    /// A quote TPMS_ATTEST selecting sha256 PCR 23.
    private func quoteAttest(extraData: [UInt8] = .init(repeating: 7, count: 16)) -> [UInt8] {
        u32(0xff54_4347) + u16(0x8018) + sized(.init(repeating: 3, count: 34)) + sized(extraData)
            + [UInt8](repeating: 0, count: 8) + u32(1) + u32(2) + [1] + [UInt8](repeating: 0, count: 8)
            + u32(1) + u16(0x000B) + [3, 0, 0, 0x80] + sized(.init(repeating: 9, count: 32))
    }

    func testParsesAHandBuiltPublicArea() throws {
        let area = try TPMECCPublicArea.parse(tpm2bPublic: sized(eccPublicArea()))
        XCTAssertEqual(area.attributes, [.fixedTPM, .fixedParent, .sensitiveDataOrigin, .userWithAuth,
                                         .restricted, .sign])
        XCTAssertEqual(area.curve, .nistP256)
        XCTAssertEqual(area.schemeHash, .sha256)
        XCTAssertEqual(area.x.count, 32)
    }

    func testParsesAHandBuiltQuote() throws {
        let attest = try TPMAttestation.parse(quoteAttest())
        XCTAssertEqual(attest.magic, TPMConstants.generatedValue)
        XCTAssertEqual(attest.type, .attestQuote)
        XCTAssertEqual(attest.clockInfo.resetCount, 1)
        XCTAssertEqual(attest.clockInfo.restartCount, 2)
        XCTAssertTrue(attest.clockInfo.safe)
        XCTAssertEqual(attest.quote?.pcrSelection, [TPMPCRSelection(hash: .sha256, bitmap: [0, 0, 0x80])])
        XCTAssertEqual(attest.quote?.pcrSelection.first?.indices, [23])
    }

    func testEveryTruncationIsMalformed() {
        let attest = quoteAttest()
        for length in 0..<attest.count {
            XCTAssertThrowsError(try TPMAttestation.parse(Array(attest.prefix(length)))) { error in
                XCTAssertEqual((error as? TPMEvidenceError)?.code, .malformed, "length \(length)")
            }
        }
        let publicKey = sized(eccPublicArea())
        for length in 0..<publicKey.count {
            XCTAssertThrowsError(try TPMECCPublicArea.parse(tpm2bPublic: Array(publicKey.prefix(length))))
        }
    }

    func testTrailingBytesAreMalformed() {
        XCTAssertThrowsError(try TPMAttestation.parse(quoteAttest() + [0])) { error in
            XCTAssertEqual((error as? TPMEvidenceError)?.code, .malformed)
        }
        XCTAssertThrowsError(try TPMECDSASignature.parse(u16(0x0018) + u16(0x000B) + sized([1]) + sized([2]) + [0]))
    }

    func testCapsAreEnforced() {
        XCTAssertThrowsError(try TPMAttestation.parse(quoteAttest(extraData: .init(repeating: 0, count: 65)))) { error in
            XCTAssertEqual((error as? TPMEvidenceError)?.code, .limitExceeded)
        }
        XCTAssertThrowsError(try TPMAttestation.parse([UInt8](repeating: 0, count: 4096))) { error in
            XCTAssertEqual((error as? TPMEvidenceError)?.code, .limitExceeded)
        }
        XCTAssertThrowsError(try TPMECCPublicArea.parse(tpm2bPublic: sized(eccPublicArea(x: .init(repeating: 1, count: 67))))) { error in
            XCTAssertEqual((error as? TPMEvidenceError)?.code, .limitExceeded)
        }
        let manyBanks = u32(0xff54_4347) + u16(0x8018) + sized([]) + sized([]) + [UInt8](repeating: 0, count: 25)
            + u32(1000)
        XCTAssertThrowsError(try TPMAttestation.parse(manyBanks)) { error in
            XCTAssertEqual((error as? TPMEvidenceError)?.code, .limitExceeded)
        }
    }

    func testUnsupportedAlgorithmsAreNamed() {
        XCTAssertThrowsError(try TPMECDSASignature.parse(u16(0x0014) + u16(0x000B) + sized([1]))) { error in
            XCTAssertEqual((error as? TPMEvidenceError)?.code, .unsupported)
        }
        var rsa = eccPublicArea()
        rsa[1] = 0x01
        XCTAssertThrowsError(try TPMECCPublicArea.parse(tpmtPublic: rsa)) { error in
            XCTAssertEqual((error as? TPMEvidenceError)?.code, .unsupported)
        }
    }

    func testVerifierRefusesAForgedQuoteWithoutThrowing() throws {
        let signature = u16(0x0018) + u16(0x000B) + sized(.init(repeating: 1, count: 32))
            + sized(.init(repeating: 1, count: 32))
        let quote = try UnverifiedTPMQuote(attest: quoteAttest(), signature: signature,
                                           akPublic: sized(eccPublicArea()),
                                           pcrs: [23: .init(repeating: 0, count: 32)])
        let failures = TPMQuoteVerifier(expectedNonce: .init(repeating: 7, count: 16)).verify(quote).failures
        // The dummy point is not on the curve, and the digest of zeros is not 0x09…
        XCTAssertEqual(failures.count, 2, "\(failures)")
        XCTAssertEqual(failures.last, .pcrDigestMismatch)
    }
}
