import Foundation
import ParleyCore

/// A worker the party may upload to: the outcome of all three stages.
public struct AttestationResult: Sendable {
    /// Which kind of root vouches for the worker.
    public let tier: AssuranceTier
    /// Authentic, appraised claims: the worker keys here are the ones to encrypt to and trust.
    public let claims: LaunchClaims
    /// What a person must be told about this result (the `tpm-unappraised` warning), if anything.
    public var warning: String? { tier == .tpmUnappraised ? AppraisalPolicy.unappraisedWarning : nil }
}

/// Why evidence was refused, by stage.
public enum RefusalReason: Sendable, Equatable, CustomStringConvertible {
    /// Stage 1: the bytes are not evidence Parley accepts.
    case unparseable(String)
    /// Stage 2: signatures, chain, nonce or log.
    case integrity(IntegrityFailure)
    /// Stage 3: authentic, but not what the party expects.
    case appraisal(AppraisalFailure)

    public var description: String {
        switch self {
        case .unparseable(let why): return "the evidence cannot be read: \(why)"
        case .integrity(let f): return f.description
        case .appraisal(let f): return f.description
        }
    }

    /// A stable short code for scripts (`--json`).
    public var code: String {
        switch self {
        case .unparseable: return "unparseable"
        case .integrity(let f): return "integrity." + f.code
        case .appraisal(let f): return "appraisal." + f.code
        }
    }
}

/// The verdict a party acts on: upload only on `.trusted`.
public enum AttestationVerdict: Sendable {
    case trusted(AttestationResult)
    /// The evidence is bad: every reason found.
    case refused([RefusalReason])
    /// The verifier itself could not finish; this says nothing about the evidence (fail closed:
    /// nothing is trusted, but nor is the host accused of sending bad evidence).
    case failed(VerifierFailure)
}

/// A local failure while verifying, not caused by the evidence.
public enum VerifierFailure: Sendable, Equatable, CustomStringConvertible {
    /// The party's nonce ledger could not be written, so the nonce cannot be marked used.
    case nonceLedger(String)
    /// A library the verifier relies on failed for a reason other than its input.
    case `internal`(String)

    public var description: String {
        switch self {
        case .nonceLedger(let why): return "the verifier could not finish, not a fault in the evidence: the nonce ledger could not be written: \(why)"
        case .internal(let why): return "the verifier could not finish, not a fault in the evidence: \(why)"
        }
    }

    /// A stable short code for scripts (`--json`).
    public var code: String {
        switch self {
        case .nonceLedger: return "verifier.nonceLedger"
        case .internal: return "verifier.internal"
        }
    }
}

/// Parse, verify, appraise: the one entry point parties (`parley attest verify`, `parley upload`)
/// and auditors use for evidence of either tier.
public struct AttestationVerifier {
    public let policy: AppraisalPolicy
    public let now: Date

    public init(policy: AppraisalPolicy, now: Date) {
        self.policy = policy
        self.now = now
    }

    /// - Parameters:
    ///   - evidence: untrusted bytes from the host.
    ///   - nonce: the fresh nonce this party sent with its request.
    ///   - ledger: the party's record of nonces already used; a pass records this nonce.
    ///   - job: the job the party asked about: evidence whose launch names another is refused.
    public func verify(_ evidence: [UInt8], nonce: Nonce, ledger: inout some NonceLedger, job: String? = nil) -> AttestationVerdict {
        let parsed: UnverifiedEvidence
        do { parsed = try UnverifiedEvidence.parse(evidence) } catch let e as ParleyError {
            if e.code == .internal { return .failed(.internal(e.reason)) }
            return .refused([.unparseable(e.reason)])
        } catch {
            return .refused([.unparseable("\(error)")])
        }
        let verified: VerifiedEvidence
        switch EvidenceVerifier(anchors: policy.anchors, expectedNonce: nonce, now: now).verify(parsed) {
        case .broken(let fs): return .refused(fs.map { .integrity($0) })
        case .intact(let v): verified = v
        }
        let seen = ledger.contains(nonce, now: now)
        let (failures, tier) = Appraiser(policy: policy, now: now).appraiseWithTier(verified, nonceSeen: seen, job: job)
        guard failures.isEmpty else { return .refused(failures.map { .appraisal($0) }) }
        do { try ledger.record(nonce, at: now) } catch {
            return .failed(.nonceLedger("\(error)"))
        }
        return .trusted(AttestationResult(tier: tier, claims: verified.claims))
    }
}
