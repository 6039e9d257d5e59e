import ParleyTestSupport
import ParleyTPM
import ParleyTPMVerify
import XCTest

final class QuoteVerificationTests: XCTestCase {
    private var environment: TPMTestEnvironment!
    private var client: TPMClient!
    private var key: AttestationKeyPublic!

    override func setUpWithError() throws {
        environment = try TPMTestEnvironment()
        client = try environment.client()
        key = try client.attestationKey()
        try client.resetPCR(23)
        try client.extendPCR(23, with: sha256(Array("launch event".utf8)))
    }

    override func tearDown() {
        client = nil
        environment?.shutdown()
        environment = nil
    }

    private func verify(_ quote: TPMQuote, attest: [UInt8]? = nil, pcrs: [Int: [UInt8]]? = nil,
                        key: AttestationKeyPublic? = nil, nonce: [UInt8]? = nil) throws -> TPMQuoteVerdict {
        let unverified = try UnverifiedTPMQuote(
            attest: attest ?? quote.attest, signature: quote.signature,
            akPublic: (key ?? self.key).tpm2bPublic, pcrs: pcrs ?? quote.pcrs)
        return TPMQuoteVerifier(expectedNonce: nonce ?? quote.nonce).verify(unverified)
    }

    private func isSignatureInvalid(_ failure: TPMQuoteFailure) -> Bool {
        if case .signatureInvalid = failure { return true }
        return false
    }

    func testQuoteVerifies() throws {
        let nonce = randomBytes(32)
        let quote = try client.quote(nonce: nonce)
        let verdict = try verify(quote)
        let verified = try XCTUnwrap(verdict.verifiedQuote, "\(verdict.failures)")
        XCTAssertEqual(verified.attestation.extraData, nonce)
        XCTAssertEqual(verified.pcrs, quote.pcrs)
        XCTAssertEqual(verified.pcrs[23], try client.readPCRs([23])[23])
        XCTAssertEqual(verified.attestation.quote?.pcrSelection.first?.indices, [23])
    }

    func testQuoteOverSeveralPCRsAndNonceSizes() throws {
        for size in [16, 64] {
            let quote = try client.quote(nonce: randomBytes(size), pcrs: [0, 7, 16, 23])
            XCTAssertEqual(quote.pcrs.keys.sorted(), [0, 7, 16, 23])
            let verdict = try verify(quote)
            XCTAssertNotNil(verdict.verifiedQuote, "\(verdict.failures)")
        }
    }

    func testNonceSizeIsChecked() {
        for size in [0, 15, 65] {
            XCTAssertThrowsError(try client.quote(nonce: randomBytes(size))) { error in
                XCTAssertEqual((error as? TPMError)?.code, .invalidArgument)
            }
        }
    }

    func testTamperedAttestByteIsRefused() throws {
        let quote = try client.quote(nonce: randomBytes(32))
        let parsed = try TPMAttestation.parse(quote.attest)
        // First byte of clockInfo.clock: still parses, only the signature can notice.
        let clockOffset = 4 + 2 + 2 + parsed.qualifiedSigner.count + 2 + parsed.extraData.count
        var tampered = quote.attest
        tampered[clockOffset + 7] ^= 0x01
        let failures = try verify(quote, attest: tampered).failures
        XCTAssertEqual(failures.count, 1, "\(failures)")
        XCTAssertTrue(failures.first.map(isSignatureInvalid) ?? false, "\(failures)")
    }

    func testWrongNonceIsRefused() throws {
        let quote = try client.quote(nonce: randomBytes(32))
        XCTAssertEqual(try verify(quote, nonce: randomBytes(32)).failures, [.nonceMismatch])
    }

    func testChangedPCRValueIsRefused() throws {
        let quote = try client.quote(nonce: randomBytes(32))
        var pcrs = quote.pcrs
        pcrs[23] = sha256(Array("another launch".utf8))
        XCTAssertEqual(try verify(quote, pcrs: pcrs).failures, [.pcrDigestMismatch])
    }

    func testPCRSetMismatchIsRefused() throws {
        let quote = try client.quote(nonce: randomBytes(32), pcrs: [16, 23])
        var extra = quote.pcrs
        extra[7] = [UInt8](repeating: 0, count: 32)
        XCTAssertEqual(try verify(quote, pcrs: extra).failures, [.pcrNotQuoted(7)])

        var missing = quote.pcrs
        missing[16] = nil
        XCTAssertEqual(try verify(quote, pcrs: missing).failures, [.pcrNotSupplied(16)])

        var short = quote.pcrs
        short[23] = [1, 2, 3]
        XCTAssertEqual(try verify(quote, pcrs: short).failures, [.pcrValueMalformed(index: 23, length: 3)])
    }

    func testUnrestrictedKeyIsRefused() throws {
        // The TPM signs a quote with an unrestricted key too; only the verifier can refuse it.
        let unrestricted = try client.attestationKey(.unrestrictedSigningKey)
        let quote = try client.quote(nonce: randomBytes(32), key: .unrestrictedSigningKey)
        XCTAssertEqual(try verify(quote, key: unrestricted).failures,
                       [.attestationKeyAttributesMissing(.restricted)])
        // And with the attestation key's public the signature itself is wrong.
        let failures = try verify(quote).failures
        XCTAssertTrue(failures.contains(where: isSignatureInvalid), "\(failures)")
    }

    func testWrongMagicIsRefusedWithEveryFailureListed() throws {
        let quote = try client.quote(nonce: randomBytes(32))
        var tampered = quote.attest
        tampered[0] = 0x00
        let failures = try verify(quote, attest: tampered).failures
        XCTAssertEqual(failures.count, 2, "\(failures)")
        XCTAssertTrue(isSignatureInvalid(failures[0]), "\(failures)")
        XCTAssertEqual(failures[1], .wrongMagic(0x0054_4347))
    }

    func testWrongTypeIsRefused() throws {
        let quote = try client.quote(nonce: randomBytes(32))
        var tampered = quote.attest
        tampered[5] = 0x17  // TPM_ST_ATTEST_CERTIFY
        let failures = try verify(quote, attest: tampered).failures
        XCTAssertEqual(failures.count, 2, "\(failures)")
        XCTAssertTrue(isSignatureInvalid(failures[0]), "\(failures)")
        XCTAssertEqual(failures[1], .wrongType(.attestCertify))
    }

    func testFailuresHaveEnglishReasons() throws {
        let quote = try client.quote(nonce: randomBytes(32))
        let failures = try verify(quote, nonce: randomBytes(32)).failures
        XCTAssertEqual(failures.map(\.description),
                       ["quote nonce (extraData) is not the expected nonce: the quote is stale or replayed"])
    }
}
