import CCBOR
import COpenSSL
import CSeccomp
import CTSS2
import Foundation
import XCTest

/// Each system-library shim links and its wrapped macros work.
final class SystemLibraryTests: XCTestCase {
    func testOpenSSLShimGeneratesP384Key() throws {
        guard let key = parley_evp_ec_keygen("P-384") else { return XCTFail("EVP_PKEY_Q_keygen failed") }
        defer { EVP_PKEY_free(key) }
        XCTAssertEqual(EVP_PKEY_get_bits(key), 384)
        XCTAssertGreaterThanOrEqual(OpenSSL_version_num(), 0x3000_0000)
    }

    func testLibcborIsTheExpectedMajorVersion() {
        XCTAssertEqual(CBOR_MAJOR_VERSION, 0)
        XCTAssertGreaterThanOrEqual(CBOR_MINOR_VERSION, 8)
    }

    func testSeccompShimBuildsAFilter() throws {
        guard let ctx = seccomp_init(parley_scmp_act_allow()) else { return XCTFail("seccomp_init failed") }
        defer { seccomp_release(ctx) }
        XCTAssertEqual(seccomp_rule_add_array(ctx, parley_scmp_act_errno(UInt16(EPERM)), seccomp_syscall_resolve_name("socket"), 0, nil), 0)
    }

    func testTSS2ConstantsAndErrorDecoding() {
        XCTAssertEqual(parley_tpm2_generated_value(), 0xff54_4347)
        XCTAssertEqual(parley_tpm2_st_attest_quote(), 0x8018)
        let text = String(cString: Tss2_RC_Decode(0x902))
        XCTAssertTrue(text.contains("0x902") || text.lowercased().contains("object") || text.contains("memory"), text)
    }

    /// The real tpm2-tss stack talks to the swtpm that Scripts/test.sh starts.
    func testTSS2GetRandomFromSoftwareTPM() throws {
        guard let tcti = ProcessInfo.processInfo.environment["PARLEY_TEST_TCTI"] else {
            return XCTFail("PARLEY_TEST_TCTI is not set: run the tests through Scripts/test.sh, which starts swtpm")
        }
        var tctiContext: OpaquePointer?
        XCTAssertEqual(Tss2_TctiLdr_Initialize(tcti, &tctiContext), 0)
        defer { Tss2_TctiLdr_Finalize(&tctiContext) }
        var esys: OpaquePointer?
        XCTAssertEqual(Esys_Initialize(&esys, tctiContext, nil), 0)
        defer { Esys_Finalize(&esys) }
        var random: UnsafeMutablePointer<TPM2B_DIGEST>?
        let rc = Esys_GetRandom(esys, parley_esys_tr_none(), parley_esys_tr_none(), parley_esys_tr_none(), 16, &random)
        XCTAssertEqual(rc, 0, String(cString: Tss2_RC_Decode(rc)))
        defer { Esys_Free(random) }
        XCTAssertEqual(random?.pointee.size, 16)
    }
}
