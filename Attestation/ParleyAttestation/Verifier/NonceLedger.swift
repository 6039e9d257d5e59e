import Foundation
import ParleyCore

/// A party's record of the nonces it has already accepted evidence for, within a window: a
/// document replayed with an old nonce is refused even while it is still fresh.
public protocol NonceLedger {
    /// Whether `nonce` was recorded within the window before `now`.
    func contains(_ nonce: Nonce, now: Date) -> Bool
    /// Records `nonce` as used at `time`.
    mutating func record(_ nonce: Nonce, at time: Date) throws
}

/// A ledger in memory (one process, e.g. `parley upload`).
public struct InMemoryNonceLedger: NonceLedger {
    public let window: TimeInterval
    private var seen: [Nonce: Date] = [:]

    public init(window: TimeInterval = 86_400) { self.window = window }

    public func contains(_ nonce: Nonce, now: Date) -> Bool {
        guard let t = seen[nonce] else { return false }
        return now.timeIntervalSince(t) < window
    }

    public mutating func record(_ nonce: Nonce, at time: Date) throws {
        seen = seen.filter { time.timeIntervalSince($0.value) < window }
        seen[nonce] = time
    }
}

/// A ledger in a file, one `hexnonce unix-ms` line per nonce, for verifications across runs of
/// `parley attest verify`. Entries older than the window are dropped on each write; the file is
/// rewritten atomically.
public struct FileNonceLedger: NonceLedger {
    public let path: String
    public let window: TimeInterval
    private var memory: InMemoryNonceLedger

    /// Opens (or starts) the ledger at `path`.
    public init(path: String, window: TimeInterval = 86_400) throws {
        self.path = path
        self.window = window
        self.memory = InMemoryNonceLedger(window: window)
        guard FileManager.default.fileExists(atPath: path) else { return }
        for line in try FileIO.readText(path, maxBytes: 16 << 20).split(separator: "\n") {
            let parts = line.split(separator: " ")
            guard parts.count == 2, let ms = Double(parts[1]), let n = try? Nonce(hex: String(parts[0])) else {
                throw ParleyError(.malformed, "nonce ledger \(path) has a malformed line; delete the file to start a new ledger")
            }
            try memory.record(n, at: Date(timeIntervalSince1970: ms / 1000))
        }
    }

    public func contains(_ nonce: Nonce, now: Date) -> Bool { memory.contains(nonce, now: now) }

    public mutating func record(_ nonce: Nonce, at time: Date) throws {
        try memory.record(nonce, at: time)
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        try FileIO.write(Array(memory.lines().utf8), to: path, mode: 0o600)
    }
}

extension InMemoryNonceLedger {
    func lines() -> String {
        seen.sorted { $0.value < $1.value }
            .map { "\($0.key.hex) \(Int64($0.value.timeIntervalSince1970 * 1000))\n" }.joined()
    }
}
