/// A witness's memory and rules (c2sp.org/tlog-witness `add-checkpoint`), as a value: for each
/// log it follows (by origin, with the log's key), the latest checkpoint it cosigned. ``add(_:now:)``
/// checks a request in the specification's order and either cosigns (and remembers) or refuses
/// with the status the specification names. The HTTP shell persists ``latest`` before answering.
public struct WitnessState: Sendable {
    /// The most consistency proof lines a request may carry (the specification's limit).
    public static let maxProofLines = 63
    /// The largest request accepted, in bytes.
    public static let maxRequestBytes = SignedNote.maxByteCount + 64 * 48

    /// The logs followed: origin -> the log's verifier key.
    public let logs: [String: NoteVerifierKey]
    /// Origin -> the latest checkpoint cosigned.
    public private(set) var latest: [String: Checkpoint]
    /// The witness's key.
    public let signer: CosignerSigningKey

    /// A witness following `logs`, remembering `latest`.
    public init(logs: [NoteVerifierKey], latest: [String: Checkpoint] = [:], signer: CosignerSigningKey) {
        var byOrigin: [String: NoteVerifierKey] = [:]
        for key in logs { byOrigin[key.name] = key }
        self.logs = byOrigin
        self.latest = latest
        self.signer = signer
    }

    /// Handles one `add-checkpoint` body at `now` (POSIX seconds).
    public mutating func add(_ body: [UInt8], now: UInt64) -> WitnessOutcome {
        guard body.count <= Self.maxRequestBytes else { return .refused(.malformedRequest("the request is over \(Self.maxRequestBytes) bytes")) }
        // old size line, proof lines, an empty line, then the checkpoint note.
        var lines: [[UInt8]] = []
        var offset = 0
        while true {
            guard let newline = body[offset...].firstIndex(of: 0x0a) else { return .refused(.malformedRequest("the request has no empty line before the checkpoint")) }
            let line = Array(body[offset..<newline])
            offset = newline + 1
            if line.isEmpty { break }
            lines.append(line)
            guard lines.count <= Self.maxProofLines + 1 else { return .refused(.malformedRequest("more than \(Self.maxProofLines) consistency proof lines")) }
        }
        guard let first = lines.first, let oldLine = String(validating: first, as: UTF8.self), oldLine.hasPrefix("old "),
              let oldSize = Self.decimal(oldLine.dropFirst(4)) else {
            return .refused(.malformedRequest("the first line must be `old <size>`"))
        }
        var proof: [[UInt8]] = []
        for line in lines.dropFirst() {
            guard let text = String(validating: line, as: UTF8.self), let hash = Base64.decode(Substring(text)), hash.count == 32 else {
                return .refused(.malformedRequest("a consistency proof line is not base64 of 32 bytes"))
            }
            proof.append(hash)
        }
        let noteBytes = Array(body[offset...])
        let note: SignedNote
        do { note = try SignedNote.parse(noteBytes) } catch { return .refused(.malformedRequest(error.reason)) }
        let checkpoint: Checkpoint
        do { checkpoint = try Checkpoint.parse(body: note.text) } catch { return .refused(.malformedRequest(error.reason)) }
        guard let key = logs[checkpoint.origin] else { return .refused(.unknownLog(checkpoint.origin)) }
        guard case .verified = CheckpointVerifier(verifierKey: key, origin: checkpoint.origin).verify(noteBytes) else {
            return .refused(.notSignedByTheLog)
        }
        guard oldSize <= checkpoint.size else { return .refused(.oldSizeTooLarge(old: oldSize, size: checkpoint.size)) }
        let known = latest[checkpoint.origin]
        guard oldSize == (known?.size ?? 0) else { return .refused(.conflict(latestSize: known?.size ?? 0)) }
        if let known {
            if known.size == checkpoint.size {
                guard known.rootHash == checkpoint.rootHash, proof.isEmpty else { return .refused(.fork(size: known.size)) }
            } else {
                let consistency: ConsistencyProof
                do { consistency = try ConsistencyProof(oldSize: known.size, newSize: checkpoint.size, rawPath: proof) } catch {
                    return .refused(.malformedRequest(error.reason))
                }
                if case .invalid(let failure) = consistency.verify(oldRoot: known.rootHash, newRoot: checkpoint.rootHash) {
                    return .refused(.inconsistent(failure))
                }
            }
        } else if !proof.isEmpty {
            return .refused(.malformedRequest("the proof must be empty when the old size is 0"))
        }
        let line: String
        do { line = try signer.cosign(checkpoint, timestamp: now) } catch { return .refused(.malformedRequest(error.reason)) }
        latest[checkpoint.origin] = checkpoint
        return .cosigned(line: line, checkpoint: checkpoint)
    }

    static func decimal(_ text: Substring) -> UInt64? {
        guard !text.isEmpty, text.utf8.count <= 20, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), text == "0" || text.first != "0" else { return nil }
        return UInt64(text)
    }
}

/// What a witness answers.
public enum WitnessOutcome: Sendable, Equatable {
    /// Cosigned: the signature line (without newline), and the checkpoint now remembered.
    case cosigned(line: String, checkpoint: Checkpoint)
    /// Refused, and why.
    case refused(WitnessRefusal)
}

/// Why a witness refused to cosign.
public enum WitnessRefusal: Sendable, Equatable, CustomStringConvertible {
    /// The request breaks the grammar.
    case malformedRequest(String)
    /// The witness does not follow this log.
    case unknownLog(String)
    /// No signature by the log's key verifies.
    case notSignedByTheLog
    /// The old size is larger than the checkpoint's.
    case oldSizeTooLarge(old: UInt64, size: UInt64)
    /// The old size is not the size the witness last cosigned.
    case conflict(latestSize: UInt64)
    /// Same size as the last cosigned checkpoint, another root: a fork.
    case fork(size: UInt64)
    /// The consistency proof from the last cosigned checkpoint does not hold.
    case inconsistent(ProofFailure)

    /// The HTTP status c2sp.org/tlog-witness assigns.
    public var httpStatus: Int {
        switch self {
        case .malformedRequest, .oldSizeTooLarge: 400
        case .unknownLog: 404
        case .notSignedByTheLog: 403
        case .conflict, .fork: 409
        case .inconsistent: 422
        }
    }

    /// An English reason.
    public var description: String {
        switch self {
        case .malformedRequest(let why): "the request is malformed: \(why)"
        case .unknownLog(let origin): "this witness does not follow the log \(origin.debugDescription)"
        case .notSignedByTheLog: "the checkpoint is not signed by the log's key"
        case let .oldSizeTooLarge(old, size): "the old size \(old) is larger than the checkpoint's \(size)"
        case .conflict(let size): "the witness last cosigned a checkpoint of size \(size)"
        case .fork(let size): "the witness cosigned another root for size \(size): the log forked"
        case .inconsistent(let failure): "the checkpoint does not extend the one the witness cosigned: \(failure)"
        }
    }
}
