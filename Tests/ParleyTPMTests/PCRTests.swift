import ParleyTestSupport
import ParleyTPM
import XCTest

final class PCRTests: XCTestCase {
    private var environment: TPMTestEnvironment!
    private var client: TPMClient!

    override func setUpWithError() throws {
        environment = try TPMTestEnvironment()
        client = try environment.client()
        try client.resetPCR(23)
    }

    override func tearDown() {
        client = nil
        environment?.shutdown()
        environment = nil
    }

    func testResetGivesZeros() throws {
        try client.extendPCR(23, with: randomBytes(32))
        try client.resetPCR(23)
        XCTAssertEqual(try client.readPCRs([23]), [23: [UInt8](repeating: 0, count: 32)])
    }

    func testExtendMatchesSHA256OfOldAndDigest() throws {
        var expected = [UInt8](repeating: 0, count: 32)
        for _ in 0..<3 {
            let digest = randomBytes(32)
            try client.extendPCR(23, with: digest)
            expected = sha256(expected + digest)
            XCTAssertEqual(try client.readPCRs([23])[23], expected)
        }
    }

    func testReadsMoreThanEightPCRsAcrossBatches() throws {
        let values = try client.readPCRs(Array(0...23))
        XCTAssertEqual(values.count, 24)
        XCTAssertTrue(values.values.allSatisfy { $0.count == 32 })
    }

    func testRejectsBadArguments() {
        XCTAssertThrowsError(try client.extendPCR(24, with: randomBytes(32))) { error in
            XCTAssertEqual((error as? TPMError)?.code, .invalidArgument)
        }
        XCTAssertThrowsError(try client.extendPCR(23, with: randomBytes(20))) { error in
            XCTAssertEqual((error as? TPMError)?.code, .invalidArgument)
        }
        XCTAssertThrowsError(try client.readPCRs([1, 1])) { error in
            XCTAssertEqual((error as? TPMError)?.code, .invalidArgument)
        }
    }

    func testTPMRefusalCarriesTheDecodedResponseCode() {
        // PCR 0 is not resettable at locality 0: the TPM answers TPM_RC_LOCALITY.
        XCTAssertThrowsError(try client.resetPCR(0)) { error in
            guard let error = error as? TPMError else { return XCTFail("not a TPMError: \(error)") }
            XCTAssertEqual(error.code, .tss)
            XCTAssertNotNil(error.responseCode)
            XCTAssertTrue(error.reason.contains("Esys_PCR_Reset(0)"), error.reason)
            XCTAssertTrue(error.reason.lowercased().contains("locality"), error.reason)
        }
    }
}
