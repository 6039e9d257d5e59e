import Foundation
import ParleyAttestation
import ParleyCore
import ParleyQuoting

/// The TPM quote provider behind the ``QuoteProvider`` protocol.
public final class TPMQuoteSource: QuoteProvider, @unchecked Sendable {
    // @unchecked: TPMQuoteProvider serialises every TPM use itself.
    let provider: TPMQuoteProvider
    public var tier: AssuranceTier { .tpm }

    /// - Parameters:
    ///   - tcti: e.g. `swtpm:path=…/sock` or `device:/dev/tpmrm0`.
    ///   - platformLogs: the boot log and IMA list sent with every quote; nil sends none.
    public init(tcti: String, dataDirectory: String, platformLogs: PlatformLogPaths? = nil) throws {
        provider = try TPMQuoteProvider(tcti: tcti, dataDirectory: dataDirectory, platformLogs: platformLogs)
    }

    public func recordLaunch(_ claims: LaunchClaims) throws { try provider.recordLaunch(claims) }

    public func evidence(for claims: LaunchClaims, nonce: Nonce) throws -> [UInt8] {
        try provider.evidence(job: claims.job, nonce: nonce)
    }
}
