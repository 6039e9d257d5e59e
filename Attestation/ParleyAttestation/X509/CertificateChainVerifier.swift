import Foundation
import ParleyCore
import SwiftASN1
@_spi(FixedExpiryValidationTime) import X509

/// Validates a leaf certificate, through optional intermediates, up to one pinned root, at a
/// given time: swift-certificates' `Verifier` with `RFC5280Policy` (path building, signatures,
/// validity periods, basic constraints and path length, name constraints, unhandled critical
/// extensions) and ``QuotingKeyUsagePolicy`` (key usage, which RFC5280Policy leaves unpoliced).
public struct CertificateChainVerifier: Sendable {
    /// The one trust anchor.
    public let root: Certificate
    /// The validation time: injected, never read from the clock here.
    public let time: Date

    /// Most untrusted intermediates accepted.
    public static let maxIntermediates = 4

    public init(root: Certificate, time: Date) {
        self.root = root
        self.time = time
    }

    /// Why a chain is refused.
    public enum Failure: Sendable, Equatable, CustomStringConvertible {
        /// More than ``CertificateChainVerifier/maxIntermediates`` intermediates were offered.
        case tooManyIntermediates(Int)
        /// No path of valid signatures leads from the leaf to the pinned root (another issuer,
        /// a tampered certificate, or an unhandled critical extension).
        case noPathToRoot
        /// A certificate on the path expired before the validation time.
        case expired
        /// A certificate on the path is not valid until after the validation time.
        case notYetValid
        /// An issuer on the path is not marked as a CA (basic constraints).
        case issuerNotCA
        /// The path is longer than an issuer's `pathLenConstraint` allows.
        case pathLengthExceeded
        /// A key usage is missing or wrong (see ``QuotingKeyUsagePolicy``).
        case keyUsage(String)
        /// Another RFC 5280 condition, in swift-certificates' words.
        case policy(String)

        public var description: String {
            switch self {
            case .tooManyIntermediates: return "more than \(CertificateChainVerifier.maxIntermediates) intermediate certificates"
            case .noPathToRoot: return "no path to the pinned root (another issuer, a bad signature or an unhandled critical extension)"
            case .expired: return "certificate has expired"
            case .notYetValid: return "certificate is not yet valid"
            case .issuerNotCA: return "an issuer on the path is not a CA"
            case .pathLengthExceeded: return "the path is longer than an issuer's path length constraint allows"
            case .keyUsage(let why): return why
            case .policy(let why): return why
            }
        }
    }

    /// The outcome: valid, or why not.
    public enum Verdict: Sendable, Equatable {
        case valid
        case invalid(Failure)
    }

    /// - Parameters:
    ///   - leaf: the certificate whose key will be trusted.
    ///   - intermediates: untrusted certificates that may complete the path (at most 4).
    public func validate(leaf: Certificate, intermediates: [Certificate]) async -> Verdict {
        guard intermediates.count <= Self.maxIntermediates else { return .invalid(.tooManyIntermediates(intermediates.count)) }
        let time = self.time
        var verifier = Verifier(rootCertificates: CertificateStore([root.x509])) {
            RFC5280Policy(fixedExpiryValidationTime: time)
            QuotingKeyUsagePolicy()
        }
        let result = await verifier.validate(leaf: leaf.x509, intermediates: CertificateStore(intermediates.map(\.x509)))
        switch result {
        case .validCertificate:
            return .valid
        case .couldNotValidate(let failures):
            guard let first = failures.first else { return .invalid(.noPathToRoot) }
            return .invalid(Self.classify(first.chain, at: time) ?? .policy(first.policyFailureReason.description))
        }
    }

    /// ``validate(leaf:intermediates:)`` for synchronous callers (the verifier, the audit replay,
    /// fuzz targets). The check is computation over certificates in memory: swift-certificates'
    /// API is async only because a certificate store may fetch. It runs to completion on the
    /// calling thread (``runOnCallingThread(_:)``), never blocking a thread of the shared pool.
    public func verify(leaf: Certificate, intermediates: [Certificate]) -> Verdict {
        runOnCallingThread { await validate(leaf: leaf, intermediates: intermediates) }
    }

    /// Names the RFC 5280 condition a refused candidate path breaks, for the message (the
    /// decision itself is the `Verifier`'s): nil when it is none of the named ones.
    static func classify(_ chain: UnverifiedCertificateChain, at time: Date) -> Failure? {
        if chain.contains(where: { $0.notValidAfter < time }) { return .expired }
        if chain.contains(where: { $0.notValidBefore > time }) { return .notYetValid }
        // chain[0] is the leaf; every later certificate issued the one before it.
        for (depth, issuer) in chain.enumerated().dropFirst() {
            guard case .isCertificateAuthority(let maxPath)? = try? issuer.extensions.basicConstraints else { return .issuerNotCA }
            // Intermediate CAs below this issuer (the leaf and self-issued certificates excepted).
            let below = chain.prefix(depth).dropFirst().filter { $0.issuer != $0.subject }.count
            if let maxPath, below > maxPath { return .pathLengthExceeded }
        }
        if case .failsToMeetPolicy(let reason) = QuotingKeyUsagePolicy().chainMeetsPolicyRequirements(chain: chain) {
            return .keyUsage(reason.description)
        }
        return nil
    }
}

/// Key usage on a quoting chain (RFC 5280 section 4.2.1.3), which `RFC5280Policy` deliberately
/// does not police: the leaf signs attestation documents, so it must carry `digitalSignature`
/// and must not be a CA; every issuer that states a key usage must allow `keyCertSign`.
struct QuotingKeyUsagePolicy: VerifierPolicy {
    let verifyingCriticalExtensions: [ASN1ObjectIdentifier] = [.X509ExtensionID.keyUsage]

    func chainMeetsPolicyRequirements(chain: UnverifiedCertificateChain) -> PolicyEvaluationResult {
        let leaf = chain.leaf
        do {
            guard let usage = try leaf.extensions.keyUsage, usage.digitalSignature else {
                return .failsToMeetPolicy(reason: "the quoting certificate does not allow digitalSignature")
            }
            if case .isCertificateAuthority? = try leaf.extensions.basicConstraints {
                return .failsToMeetPolicy(reason: "the quoting certificate is a CA certificate")
            }
            for issuer in chain.dropFirst() {
                if let usage = try issuer.extensions.keyUsage, !usage.keyCertSign {
                    return .failsToMeetPolicy(reason: "an issuer on the path does not allow keyCertSign")
                }
            }
        } catch {
            return .failsToMeetPolicy(reason: "a key usage or basic constraints extension does not parse")
        }
        return .meetsPolicy
    }
}
