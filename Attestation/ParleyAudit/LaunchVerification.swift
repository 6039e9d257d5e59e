import Foundation
import ParleyAttestation
import ParleyCore
import ParleyModule

/// Re-verifies one launch entry, as a party would have at upload time, but with the nonce the
/// host recorded and the clock set to when the evidence was made (so a years-old software
/// document whose quoting certificate has since expired still verifies).
///
/// Order: the module bundle opens and its measurement and signer are the stated ones; the
/// module is one the policy expects; the evidence parses, is of the stated tier, and verifies
/// against the anchor; its claims equal the entry's.
struct LaunchVerification {
    /// The pinned anchors, or the bundle's where none is pinned.
    let anchors: TrustAnchors
    /// The modules the auditor expects, if any.
    let expectedModules: [MeasurementDigest]?

    /// The opened module (nil if it does not open) and every failure, in check order.
    func verify(_ launch: LaunchRecord, recordedAt millis: UInt64) -> (SealedModule?, [AuditReplayFailureReason]) {
        var failures: [AuditReplayFailureReason] = []
        var module: SealedModule?
        do {
            let opened = try SealedModule(bytes: launch.moduleBundle)
            module = opened
            if opened.measurement != launch.claims.module {
                failures.append(.moduleMeasurementMismatch(stated: launch.claims.module, actual: opened.measurement))
            }
            if opened.signer != launch.claims.moduleSigner { failures.append(.moduleSignerMismatch) }
        } catch {
            failures.append(.moduleUnreadable(Self.reason(error)))
        }
        if let expected = expectedModules, !expected.contains(launch.claims.module) {
            failures.append(.moduleNotExpected(launch.claims.module))
        }
        failures += verifyEvidence(launch, recordedAt: millis)
        return (module, failures)
    }

    private func verifyEvidence(_ launch: LaunchRecord, recordedAt millis: UInt64) -> [AuditReplayFailureReason] {
        let evidence: UnverifiedEvidence
        do { evidence = try UnverifiedEvidence.parse(launch.evidence) } catch {
            return [.evidenceUnparseable(Self.reason(error))]
        }
        guard evidence.tier == launch.tier else { return [.tierMismatch(stated: launch.tier, evidence: evidence.tier)] }
        switch evidence.tier {
        case .software where anchors.quotingRoot == nil: return [.noTrustAnchor(.software)]
        case .tpm where anchors.tpmAttestationKey == nil: return [.noTrustAnchor(.tpm)]
        default: break
        }
        let now: Date = if case .software(let document) = evidence {
            document.timestamp
        } else {
            Date(timeIntervalSince1970: Double(millis) / 1000)
        }
        switch EvidenceVerifier(anchors: anchors, expectedNonce: launch.nonce, now: now).verify(evidence) {
        case .broken(let failures):
            return [.evidenceRejected(failures)]
        case .intact(let verified):
            let differing = Self.differingFields(launch.claims, verified.claims)
            return differing.isEmpty ? [] : [.claimsDiffer(fields: differing)]
        }
    }

    /// The names of the claim fields that differ.
    static func differingFields(_ a: LaunchClaims, _ b: LaunchClaims) -> [String] {
        var fields: [String] = []
        if a.job != b.job { fields.append("job") }
        if a.runtime != b.runtime { fields.append("measurements.runtime") }
        if a.module != b.module { fields.append("measurements.module") }
        if a.moduleSigner != b.moduleSigner { fields.append("measurements.module_signer") }
        if a.debug != b.debug { fields.append("debug") }
        if a.publicKey != b.publicKey { fields.append("public_key") }
        if a.ledger != b.ledger { fields.append("ledger") }
        if a.signingKey != b.signingKey { fields.append("signing_key") }
        return fields
    }

    static func reason(_ error: any Error) -> String {
        (error as? ParleyError)?.reason ?? "\(error)"
    }
}
