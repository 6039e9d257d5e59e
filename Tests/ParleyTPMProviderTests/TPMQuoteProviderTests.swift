import Crypto
import Foundation
import ParleyAttestation
import ParleyCore
import ParleyHostTesting
import ParleyTestSupport
import ParleyTPM
import ParleyTPMProvider
import XCTest

/// The TPM quote provider on a private swtpm: the good path on the real TPM, the bad paths
/// through ``FaultyTPMChannel``.
final class TPMQuoteProviderTests: XCTestCase {
    let t0 = Date(timeIntervalSince1970: 1_780_000_000)
    var environment: TPMTestEnvironment!
    var dir = ""

    override func setUpWithError() throws {
        environment = try TPMTestEnvironment(privateTPM: true)
        let env = environment!
        addTeardownBlock { env.shutdown() }
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("parley-tpmp-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { [dir] in try? FileManager.default.removeItem(atPath: dir) }
    }

    func claims(_ job: String) throws -> LaunchClaims {
        LaunchClaims(job: job, runtime: MeasurementDigest.of(Array("runtime".utf8)), module: MeasurementDigest.of(Array("module".utf8)),
                     moduleSigner: MeasurementDigest.of(Array("signer".utf8)), debug: false,
                     publicKey: Array(Curve25519.KeyAgreement.PrivateKey().publicKey.rawRepresentation),
                     signingKey: Array(P384.Signing.PrivateKey().publicKey.derRepresentation))
    }

    func faulty() throws -> FaultyTPMChannel { FaultyTPMChannel(TPMClientChannel(try environment.client())) }

    func provider(_ tpm: FaultyTPMChannel) throws -> TPMQuoteProvider {
        try TPMQuoteProvider(channel: tpm, name: "fake-tpm", dataDirectory: dir, now: { [t0] in t0 })
    }

    func testEvidenceFromTheRealTPMIsTrustedByAPartyPinningItsKey() throws {
        let p = try TPMQuoteProvider(tcti: environment.tcti, dataDirectory: dir, now: { [t0] in t0 })
        let c = try claims("job-good")
        try p.recordLaunch(c)
        let nonce = Nonce.random()
        let evidence = try p.evidence(job: "job-good", nonce: nonce)
        let ak = try ECVerifyingKey(pem: try String(contentsOfFile: TPMQuoteProvider.attestationKeyPath(in: dir), encoding: .utf8)).derRepresentation
        let policy = try AppraisalPolicy(quote: .tpm, module: c.module, runtime: [c.runtime], anchors: TrustAnchors(tpmAttestationKey: ak),
                                         platform: nil, allowUnappraisedTPM: true)
        var ledger = InMemoryNonceLedger()
        guard case .trusted(let r) = AttestationVerifier(policy: policy, now: t0).verify(evidence, nonce: nonce, ledger: &ledger) else {
            return XCTFail("genuine evidence of a measured launch must be trusted")
        }
        XCTAssertEqual(r.claims, c)
        var again = InMemoryNonceLedger()
        guard case .refused = AttestationVerifier(policy: policy, now: t0).verify(evidence, nonce: Nonce.random(), ledger: &again) else {
            return XCTFail("evidence for another nonce must be refused")
        }
    }

    func testAnUnreachableTPMStopsTheHostNamingTheTPM() throws {
        let tpm = try faulty()
        tpm.unreachable = true
        XCTAssertThrowsError(try provider(tpm)) {
            let e = $0 as? ParleyError
            XCTAssertEqual(e?.code, .io)
            XCTAssertEqual(e?.reason, "TPM at fake-tpm: connection refused")
        }
    }

    func testAQuoteTheTPMRefusesIsAnIOErrorNotBadEvidence() throws {
        let tpm = try faulty()
        let p = try provider(tpm)
        try p.recordLaunch(try claims("job-q"))
        tpm.failQuotes = true
        XCTAssertThrowsError(try p.evidence(job: "job-q", nonce: Nonce.random())) {
            XCTAssertEqual(($0 as? ParleyError)?.code, .io)
            XCTAssertEqual(($0 as? ParleyError)?.reason, "TPM quote failed: TPM_RC_RETRY")
        }
        tpm.failQuotes = false
        XCTAssertNoThrow(try p.evidence(job: "job-q", nonce: Nonce.random()), "the TPM's fault passes; the provider did not break")
        XCTAssertThrowsError(try p.evidence(job: "job-never", nonce: Nonce.random())) {
            XCTAssertEqual(($0 as? ParleyError)?.code, .malformed, "no evidence for a job that was never measured")
        }
    }

    func testALaunchWhoseExtendFailsIsNotEvidencedAndTheNextStartRepairsTheLog() throws {
        var tpm: FaultyTPMChannel? = try faulty()
        var p: TPMQuoteProvider? = try provider(tpm!)
        try p?.recordLaunch(try claims("job-ok"))
        tpm?.failExtends = true
        XCTAssertThrowsError(try p?.recordLaunch(try claims("job-lost"))) {
            XCTAssertEqual(($0 as? ParleyError)?.reason, "extending PCR 13 failed: TPM_RC_LOCALITY")
        }
        XCTAssertEqual(p?.eventLog.count, 3, "the event was appended before the extend failed")
        let epoch = p?.epoch
        (p, tpm) = (nil, nil) // the host restarts (one TPM connection at a time)
        // The log's last event was appended but never extended, so it is cut.
        let reopened = try provider(try faulty())
        XCTAssertEqual(reopened.epoch, epoch, "same TPM boot, same epoch")
        XCTAssertEqual(reopened.eventLog.count, 2)
        XCTAssertNoThrow(try reopened.evidence(job: "job-ok", nonce: Nonce.random()))
        XCTAssertThrowsError(try reopened.evidence(job: "job-lost", nonce: Nonce.random()), "a launch the PCR never saw has no evidence")
    }

    func testAPCRTheLogDoesNotExplainStopsTheHost() throws {
        _ = try provider(try faulty())
        let tpm = try faulty()
        tpm.pcr13 = [UInt8](repeating: 0xee, count: 32)
        XCTAssertThrowsError(try provider(tpm)) {
            XCTAssertEqual(($0 as? ParleyError)?.code, .verificationFailed)
            XCTAssertTrue(($0 as? ParleyError)?.reason.contains("does not explain") ?? false)
        }
        XCTAssertEqual(tpm.extends, 0, "a host that refuses to start extends nothing")
    }
}
