import COpenSSL
import Foundation
import ParleyTPM
import XCTest

/// The TPM a test talks to: `PARLEY_TEST_TCTI` when set, else a private swtpm child process.
public final class TPMTestEnvironment {
    /// The TCTI configuration string.
    public let tcti: String
    /// The swtpm this environment started, or nil when `PARLEY_TEST_TCTI` was given.
    public let softwareTPM: SoftwareTPM?

    /// - Parameter privateTPM: always start a private swtpm (for tests that restart it).
    public init(privateTPM: Bool = false) throws {
        if !privateTPM, let tcti = ProcessInfo.processInfo.environment["PARLEY_TEST_TCTI"], !tcti.isEmpty {
            self.tcti = tcti
            softwareTPM = nil
        } else {
            let swtpm = try SoftwareTPM()
            self.tcti = swtpm.tcti
            softwareTPM = swtpm
        }
    }

    /// Opens a client, retrying briefly while a just-started swtpm begins accepting.
    public func client() throws -> TPMClient {
        var lastError: (any Error)?
        for _ in 0..<50 {
            do { return try TPMClient(tcti: tcti) } catch {
                lastError = error
                usleep(20_000)
            }
        }
        throw lastError ?? SoftwareTPMError("could not open \(tcti)")
    }

    public func shutdown() {
        softwareTPM?.stop()
    }
}

/// SHA-256 for expected values in tests.
public func sha256(_ bytes: [UInt8]) -> [UInt8] {
    var digest = [UInt8](repeating: 0, count: 32)
    var length: UInt32 = 0
    _ = bytes.withUnsafeBytes { input in
        digest.withUnsafeMutableBufferPointer { output in
            EVP_Digest(input.baseAddress, input.count, output.baseAddress, &length, EVP_sha256(), nil)
        }
    }
    return digest
}

/// `count` random bytes (a fresh nonce).
public func randomBytes(_ count: Int) -> [UInt8] {
    var generator = SystemRandomNumberGenerator()
    return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
}

/// Lower-case hex.
public func hex(_ bytes: [UInt8]) -> String {
    bytes.map { String(format: "%02x", $0) }.joined()
}
