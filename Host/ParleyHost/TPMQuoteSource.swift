import Foundation
import ParleyAttestation
import ParleyCore
import ParleyTPMProvider

/// The TPM quote provider behind the ``QuoteProvider`` protocol.
public final class TPMQuoteSource: QuoteProvider, @unchecked Sendable {
    // @unchecked: TPMQuoteProvider serialises every TPM use itself.
    let provider: TPMQuoteProvider
    public var tier: AssuranceTier { .tpm }

    /// - Parameter tcti: e.g. `swtpm:path=…/sock` or `device:/dev/tpmrm0`.
    public init(tcti: String, dataDirectory: String, now: Date = Date()) throws {
        provider = try TPMQuoteProvider(tcti: tcti, dataDirectory: dataDirectory, now: now)
    }

    public func recordLaunch(_ claims: LaunchClaims) throws { try provider.recordLaunch(claims) }

    public func evidence(for claims: LaunchClaims, nonce: Nonce) throws -> [UInt8] {
        try provider.evidence(job: claims.job, nonce: nonce)
    }
}
