import Foundation
import ParleyAttestation
import ParleyCore
import ParleyQuoting
import XCTest

/// A failure of the verifier itself is its own verdict, never "bad evidence": the party is told
/// that nothing is trusted and that the evidence was not at fault.
final class VerifierFailureTests: XCTestCase {
    let t0 = Date(timeIntervalSince1970: 1_780_000_000)

    /// A ledger whose disk is gone: it remembers nothing and cannot write.
    struct BrokenLedger: NonceLedger {
        struct DiskFull: Error, CustomStringConvertible { var description: String { "no space left on device" } }
        func contains(_ nonce: Nonce, now: Date) -> Bool { false }
        mutating func record(_ nonce: Nonce, at time: Date) throws { throw DiskFull() }
    }

    func testAnUnwritableNonceLedgerIsAVerifierFailureNotARefusal() throws {
        let dir = try makeDirectory(self)
        let ca = try SoftwareQuotingCA.openOrCreate(dataDirectory: dir, now: t0)
        let claims = try sampleClaims()
        let policy = try AppraisalPolicy(quote: .software, module: MeasurementDigest(bytes: .init(repeating: 2, count: 48)),
                                         runtime: [MeasurementDigest(bytes: .init(repeating: 1, count: 48))],
                                         anchors: TrustAnchors(quotingRoot: ca.root))
        let verifier = AttestationVerifier(policy: policy, now: t0.addingTimeInterval(5))
        let nonce = Nonce.random()
        let doc = try ca.quote(claims, nonce: nonce, at: t0)
        var broken = BrokenLedger()
        guard case .failed(let failure) = verifier.verify(doc, nonce: nonce, ledger: &broken) else {
            return XCTFail("an unwritable ledger must fail the verifier, not trust or refuse the evidence")
        }
        XCTAssertEqual(failure, .nonceLedger("no space left on device"))
        XCTAssertEqual(failure.code, "verifier.nonceLedger")
        XCTAssertTrue(failure.description.contains("not a fault in the evidence"), failure.description)
        // Bad evidence is still refused as such, whatever the ledger.
        guard case .refused(let reasons) = verifier.verify(doc, nonce: Nonce.random(), ledger: &broken) else {
            return XCTFail("a document for another nonce must be refused")
        }
        XCTAssertEqual(reasons, [.integrity(.nonceMismatch)])
        // And good evidence with a working ledger is trusted.
        var ledger = InMemoryNonceLedger()
        guard case .trusted = verifier.verify(doc, nonce: nonce, ledger: &ledger) else { return XCTFail("a genuine document must pass") }
    }
}
