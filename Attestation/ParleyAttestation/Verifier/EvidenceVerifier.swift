import Foundation
import ParleyCore
import ParleyTPMVerify

/// The keys a party pins: the software quoting root and/or the TPM attestation key.
public struct TrustAnchors: Sendable {
    public var quotingRoot: Certificate?
    /// The pinned TPM attestation key, SubjectPublicKeyInfo DER (P-256).
    public var tpmAttestationKey: [UInt8]?

    public init(quotingRoot: Certificate? = nil, tpmAttestationKey: [UInt8]? = nil) {
        self.quotingRoot = quotingRoot
        self.tpmAttestationKey = tpmAttestationKey
    }
}

/// Evidence whose integrity has been checked: signatures, chain, nonce, log replay. Only
/// ``EvidenceVerifier`` makes one. Its claims are authentic but not yet appraised.
public struct VerifiedEvidence: Sendable {
    public let tier: AssuranceTier
    public let claims: LaunchClaims
    public let nonce: Nonce
    /// When the document says it was made (software documents only; TPM freshness is the nonce).
    public let timestamp: Date?
    /// TPM evidence only: the platform logs, replayed against the quote; nil when the host sent none.
    public let platform: ReplayedPlatform?

    init(tier: AssuranceTier, claims: LaunchClaims, nonce: Nonce, timestamp: Date?, platform: ReplayedPlatform? = nil) {
        self.tier = tier
        self.claims = claims
        self.nonce = nonce
        self.timestamp = timestamp
        self.platform = platform
    }
}

/// Both platform logs after replay: what stage 3 appraises.
public struct ReplayedPlatform: Sendable, Equatable {
    public let boot: ReplayedBootLog
    public let ima: ReplayedIMAList
    /// The quote's values of the PCRs IMA's `boot_aggregate` hashes (0-9, those quoted).
    public let aggregatePCRs: [Int: [UInt8]]

    public init(boot: ReplayedBootLog, ima: ReplayedIMAList, aggregatePCRs: [Int: [UInt8]]) {
        self.boot = boot
        self.ima = ima
        self.aggregatePCRs = aggregatePCRs
    }
}

/// Why evidence failed its integrity checks (stage 2).
public enum IntegrityFailure: Sendable, Equatable, CustomStringConvertible {
    case noTrustAnchor(AssuranceTier)
    case certificateChain(String)
    case quotingKeyUnusable
    case signature(COSEFailure)
    case nonceMismatch
    case tpmQuote(TPMQuoteFailure)
    case attestationKeyNotPinned
    case launchPCRNotQuoted
    case eventLogDoesNotReplay
    case eventLogWithoutEpoch
    case launchEventMissing
    case launchEventDuplicated
    case keyMismatch
    /// The launch log's epoch was written in another boot (TPM Reset or Restart) than the quote's.
    case epochFromAnotherBoot
    /// A platform log does not replay to the quoted PCRs.
    case platformReplay(PlatformReplayFailure)

    /// A stable identifier for scripts.
    public var code: String {
        switch self {
        case .noTrustAnchor: return "noTrustAnchor"
        case .certificateChain: return "certificateChain"
        case .quotingKeyUnusable: return "quotingKeyUnusable"
        case .signature: return "signature"
        case .nonceMismatch: return "nonceMismatch"
        case .tpmQuote: return "tpmQuote"
        case .attestationKeyNotPinned: return "attestationKeyNotPinned"
        case .launchPCRNotQuoted: return "launchPCRNotQuoted"
        case .eventLogDoesNotReplay: return "eventLogDoesNotReplay"
        case .eventLogWithoutEpoch: return "eventLogWithoutEpoch"
        case .launchEventMissing: return "launchEventMissing"
        case .launchEventDuplicated: return "launchEventDuplicated"
        case .keyMismatch: return "keyMismatch"
        case .epochFromAnotherBoot: return "epochFromAnotherBoot"
        case .platformReplay(let f): return "platformReplay." + f.code
        }
    }

    public var description: String {
        switch self {
        case .noTrustAnchor(let t): return "no pinned \(t == .software ? "quoting root" : "TPM attestation key") to check \(t) evidence against"
        case .certificateChain(let why): return "the quoting certificate does not chain to the pinned root: \(why)"
        case .quotingKeyUnusable: return "the quoting certificate's key is not a P-384 key"
        case .signature(let f): return "the attestation document's signature is invalid: \(f)"
        case .nonceMismatch: return "the evidence does not carry the nonce this party sent (replayed or for someone else)"
        case .tpmQuote(let f): return "the TPM quote is invalid: \(f)"
        case .attestationKeyNotPinned: return "the TPM quote is signed by an attestation key other than the pinned one"
        case .launchPCRNotQuoted: return "the TPM quote does not cover PCR \(launchPCRIndex), where launches are measured"
        case .eventLogDoesNotReplay: return "the event log does not replay to the quoted PCR \(launchPCRIndex) (an event was changed, dropped, reordered or inserted)"
        case .eventLogWithoutEpoch: return "the event log does not start with an epoch event"
        case .launchEventMissing: return "the event log has no launch event for this job"
        case .launchEventDuplicated: return "the event log has more than one launch event for this job"
        case .keyMismatch: return "the worker keys in the evidence differ from those in the job's launch event"
        case .epochFromAnotherBoot: return "the launch log's epoch was written in another boot of the TPM than the one that signed this quote (its reset or restart count differs)"
        case .platformReplay(let f): return f.description
        }
    }
}

/// The outcome of stage 2.
public enum IntegrityVerdict: Sendable {
    case intact(VerifiedEvidence)
    case broken([IntegrityFailure])
}

/// Stage 2: checks the integrity of parsed evidence against pinned keys and the party's nonce.
public struct EvidenceVerifier: Sendable {
    public let anchors: TrustAnchors
    public let expectedNonce: Nonce
    /// The time certificates are validated at (injected).
    public let now: Date

    public init(anchors: TrustAnchors, expectedNonce: Nonce, now: Date) {
        self.anchors = anchors
        self.expectedNonce = expectedNonce
        self.now = now
    }

    public func verify(_ evidence: UnverifiedEvidence) -> IntegrityVerdict {
        switch evidence {
        case .software(let doc): return verifySoftware(doc)
        case .tpm(let ev): return verifyTPM(ev)
        }
    }

    /// Order (as Nitro's): chain to the pinned root, then the signature with the certified key,
    /// then the nonce. A document that fails any step yields no claims.
    private func verifySoftware(_ doc: UnverifiedSoftwareQuote) -> IntegrityVerdict {
        guard let root = anchors.quotingRoot else { return .broken([.noTrustAnchor(.software)]) }
        let leaf: Certificate, intermediates: [Certificate]
        do {
            leaf = try Certificate(der: doc.certificate)
            intermediates = try doc.cabundle.map { try Certificate(der: $0) }
        } catch {
            return .broken([.certificateChain("a certificate in the document does not parse")])
        }
        if case .invalid(let why) = CertificateChainVerifier(root: root, time: now).verify(leaf: leaf, intermediates: intermediates) {
            return .broken([.certificateChain(why.description)])
        }
        guard let der = try? leaf.publicKeyDER(), let key = try? ECVerifyingKey(der: der), key.algorithm == .es384 else {
            return .broken([.quotingKeyUnusable])
        }
        var failures: [IntegrityFailure] = []
        if case .invalid(let f) = doc.message.verify(with: key) { failures.append(.signature(f)) }
        if doc.nonce != expectedNonce.bytes { failures.append(.nonceMismatch) }
        guard failures.isEmpty else { return .broken(failures) }
        return .intact(VerifiedEvidence(tier: .software, claims: doc.claims, nonce: expectedNonce, timestamp: doc.timestamp))
    }

    /// Order (as go-attestation's): the quote (signature, magic, type, nonce, PCR selection and
    /// digest), that its key is the pinned one, then the launch log's replay to PCR 13 and its
    /// epoch against the quote's reset and restart counts, then the platform logs' replay (boot
    /// log to PCRs 0-7, IMA list to PCR 10), then the job's launch event.
    private func verifyTPM(_ ev: UnverifiedTPMEvidence) -> IntegrityVerdict {
        guard let pinned = anchors.tpmAttestationKey else { return .broken([.noTrustAnchor(.tpm)]) }
        var failures: [IntegrityFailure] = []
        let quote: UnverifiedTPMQuote
        do {
            quote = try UnverifiedTPMQuote(attest: ev.attest, signature: ev.signature, akPublic: ev.akPublic, pcrs: ev.pcrs)
        } catch {
            return .broken([.tpmQuote(.signatureInvalid("the quote structures do not parse: \(error)"))])
        }
        let akDER = (try? ECVerifyingKey.p256(.init(x963Representation: [0x04] + quote.attestationKey.x + quote.attestationKey.y)))?.derRepresentation
        if akDER != pinned { failures.append(.attestationKeyNotPinned) }
        switch TPMQuoteVerifier(expectedNonce: expectedNonce.bytes).verify(quote) {
        case .refused(let fs):
            failures += fs.map { $0 == .nonceMismatch ? .nonceMismatch : .tpmQuote($0) }
        case .verified: break
        }
        if ev.nonce != expectedNonce.bytes, !failures.contains(.nonceMismatch) { failures.append(.nonceMismatch) }
        guard failures.isEmpty else { return .broken(failures) }

        guard let pcr = ev.pcrs[launchPCRIndex] else { return .broken([.launchPCRNotQuoted]) }
        guard LaunchLogEvent.replay(ev.eventBytes) == pcr else { return .broken([.eventLogDoesNotReplay]) }
        guard case .epoch(_, _, let firstReset, _)? = ev.events.first else { return .broken([.eventLogWithoutEpoch]) }
        let clock = quote.attestation.clockInfo
        let lastEpoch = ev.events.reversed().compactMap { e -> (UInt32, UInt32)? in
            if case .epoch(_, _, let reset, let restart) = e { return (reset, restart) }
            return nil
        }.first
        guard firstReset == clock.resetCount, let lastEpoch, lastEpoch == (clock.resetCount, clock.restartCount) else {
            return .broken([.epochFromAnotherBoot])
        }
        var platform: ReplayedPlatform?
        if let logs = ev.platform {
            switch (BootLogReplay.replay(logs.boot, quoted: ev.pcrs), IMAReplay.replay(logs.ima, quoted: ev.pcrs)) {
            case (.success(let boot), .success(let ima)):
                platform = ReplayedPlatform(boot: boot, ima: ima, aggregatePCRs: ev.pcrs.filter { bootAggregatePCRIndices.contains($0.key) })
            case (let b, let i):
                var fs: [PlatformReplayFailure] = []
                if case .failure(let l) = b { fs += l.failures }
                if case .failure(let l) = i { fs += l.failures }
                return .broken(fs.map { .platformReplay($0) })
            }
        }
        let launches = ev.events.compactMap { e -> LaunchClaims? in
            if case .launch(let c) = e, c.job == ev.job { return c }
            return nil
        }
        guard let claims = launches.first else { return .broken([.launchEventMissing]) }
        guard launches.count == 1 else { return .broken([.launchEventDuplicated]) }
        guard claims.publicKey == ev.publicKey, claims.signingKey == ev.signingKey else { return .broken([.keyMismatch]) }
        return .intact(VerifiedEvidence(tier: .tpm, claims: claims, nonce: expectedNonce, timestamp: nil, platform: platform))
    }
}
