import Crypto
import Foundation
import ParleyAttestation
import ParleyCore
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
    }
}
