import Foundation
import ParleyAudit
import ParleyCore
import ParleyHostLog
import ParleyLog
import ParleyParty

/// Gathers witnesses' cosignatures for the host's newest checkpoint (c2sp.org/tlog-witness
/// `add-checkpoint`, with a consistency proof from the size each witness last cosigned), and
/// serves the checkpoint with them attached. The host does not verify them: parties do, with the
/// witness keys their policies pin. A witness that refuses or cannot be reached adds nothing for
/// now: the next request for the same checkpoint, at least `retryInterval` later, asks it again
/// (only the witnesses that have not cosigned it), so a witness that was down for a moment does
/// not leave a checkpoint short of cosignatures until the log next grows.
public final class WitnessCollector: @unchecked Sendable {
    // @unchecked: `tail` is guarded by `lock`; `lastSize` and `cached` are touched only by the
    // collections, which run one at a time (each waits for the one before it).
    /// The witnesses' submission prefixes (`http://host:port`).
    public let witnesses: [String]
    /// How long after a witness failed to cosign a checkpoint it is asked again.
    public let retryInterval: TimeInterval
    private let now: @Sendable () -> Date
    private let lock = NSLock()
    private var tail: Task<[UInt8], Never>?
    private var lastSize: [String: UInt64] = [:]
    /// The newest checkpoint's cosignature lines by witness, and when the missing ones were last asked.
    private var cached: (size: UInt64, lines: [String: [String]], asked: Date)?

    /// Collects from `witnesses` (none: checkpoints are served as the log signed them).
    /// - Parameters:
    ///   - retryInterval: how soon a witness that did not cosign is asked again (default 5 s).
    ///   - now: the clock (injected for tests).
    public init(witnesses: [String], retryInterval: TimeInterval = 5, now: @escaping @Sendable () -> Date = { Date() }) {
        self.witnesses = witnesses
        self.retryInterval = retryInterval
        self.now = now
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
        var lines: [String: [String]] = cached?.size == size ? cached?.lines ?? [:] : [:]
        let missing = witnesses.filter { lines[$0] == nil }
        let due = cached?.size != size || now().timeIntervalSince(cached?.asked ?? .distantPast) >= retryInterval
        if !missing.isEmpty && due {
            for witness in missing {
                if let got = await submit(note, size: size, to: witness, log: log) { lines[witness] = got }
            }
            cached = (size, lines, now())
        }
        // In the configured order, so every party is served the same bytes.
        let all = witnesses.flatMap { lines[$0] ?? [] }
        return (try? parsed.adding(signatureLines: all)) ?? note
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
