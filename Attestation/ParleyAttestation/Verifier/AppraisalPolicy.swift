import Foundation
import ParleyCore
import ParleyLog

/// What a party expects of a worker before it sends data (stage 3's input). Every expectation
/// is required: an empty list or a missing value is an error when the policy is made, never a
/// silent pass.
public struct AppraisalPolicy: Sendable {
    /// The only assurance tier accepted.
    public var quote: AssuranceTier
    /// The module measurement the party reviewed (`parley module measure`).
    public var module: MeasurementDigest
    /// Accepted runtime measurements (`parley runtime measure`); at least one.
    public var runtime: [MeasurementDigest]
    /// Accepted module signers; nil accepts any signer (the module measurement already fixes the content).
    public var moduleSigners: [MeasurementDigest]?
    /// The pinned keys (the one matching `quote` is required).
    public var anchors: TrustAnchors
    /// Oldest accepted software document, in seconds. TPM freshness comes from the nonce alone.
    public var maxAgeSeconds: Int
    /// Accept a worker running without its sandbox. Security consequence: a debug worker has no
    /// seccomp filter, limits or namespace, so the host can reach its memory; never set it for real data.
    public var allowDebug: Bool
    /// Clock skew tolerated for a timestamp in the future, in seconds.
    public var maxClockSkewSeconds = 60
    /// The host's log verifier key (`log-key.pub`). The client holds the log to the checkpoints
    /// it remembers for this key; without it the client takes the host's own key, and a host that
    /// starts a new log under a new key is then not caught.
    public var logKey: NoteVerifierKey?
    /// Witnesses whose `cosignature/v1` on the host's checkpoint the client counts.
    public var witnesses: [CosignerKey] = []
    /// How many of `witnesses` must have cosigned every checkpoint the client accepts (0: none).
    public var witnessQuorum = 0

    public init(quote: AssuranceTier, module: MeasurementDigest, runtime: [MeasurementDigest], moduleSigners: [MeasurementDigest]? = nil,
                anchors: TrustAnchors, maxAgeSeconds: Int = 300, allowDebug: Bool = false, logKey: NoteVerifierKey? = nil) throws {
        guard !runtime.isEmpty else { throw ParleyError(.malformed, "policy: runtime must list at least one accepted measurement") }
        if let s = moduleSigners, s.isEmpty {
            throw ParleyError(.malformed, "policy: module_signers is empty; list at least one signer or leave it out")
        }
        guard (1...86_400).contains(maxAgeSeconds) else { throw ParleyError(.malformed, "policy: max_age_seconds must be 1 to 86400") }
        switch quote {
        case .software where anchors.quotingRoot == nil:
            throw ParleyError(.malformed, "policy: quote = \"software\" needs quoting_root (the host's quoting-root.pem)")
        case .tpm where anchors.tpmAttestationKey == nil:
            throw ParleyError(.malformed, "policy: quote = \"tpm\" needs tpm_ak (the host's tpm-ak.pem)")
        default: break
        }
        self.quote = quote
        self.module = module
        self.runtime = runtime
        self.moduleSigners = moduleSigners
        self.anchors = anchors
        self.maxAgeSeconds = maxAgeSeconds
        self.allowDebug = allowDebug
        self.logKey = logKey
    }
}

/// Why verified evidence does not meet the party's policy (stage 3).
public enum AppraisalFailure: Sendable, Equatable, CustomStringConvertible {
    case wrongTier(got: AssuranceTier)
    case moduleNotExpected
    case runtimeNotAccepted
    case signerNotAccepted
    case debugWorker
    case stale(ageSeconds: Int)
    case fromTheFuture(aheadSeconds: Int)
    case nonceReused

    /// A stable identifier for scripts.
    public var code: String {
        switch self {
        case .wrongTier: return "wrongTier"
        case .moduleNotExpected: return "moduleNotExpected"
        case .runtimeNotAccepted: return "runtimeNotAccepted"
        case .signerNotAccepted: return "signerNotAccepted"
        case .debugWorker: return "debugWorker"
        case .stale: return "stale"
        case .fromTheFuture: return "fromTheFuture"
        case .nonceReused: return "nonceReused"
        }
    }

    public var description: String {
        switch self {
        case .wrongTier(let got): return "the evidence is a \(got) quote, which the policy does not accept"
        case .moduleNotExpected: return "the worker runs a module other than the one the policy expects"
        case .runtimeNotAccepted: return "the worker's runtime measurement is not one the policy accepts"
        case .signerNotAccepted: return "the module is signed by a key the policy does not accept"
        case .debugWorker: return "the worker runs in debug mode (no sandbox), which the policy does not allow"
        case .stale(let s): return "the attestation document is \(s) seconds old, older than the policy allows"
        case .fromTheFuture(let s): return "the attestation document is dated \(s) seconds in the future"
        case .nonceReused: return "this nonce was already used within its window; use a fresh nonce for every request"
        }
    }
}

/// Stage 3: appraises verified evidence against a policy.
public struct Appraiser: Sendable {
    public let policy: AppraisalPolicy
    public let now: Date

    public init(policy: AppraisalPolicy, now: Date) {
        self.policy = policy
        self.now = now
    }

    /// Every failure, in a fixed order; empty means the evidence meets the policy.
    /// - Parameter nonceSeen: whether the party's ledger already holds this nonce.
    public func appraise(_ evidence: VerifiedEvidence, nonceSeen: Bool) -> [AppraisalFailure] {
        var failures: [AppraisalFailure] = []
        let c = evidence.claims
        if evidence.tier != policy.quote { failures.append(.wrongTier(got: evidence.tier)) }
        if c.module != policy.module { failures.append(.moduleNotExpected) }
        if !policy.runtime.contains(c.runtime) { failures.append(.runtimeNotAccepted) }
        if let signers = policy.moduleSigners, !signers.contains(c.moduleSigner) { failures.append(.signerNotAccepted) }
        if c.debug && !policy.allowDebug { failures.append(.debugWorker) }
        if let t = evidence.timestamp {
            let age = now.timeIntervalSince(t)
            if age > Double(policy.maxAgeSeconds) { failures.append(.stale(ageSeconds: Int(age))) }
            if -age > Double(policy.maxClockSkewSeconds) { failures.append(.fromTheFuture(aheadSeconds: Int(-age))) }
        }
        if nonceSeen { failures.append(.nonceReused) }
        return failures
    }
}
