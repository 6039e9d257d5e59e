import ParleyTestSupport
import ParleyTPM
import ParleyTPMVerify
import XCTest

final class AttestationKeyTests: XCTestCase {
    private var environment: TPMTestEnvironment!

    override func setUpWithError() throws {
        environment = try TPMTestEnvironment()
    }

    override func tearDown() {
        environment?.shutdown()
        environment = nil
    }

    func testSameKeyTwiceAndFromASecondClient() throws {
        let first = try environment.client().attestationKey()
        let client = try environment.client()
        let second = try client.attestationKey()
        try client.flushLoadedKeys()
        let third = try client.attestationKey()
        XCTAssertEqual(first, second)
        XCTAssertEqual(second, third)
    }

    func testSameKeyAcrossSwtpmRestart() throws {
        // A private swtpm, since an external one cannot be restarted from here.
        let own = try TPMTestEnvironment(privateTPM: true)
        defer { own.shutdown() }
        guard let swtpm = own.softwareTPM else { return XCTFail("a private swtpm must have started") }
        let before = try own.client().attestationKey()
        try swtpm.restart()
        let after = try own.client().attestationKey()
        XCTAssertEqual(before.tpm2bPublic, after.tpm2bPublic)
        XCTAssertEqual(before.pem, after.pem)
    }

    func testAttestationKeyHasTheRequiredShape() throws {
        let key = try environment.client().attestationKey()
        let area = try TPMECCPublicArea.parse(tpm2bPublic: key.tpm2bPublic)
        let expected: TPMObjectAttributes = [.fixedTPM, .fixedParent, .sensitiveDataOrigin,
                                             .userWithAuth, .restricted, .sign]
        XCTAssertEqual(area.attributes, expected)
        XCTAssertEqual(area.nameAlgorithm, .sha256)
        XCTAssertEqual(area.scheme, .ecdsa)
        XCTAssertEqual(area.schemeHash, .sha256)
        XCTAssertEqual(area.curve, .nistP256)
        XCTAssertEqual(area.symmetric, .null)
        XCTAssertEqual(area.x, key.x)
        XCTAssertEqual(area.y, key.y)
        XCTAssertTrue(key.pem.hasPrefix("-----BEGIN PUBLIC KEY-----\n"))
        XCTAssertTrue(key.pem.hasSuffix("-----END PUBLIC KEY-----\n"))
    }

    func testUnrestrictedKeyDiffersAndLacksRestricted() throws {
        let client = try environment.client()
        let ak = try client.attestationKey()
        let unrestricted = try client.attestationKey(.unrestrictedSigningKey)
        XCTAssertNotEqual(ak.tpm2bPublic, unrestricted.tpm2bPublic)
        let area = try TPMECCPublicArea.parse(tpm2bPublic: unrestricted.tpm2bPublic)
        XCTAssertFalse(area.attributes.contains(.restricted))
        XCTAssertTrue(area.attributes.contains(.sign))
    }
}
