import ParleyTestSupport
import ParleyTPM
import ParleyTPMVerify
import XCTest

/// swtpm has no resource manager: a leaked transient handle would exhaust its object slots
/// (TPM_RC_OBJECT_MEMORY, 0x902) within a few iterations.
final class QuoteLoopTests: XCTestCase {
    private var environment: TPMTestEnvironment!

    override func setUpWithError() throws {
        environment = try TPMTestEnvironment()
    }

    override func tearDown() {
        environment?.shutdown()
        environment = nil
    }

    func testTwoHundredQuotesFromOneClient() throws {
        let client = try environment.client()
        let key = try client.attestationKey()
        for iteration in 0..<200 {
            let nonce = randomBytes(16)
            let quote = try client.quote(nonce: nonce)
            if iteration % 25 == 0 {
                let unverified = try UnverifiedTPMQuote(attest: quote.attest, signature: quote.signature,
                                                        akPublic: key.tpm2bPublic, pcrs: quote.pcrs)
                let verdict = TPMQuoteVerifier(expectedNonce: nonce).verify(unverified)
                XCTAssertNotNil(verdict.verifiedQuote, "iteration \(iteration): \(verdict.failures)")
            }
        }
    }

    func testTwoHundredClientsEachQuotingWithBothKeys() throws {
        for _ in 0..<200 {
            let client = try environment.client()
            _ = try client.quote(nonce: randomBytes(16))
            _ = try client.quote(nonce: randomBytes(16), key: .unrestrictedSigningKey)
        }
    }
}
