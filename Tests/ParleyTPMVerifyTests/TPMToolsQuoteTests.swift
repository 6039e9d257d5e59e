import ParleyTestSupport
import ParleyTPMVerify
import XCTest

/// The verifier against a quote produced by tpm2-tools, an independent implementation
/// (see Scripts/make-tpm-tools-quote-fixture.sh). Needs no TPM.
final class TPMToolsQuoteTests: XCTestCase {
    private func bytes(_ hex: String) -> [UInt8] {
        var result: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            result.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        return result
    }

    private var pcrs: [Int: [UInt8]] {
        [16: bytes(TPMToolsQuoteFixture.pcr16), 23: bytes(TPMToolsQuoteFixture.pcr23)]
    }

    private func verdict(attest: [UInt8]? = nil, pcrs: [Int: [UInt8]]? = nil,
                         nonce: [UInt8]? = nil) throws -> TPMQuoteVerdict {
        let quote = try UnverifiedTPMQuote(
            attest: attest ?? bytes(TPMToolsQuoteFixture.attest),
            signature: bytes(TPMToolsQuoteFixture.signature),
            akPublic: bytes(TPMToolsQuoteFixture.akPublic), pcrs: pcrs ?? self.pcrs)
        return TPMQuoteVerifier(expectedNonce: nonce ?? bytes(TPMToolsQuoteFixture.nonce)).verify(quote)
    }

    func testTPMToolsQuoteVerifies() throws {
        let result = try verdict()
        let verified = try XCTUnwrap(result.verifiedQuote, "\(result.failures)")
        XCTAssertEqual(verified.attestation.quote?.pcrSelection.first?.indices, [16, 23])
        XCTAssertEqual(verified.attestationKey.attributes,
                       [.fixedTPM, .fixedParent, .sensitiveDataOrigin, .userWithAuth, .restricted, .sign])
    }

    func testFixtureRefusals() throws {
        XCTAssertEqual(try verdict(nonce: .init(repeating: 0, count: 32)).failures, [.nonceMismatch])
        var changed = pcrs
        changed[16] = .init(repeating: 1, count: 32)
        XCTAssertEqual(try verdict(pcrs: changed).failures, [.pcrDigestMismatch])
        XCTAssertEqual(try verdict(pcrs: [23: pcrs[23]!]).failures, [.pcrNotSupplied(16)])
    }

    /// Every single-bit flip of the attest bytes either fails to parse or is refused; none
    /// crashes or verifies.
    func testEveryBitFlipOfTheAttestIsRejected() throws {
        let attest = bytes(TPMToolsQuoteFixture.attest)
        for index in attest.indices {
            for bit in 0..<8 {
                var mutated = attest
                mutated[index] ^= UInt8(1 << bit)
                guard let result = try? verdict(attest: mutated) else { continue }
                XCTAssertNil(result.verifiedQuote, "flip of bit \(bit) at \(index) verified")
                XCTAssertFalse(result.failures.isEmpty)
            }
        }
    }

    /// Random truncations and garbage never crash the parsers.
    func testRandomInputNeverCrashesTheParsers() {
        var generator = SplitMix64(seed: 0x5041_524c_4559)
        let attest = bytes(TPMToolsQuoteFixture.attest)
        let key = bytes(TPMToolsQuoteFixture.akPublic)
        for _ in 0..<2000 {
            var input = Bool.random(using: &generator) ? attest : key
            input = Array(input.prefix(Int.random(in: 0...input.count, using: &generator)))
            for _ in 0..<Int.random(in: 0...4, using: &generator) where !input.isEmpty {
                input[Int.random(in: 0..<input.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            }
            _ = try? TPMAttestation.parse(input)
            _ = try? TPMECCPublicArea.parse(tpm2bPublic: input)
            _ = try? TPMECDSASignature.parse(input)
        }
    }
}
