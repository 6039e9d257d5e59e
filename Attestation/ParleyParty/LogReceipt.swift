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
    /// How far back from the newest entry ``receipt(job:signingKey:hint:what:matching:)`` looks.
    public static let receiptSearchDepth: UInt64 = 1000

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
        try await find(job: job, hint: hint, what: what) { record in
            guard case .worker(let signed) = record.body, case .verified(let entry) = WorkerEntry.verify(signed, signingKey: signingKey),
                  entry.job == job else { return false }
            return matching(entry.kind)
        }
    }

    /// As ``receipt(job:signingKey:hint:what:matching:)`` for any entry of `job` for which `matching` holds.
    public func find(job: String, hint: UInt64? = nil, what: String, matching: (LogRecord) -> Bool) async throws -> LogReceipt {
        let head = try await follow()
        let size = head.checkpoint.size
        guard size > 0 else { throw ParleyError(.verificationFailed, "the host did not log \(what): its log is empty") }
        let top = min(hint.map { $0 > 0 ? $0 - 1 : 0 } ?? size - 1, size - 1)
        let bottom = top >= Self.receiptSearchDepth ? top - Self.receiptSearchDepth + 1 : 0
        var end = top + 1
        while end > bottom {
            let start = max(bottom, end >= 100 ? end - 100 : 0)
            let page = try await entries(start: start, count: Int(end - start))
            for (offset, bytes) in page.enumerated().reversed() {
                guard let record = try? LogRecord(bytes: bytes), record.job == job, matching(record) else { continue }
                let index = start + UInt64(offset)
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
            guard page.count == Int(end - start) else { break }
            end = start
        }
        throw ParleyError(.verificationFailed, "the host did not log \(what) (no such entry in its last \(Self.receiptSearchDepth) entries): "
                          + "the result or upload is not accounted for in the log; keep your state directory and tell the auditor")
    }
}
