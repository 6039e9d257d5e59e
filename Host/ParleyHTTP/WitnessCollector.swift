import Foundation
import ParleyAudit
import ParleyCore
import ParleyHostLog
import ParleyLog
import ParleyParty

/// Gathers witnesses' cosignatures for the host's newest checkpoint (c2sp.org/tlog-witness
/// `add-checkpoint`, with a consistency proof from the size each witness last cosigned), and
/// serves the checkpoint with them attached. The host does not verify them: parties do, with the
/// witness keys their policies pin. A witness that refuses or cannot be reached adds nothing.
public final class WitnessCollector: @unchecked Sendable {
    // @unchecked: `tail` is guarded by `lock`; `lastSize` and `cached` are touched only by the
    // collections, which run one at a time (each waits for the one before it).
    /// The witnesses' submission prefixes (`http://host:port`).
    public let witnesses: [String]
    private let lock = NSLock()
    private var tail: Task<[UInt8], Never>?
    private var lastSize: [String: UInt64] = [:]
    private var cached: (size: UInt64, note: [UInt8])?

    /// Collects from `witnesses` (none: checkpoints are served as the log signed them).
    public init(witnesses: [String]) {
        self.witnesses = witnesses
    }

    /// The newest checkpoint of `log` with every cosignature the witnesses gave for it.
    /// Concurrent calls are answered one after another, so each witness sees one submission at a time.
    /// - Throws: what `HostLog` throws reading the log.
    public func cosignedCheckpoint(_ log: HostLog) async throws -> [UInt8] {
        let note = try log.checkpoint()
        guard !witnesses.isEmpty, let parsed = try? SignedNote.parse(note), let checkpoint = try? Checkpoint.parse(body: parsed.text) else { return note }
        let collection: Task<[UInt8], Never> = lock.withLock {
            let previous = tail
            let next = Task {
                _ = await previous?.value
                return await self.collect(note, parsed: parsed, size: checkpoint.size, log: log)
            }
            tail = next
            return next
        }
        return await collection.value
    }

    private func collect(_ note: [UInt8], parsed: SignedNote, size: UInt64, log: HostLog) async -> [UInt8] {
        if let cached, cached.size == size { return cached.note }
        var lines: [String] = []
        for witness in witnesses {
            if let line = await submit(note, size: size, to: witness, log: log) { lines.append(contentsOf: line) }
        }
        let cosigned = (try? parsed.adding(signatureLines: lines)) ?? note
        cached = (size, cosigned)
        return cosigned
    }

    /// One `add-checkpoint`, retried once with the size a 409 names. - Returns: the signature lines.
    private func submit(_ note: [UInt8], size: UInt64, to witness: String, log: HostLog) async -> [String]? {
        guard let http = try? HTTP(server: witness) else { return nil }
        var old = min(lastSize[witness] ?? 0, size)
        for _ in 0..<2 {
            guard let proof = try? log.consistencyProof(from: old, to: size) else { return nil }
            let body = Array("old \(old)\n".utf8) + Array(proof.map { Data($0).base64EncodedString() + "\n" }.joined().utf8) + [0x0a] + note
            guard let reply = try? await http.request("POST", "/add-checkpoint", body: body, headers: ["Content-Type": "text/plain"]) else { return nil }
            switch reply.status {
            case 200:
                lastSize[witness] = size
                return reply.text.split(separator: "\n").map(String.init).filter { $0.hasPrefix("\u{2014} ") }
            case 409:
                guard let latest = UInt64(reply.text.trimmingCharacters(in: .whitespacesAndNewlines)), latest <= size, latest != old else { return nil }
                old = latest
            default:
                return nil
            }
        }
        return nil
    }
}
