import Foundation
import ParleyAttestation
import ParleyCore

/// Where a host's quotes come from: a software quoting CA or a TPM. Both measure each launch
/// and answer a party's nonce with evidence its verifier can check.
public protocol QuoteProvider: AnyObject, Sendable {
    var tier: AssuranceTier { get }
    /// Measures a worker launch (for a TPM: an event extended into PCR 13).
    func recordLaunch(_ claims: LaunchClaims) throws
    /// Fresh evidence for `claims.job` carrying the party's nonce.
    func evidence(for claims: LaunchClaims, nonce: Nonce) throws -> [UInt8]
}

/// The software quote provider: the data directory's quoting CA.
public final class SoftwareQuoteProvider: QuoteProvider, @unchecked Sendable {
    // @unchecked: the CA is immutable; the clock is a pure function.
    let ca: SoftwareQuotingCA
    let now: @Sendable () -> Date
    public var tier: AssuranceTier { .software }

    public init(dataDirectory: String, now: @escaping @Sendable () -> Date = { Date() }) throws {
        self.ca = try SoftwareQuotingCA.openOrCreate(dataDirectory: dataDirectory, now: now())
        self.now = now
    }

    public func recordLaunch(_ claims: LaunchClaims) throws {}

    public func evidence(for claims: LaunchClaims, nonce: Nonce) throws -> [UInt8] {
        try ca.quote(claims, nonce: nonce, at: now())
    }
}
