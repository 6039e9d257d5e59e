import Crypto
import Foundation
import ParleyAttestation
import ParleyCore
import ParleyTestSupport
import ParleyTPMProvider
import XCTest

/// Claims for a launch with fresh worker keys.
func sampleClaims(job: String = "job-1", debug: Bool = false, runtime: UInt8 = 1) throws -> LaunchClaims {
    LaunchClaims(job: job, runtime: try MeasurementDigest(bytes: .init(repeating: runtime, count: 48)),
                 module: try MeasurementDigest(bytes: .init(repeating: 2, count: 48)),
                 moduleSigner: try MeasurementDigest(bytes: .init(repeating: 3, count: 48)), debug: debug,
                 publicKey: Array(Curve25519.KeyAgreement.PrivateKey().publicKey.rawRepresentation),
                 signingKey: Array(P384.Signing.PrivateKey().publicKey.derRepresentation))
}

func makeDirectory(_ test: XCTestCase) throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("parley-att-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
    return dir
}

/// The reasons of a refusal, or a test failure if it was trusted.
func refusals(_ verdict: AttestationVerdict, file: StaticString = #filePath, line: UInt = #line) -> [RefusalReason] {
    switch verdict {
    case .trusted: XCTFail("expected a refusal, the evidence was trusted", file: file, line: line); return []
    case .refused(let r): return r
    case .failed(let f): XCTFail("expected a refusal, the verifier failed: \(f)", file: file, line: line); return []
    }
}

/// A private swtpm booted by a ``TestPlatform`` (a real boot log's digests in PCRs 0-7, an IMA
/// list in PCR 10), with a host data directory: what each TPM test starts from.
final class PlatformFixture {
    let environment: TPMTestEnvironment
    let platform: TestPlatform
    let dir: String
    /// Stand-ins for the reviewed executables (the HTTP end-to-end test measures the real ones).
    let hostBinary = Array("parley: the reviewed host executable (test stand-in)".utf8)
    let workerBinary = Array("parley-enclave: the reviewed worker executable (test stand-in)".utf8)
    static let hostPath = "/usr/local/bin/parley"

    init(_ test: XCTestCase, measureWorker: Bool = true, bootAggregate: TestPlatform.BootAggregateEntry = .computed) throws {
        environment = try TPMTestEnvironment(privateTPM: true)
        dir = try makeDirectory(test)
        platform = try TestPlatform(client: try environment.client(), bootLog: try FileIO.read(TestPlatform.bootLogFixture),
                                    directory: dir + "/platform", bootAggregate: bootAggregate)
        try platform.measure(path: Self.hostPath, bytes: hostBinary)
        if measureWorker { try platform.measure(path: PlatformReferenceBuilder.workerIMAPath, bytes: workerBinary) }
        let env = environment
        test.addTeardownBlock { env.shutdown() }
    }

    func provider(logs: Bool = true, now: Date = Date(timeIntervalSince1970: 1_780_000_000)) throws -> TPMQuoteProvider {
        try TPMQuoteProvider(tcti: environment.tcti, dataDirectory: dir, platformLogs: logs ? platform.logPaths : nil, now: { now })
    }

    func pinnedAK() throws -> [UInt8] {
        try ECVerifyingKey(pem: try String(contentsOfFile: TPMQuoteProvider.attestationKeyPath(in: dir), encoding: .utf8)).derRepresentation
    }

    /// Reference values written from this platform as it is now (a known-good host).
    func reference() throws -> PlatformReference {
        try platform.reference(executables: [([Self.hostPath], hostBinary), ([PlatformReferenceBuilder.workerIMAPath], workerBinary)])
    }

    func policy(claims: LaunchClaims, reference: PlatformReference? = nil, ak: [UInt8]? = nil, allowUnappraised: Bool = false) throws -> AppraisalPolicy {
        try AppraisalPolicy(quote: .tpm, module: claims.module, runtime: [claims.runtime],
                            anchors: TrustAnchors(tpmAttestationKey: try ak ?? pinnedAK()),
                            platform: allowUnappraised ? reference : try reference ?? self.reference(), allowUnappraisedTPM: allowUnappraised)
    }
}
