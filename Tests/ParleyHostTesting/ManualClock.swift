import Foundation
import ParleyHost

/// A ``HostClock`` that moves only when a test says so: `sleep` suspends until ``advance(by:)``
/// passes the sleeper's deadline, so heartbeat timeouts and ages are tested without waiting.
public final class ManualClock: HostClock, @unchecked Sendable {
    // @unchecked: `current` and `sleepers` are guarded by `lock`.
    private let lock = NSLock()
    private var current: Date
    private var sleepers: [(id: UInt64, deadline: Date, wake: CheckedContinuation<Void, any Error>)] = []
    private var nextID: UInt64 = 0

    public init(_ start: Date = Date(timeIntervalSince1970: 1_780_000_000)) { current = start }

    public func now() -> Date {
        lock.lock()
        defer { lock.unlock() }
        return current
    }

    /// How many tasks are asleep on this clock (a test waits for the ticker to be parked).
    public var sleeping: Int {
        lock.lock()
        defer { lock.unlock() }
        return sleepers.count
    }

    public func sleep(seconds: TimeInterval) async throws {
        let id = lock.withLock { nextID += 1; return nextID }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
                lock.lock()
                if Task.isCancelled {
                    lock.unlock()
                    c.resume(throwing: CancellationError())
                    return
                }
                sleepers.append((id, current.addingTimeInterval(seconds), c))
                lock.unlock()
            }
        } onCancel: {
            lock.lock()
            let cancelled = sleepers.filter { $0.id == id }
            sleepers.removeAll { $0.id == id }
            lock.unlock()
            for s in cancelled { s.wake.resume(throwing: CancellationError()) }
        }
    }

    /// Moves time forward and wakes every sleeper whose deadline has passed.
    public func advance(by seconds: TimeInterval) {
        lock.lock()
        current = current.addingTimeInterval(seconds)
        let due = sleepers.filter { $0.deadline <= current }
        sleepers.removeAll { $0.deadline <= current }
        lock.unlock()
        for s in due { s.wake.resume() }
    }
}

/// A ``HostRandom`` that repeats a fixed byte pattern: job ids and nonces a test can predict.
public struct FixedRandom: HostRandom {
    public let seed: UInt8
    public init(seed: UInt8 = 0x2a) { self.seed = seed }
    public func bytes(_ count: Int) -> [UInt8] { (0..<count).map { seed &+ UInt8(truncatingIfNeeded: $0) } }
}
