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

    /// TPM only: the reference values the platform's boot log and IMA list are appraised against.
    public var platform: PlatformReference?
    /// TPM only: accept TPM evidence whose platform was not appraised (no logs, or no reference
    /// values), at the weaker `tpm-unappraised` tier. Security consequence: nothing then shows
    /// which software extended the launch PCR, so whoever controls the TPM can forge launches
    /// with keys of their choosing. Default false; never set it for real data.
    public var allowUnappraisedTPM: Bool

    /// The warning every verdict accepted under ``allowUnappraisedTPM`` carries.
    public static let unappraisedWarning = "WARNING: the platform was not appraised (tpm-unappraised): anyone who controls this host's TPM can forge launches and receive your data"

    public init(quote: AssuranceTier, module: MeasurementDigest, runtime: [MeasurementDigest], moduleSigners: [MeasurementDigest]? = nil,
                anchors: TrustAnchors, maxAgeSeconds: Int = 300, allowDebug: Bool = false, logKey: NoteVerifierKey? = nil,
                platform: PlatformReference? = nil, allowUnappraisedTPM: Bool = false) throws {
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
        case .tpm where platform == nil && !allowUnappraisedTPM:
            throw ParleyError(.malformed, "policy: quote = \"tpm\" needs boot_reference, runtime_policy and required_measured (from `parley attest reference` on a known-good host)")
        case .tpmUnappraised:
            throw ParleyError(.malformed, "policy: quote is \"software\" or \"tpm\"; tpm-unappraised is accepted only through allow_unappraised_tpm")
        default: break
        }
        self.platform = platform
        self.allowUnappraisedTPM = allowUnappraisedTPM
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
    /// The evidence's launch names another job than the one the party asked about.
    case otherJob
    /// TPM evidence without platform logs (or a policy without reference values): refused unless
    /// the policy sets `allow_unappraised_tpm`.
    case platformNotAppraised
    /// The replayed platform does not match the party's reference values.
    case platform(PlatformAppraisalFailure)

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
        case .otherJob: return "otherJob"
        case .platformNotAppraised: return "platformNotAppraised"
        case .platform(let f): return "platform." + f.code
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
        case .otherJob: return "the evidence is for another job than the one asked about"
        case .platformNotAppraised:
            return "the TPM evidence's platform (measured boot and IMA) could not be appraised: without it, whoever controls the TPM can forge launches; the host must send its boot and IMA logs and the policy must pin boot_reference and runtime_policy"
        case .platform(let f): return f.description
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
    /// - Parameters:
    ///   - nonceSeen: whether the party's ledger already holds this nonce.
    ///   - job: the job the party asked about; the launch must name it.
    public func appraise(_ evidence: VerifiedEvidence, nonceSeen: Bool, job: String? = nil) -> [AppraisalFailure] {
        appraiseWithTier(evidence, nonceSeen: nonceSeen, job: job).failures
    }

    /// The failures, and the tier the evidence earns when there are none.
    public func appraiseWithTier(_ evidence: VerifiedEvidence, nonceSeen: Bool, job: String?) -> (failures: [AppraisalFailure], tier: AssuranceTier) {
        var failures: [AppraisalFailure] = []
        var tier = evidence.tier
        let c = evidence.claims
        if let job, c.job != job { failures.append(.otherJob) }
        if evidence.tier != policy.quote { failures.append(.wrongTier(got: evidence.tier)) }
        if evidence.tier == .tpm, policy.quote == .tpm {
            if let replayed = evidence.platform, let reference = policy.platform {
                failures += PlatformAppraiser.appraise(boot: replayed.boot, ima: replayed.ima, quoted: replayed.aggregatePCRs, reference: reference).map { .platform($0) }
            } else if policy.allowUnappraisedTPM {
                tier = .tpmUnappraised
            } else {
                failures.append(.platformNotAppraised)
            }
        }
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
        return (failures, tier)
    }
}
