import ParleyAttestation
import ParleyCore
import ParleyLog

/// What the auditor pins before replaying. Every field is optional, because an auditor may only
/// want to know that a log is self-consistent; but each one left out is a warning in the report,
/// because then the bundle vouches for itself.
public struct AuditPolicy: Sendable {
    /// Modules every job must have run (measurements, from `parley module measure`); nil accepts
    /// any module. Security consequence of nil: a job running an unreviewed module is reported,
    /// not failed.
    public var expectedModules: [MeasurementDigest]?
    /// The log's verifier key (`log-key.pub`, obtained from the host out of band). Preferred over
    /// the bundle's own copy, which an attacker who rewrote the bundle would also have replaced.
    public var logKey: NoteVerifierKey?
    /// The checkpoint origin; nil takes the log key's name (the host names its key after its origin).
    public var origin: String?
    /// The pinned software quoting root and/or TPM attestation key; each missing one is taken from
    /// the bundle, with a warning.
    public var anchors: TrustAnchors
    /// Checkpoints others saw (parties' state directories, witnesses, receipts): the log must
    /// extend each one. Each pairs where it came from (a file name, for the report) with the
    /// signed note.
    public var knownCheckpoints: [(source: String, note: [UInt8])] = []
    /// Witnesses whose `cosignature/v1` lines count on known checkpoints.
    public var witnesses: [CosignerKey] = []
    /// How many of them each known checkpoint must carry (0: none required).
    public var witnessQuorum = 0

    /// A policy; every expectation defaults to "not pinned".
    public init(expectedModules: [MeasurementDigest]? = nil, logKey: NoteVerifierKey? = nil, origin: String? = nil,
                anchors: TrustAnchors = TrustAnchors()) {
        self.expectedModules = expectedModules
        self.logKey = logKey
        self.origin = origin
        self.anchors = anchors
    }
}
