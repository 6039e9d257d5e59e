import Foundation
import ParleyAudit
import ParleyCore
import ParleyLog

/// Proof that the host logged what the worker signed for this client (an accepted upload, a
/// release): the log entry, its index, a checkpoint that covers it, and the RFC 9162 inclusion
/// proof into that checkpoint. The client verifies it and keeps it in its state directory
/// (`receipts/<job>-<index>.cbor`, CBOR `parley/receipt/1`); an auditor can replay against it.
public struct LogReceipt: Sendable, Equatable {
    /// The `format` of a stored receipt.
    public static let format = "parley/receipt/1"
    /// The entry's index in the log.
    public let index: UInt64
    /// The `parley/log-entry/1` bytes (a `worker` entry).
    public let entry: [UInt8]
    /// The signed checkpoint note the proof leads to.
    public let checkpointNote: [UInt8]
    /// The inclusion proof, leaf first.
    public let proof: [TreeHash]

    /// The deterministic CBOR kept on disk.
    public var encoded: [UInt8] {
        CBOREncoder.encode(.textMap([
            "format": .text(Self.format), "index": .unsigned(index), "entry": .bytes(entry),
            "checkpoint": .bytes(checkpointNote), "proof": .array(proof.map { .bytes($0.bytes) }),
        ]))
    }
}

extension LogFollower {
    /// How many of the job's candidate entries ``find(job:kind:hint:what:matching:)`` reads
    /// before it gives up (the host's index points at them; each one read is proved).
    public static let maxCandidates = 16_384

    /// Finds the worker entry of `job` for which `matching` holds, signed by `signingKey` (the
    /// attested worker's), proves it is in the host's newest checkpoint (itself proved to extend
    /// what this client saw), and keeps the receipt.
    /// - Parameters:
    ///   - hint: the log size the host reported with its answer; the search starts just below it.
    ///   - what: what is looked for, for the refusal ("your upload of exposures").
    /// - Throws: ``LogRefusal`` if the log does not extend what this client saw; `ParleyError`
    ///   `.verificationFailed` if the host did not log it or the proof does not hold.
    public func receipt(job: String, signingKey: [UInt8], hint: UInt64? = nil, what: String,
                        matching: (WorkerEntryKind) -> Bool) async throws -> LogReceipt {
        try await find(job: job, kind: "worker", hint: hint, what: what) { record in
            guard case .worker(let signed) = record.body, case .verified(let entry) = WorkerEntry.verify(signed, signingKey: signingKey),
                  entry.job == job else { return false }
            return matching(entry.kind)
        }
    }

    /// As ``receipt(job:signingKey:hint:what:matching:)`` for any entry of `job` of `kind` (a
    /// `parley/log-entry/1` kind, or nil for any) for which `matching` holds. The host's index
    /// (`GET /v1/log/index`) says where the job's entries are, newest first; it is only a
    /// pointer: each entry read must be the job's and match, and the one used is proved into the
    /// checkpoint. A host that points elsewhere only makes the search fail, as not logging would.
    public func find(job: String, kind: String? = nil, hint: UInt64? = nil, what: String,
                     matching: (LogRecord) -> Bool) async throws -> LogReceipt {
        let head = try await follow()
        let size = head.checkpoint.size
        guard size > 0 else { throw ParleyError(.verificationFailed, "the host did not log \(what): its log is empty") }
        var before = min(hint ?? size, size)
        var read = 0
        search: while read < Self.maxCandidates, before > 0 {
            let candidates = try await jobIndex(job: job, kind: kind, before: before)
            guard !candidates.isEmpty else { break }
            for index in candidates {
                guard index < before else { throw ParleyError(.malformed, "the host's index of \(job) is not newest first below entry \(before)") }
                before = index
                read += 1
                guard let bytes = try await entries(start: index, count: 1).first, let record = try? LogRecord(bytes: bytes),
                      record.job == job, kind.map({ $0 == record.kind }) ?? true, matching(record) else {
                    if read >= Self.maxCandidates { break search }
                    continue
                }
                let proof = try await inclusionProof(index: index, size: size)
                if case .invalid(let failure) = proof.verify(leafHash: MerkleHashing.leafHash(bytes), rootHash: head.checkpoint.rootHash) {
                    throw ParleyError(.verificationFailed, "the host's inclusion proof of \(what) (entry \(index)) into its checkpoint of \(size) entries does not hold: \(failure)")
                }
                let receipt = LogReceipt(index: index, entry: bytes, checkpointNote: head.note, proof: proof.path)
                let dir = directory + "/receipts"
                try ClientState.makeDirectory(dir)
                try FileIO.write(receipt.encoded, to: dir + "/\(job)-\(index).cbor", mode: 0o600)
                return receipt
            }
        }
        throw ParleyError(.verificationFailed, "the host did not log \(what) (its index of \(job) points at no such entry): "
                          + "the result or upload is not accounted for in the log; keep your state directory and tell the auditor")
    }

    /// The host's index of `job`'s entries below `before`, newest first (untrusted pointers).
    func jobIndex(job: String, kind: String?, before: UInt64) async throws -> [UInt64] {
        let r = try await http.request("GET", "/v1/log/index?job=\(job)" + (kind.map { "&kind=\($0)" } ?? "") + "&before=\(before)")
        guard r.status == 200 else { throw ParleyError(.io, "the host gave no index of \(job)'s log entries (\(r.status)): \(r.errorMessage)") }
        let items = try CBORDecoder(limits: .init(maxBytes: 16 << 10, maxDepth: 2, maxItems: 1024)).decode(r.body).arrayValue("log index")
        return try items.map { try $0.unsignedValue("log index") }
    }
}
