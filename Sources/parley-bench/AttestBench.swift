import Crypto
import Foundation
import ParleyAttestation
import ParleyCore
import ParleyTPMProvider

/// Software quote generation and full verification (parse, chain, signature, appraisal) per
/// second; TPM evidence latency through ESAPI when PARLEY_BENCH_TCTI names a TPM.
func benchAttestation() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("parley-bench-\(getpid())").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let now = Date()
    let ca = try SoftwareQuotingCA.openOrCreate(dataDirectory: dir, now: now)
    let claims = LaunchClaims(job: "bench", runtime: .of([1]), module: .of([2]), moduleSigner: .of([3]), debug: false,
                              publicKey: Array(Curve25519.KeyAgreement.PrivateKey().publicKey.rawRepresentation),
                              signingKey: Array(P384.Signing.PrivateKey().publicKey.derRepresentation))
    let policy = try AppraisalPolicy(quote: .software, module: claims.module, runtime: [claims.runtime],
                                     anchors: TrustAnchors(quotingRoot: ca.root))
    measure("attest.sw.quote") { for _ in 0..<50 { _ = try! ca.quote(claims, nonce: .random(), at: now) }; return 50 }
    let nonce = Nonce.random()
    let doc = try ca.quote(claims, nonce: nonce, at: now)
    let verifier = AttestationVerifier(policy: policy, now: now)
    measure("attest.sw.verify") {
        for _ in 0..<50 {
            var ledger = InMemoryNonceLedger()
            guard case .trusted = verifier.verify(doc, nonce: nonce, ledger: &ledger) else { fatalError("verify failed") }
        }
        return 50
    }
    if let tcti = ProcessInfo.processInfo.environment["PARLEY_BENCH_TCTI"] {
        let provider = try TPMQuoteProvider(tcti: tcti, dataDirectory: dir, now: now)
        try provider.recordLaunch(claims)
        measure("attest.tpm.evidence", minSeconds: 3) { for _ in 0..<5 { _ = try! provider.evidence(job: "bench", nonce: .random()) }; return 5 }
    }
}
