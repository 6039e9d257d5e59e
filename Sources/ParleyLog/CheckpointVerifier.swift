/// Verifies signed checkpoints of one log: its verifier key and its origin are pinned.
///
/// Order of checks: size cap, note grammar, signature by the pinned key (unknown keys are
/// ignored, as signed-note requires), and only then the body grammar and the origin.
public struct CheckpointVerifier: Sendable {
    /// The log's key.
    public let verifierKey: NoteVerifierKey
    /// The origin line the log must state.
    public let origin: String

    /// Pins a log's key and origin.
    public init(verifierKey: NoteVerifierKey, origin: String) {
        self.verifierKey = verifierKey
        self.origin = origin
    }

    /// Checks a signed checkpoint note.
    public func verify(_ note: [UInt8]) -> CheckpointVerdict {
        guard note.count <= SignedNote.maxByteCount else {
            return .rejected(.oversize(limit: SignedNote.maxByteCount, actual: note.count))
        }
        let parsed: SignedNote
        do { parsed = try SignedNote.parse(note) } catch { return .rejected(.malformedNote(error.reason)) }
        let verified: VerifiedNote
        switch parsed.verify(with: [verifierKey]) {
        case let .verified(note): verified = note
        case .rejected(.noSignatureFromKnownKey): return .rejected(.noSignatureFromKnownKey)
        case let .rejected(.badSignature(name)): return .rejected(.badSignature(keyName: name))
        }
        let checkpoint: Checkpoint
        do { checkpoint = try Checkpoint.parse(body: verified.text) } catch { return .rejected(.malformedBody(error.reason)) }
        guard checkpoint.origin == origin else {
            return .rejected(.originMismatch(expected: origin, found: checkpoint.origin))
        }
        return .verified(VerifiedCheckpoint(checkpoint: checkpoint, note: note))
    }
}

/// The outcome of checking a signed checkpoint.
public enum CheckpointVerdict: Hashable, Sendable {
    /// The pinned key signed this checkpoint of the pinned origin.
    case verified(VerifiedCheckpoint)
    /// The checkpoint must be ignored, and why.
    case rejected(CheckpointRejection)
}

/// A checkpoint the pinned log key signed; only `CheckpointVerifier` makes one.
public struct VerifiedCheckpoint: Hashable, Sendable {
    /// The signed claim.
    public let checkpoint: Checkpoint
    /// The note exactly as received, to keep as evidence.
    public let note: [UInt8]
}

/// Why a signed checkpoint was refused.
public enum CheckpointRejection: Hashable, Sendable, CustomStringConvertible {
    /// The note is larger than the cap.
    case oversize(limit: Int, actual: Int)
    /// The note breaks the signed-note grammar.
    case malformedNote(String)
    /// The pinned key did not sign it (other signatures, if any, were ignored).
    case noSignatureFromKnownKey
    /// A signature claiming the pinned key did not verify.
    case badSignature(keyName: String)
    /// The signed text is not a checkpoint body.
    case malformedBody(String)
    /// The checkpoint is of another log.
    case originMismatch(expected: String, found: String)

    /// An English reason a person can act on.
    public var description: String {
        switch self {
        case let .oversize(limit, actual): "the note is \(actual) bytes, over the limit of \(limit)"
        case let .malformedNote(reason): "the note is malformed: \(reason)"
        case .noSignatureFromKnownKey: "the log's key did not sign this checkpoint"
        case let .badSignature(name): "the signature by \(name) does not verify"
        case let .malformedBody(reason): "the signed text is not a checkpoint: \(reason)"
        case let .originMismatch(expected, found): "the checkpoint is for \(found.debugDescription), not \(expected.debugDescription)"
        }
    }
}
