import Foundation

/// The host's source of time: what "now" is and how to wait. Injected through
/// ``HostService/Configuration`` so that heartbeats, timeouts and timestamps can be driven by a
/// test without sleeping; production uses ``SystemClock``.
public protocol HostClock: Sendable {
    func now() -> Date
    /// Suspends the calling task for `seconds` of this clock's time.
    /// - Throws: `CancellationError` when the task is cancelled.
    func sleep(seconds: TimeInterval) async throws
}

/// Wall-clock time and `Task.sleep`.
public struct SystemClock: HostClock {
    public init() {}
    public func now() -> Date { Date() }
    public func sleep(seconds: TimeInterval) async throws {
        try await Task.sleep(nanoseconds: UInt64(max(0, seconds) * 1_000_000_000))
    }
}

/// The host's source of randomness (job ids, nonces it asks quotes for, the operator token).
/// Injected like the clock; production uses ``SystemRandom``.
public protocol HostRandom: Sendable {
    func bytes(_ count: Int) -> [UInt8]
}

/// The system's CSPRNG.
public struct SystemRandom: HostRandom {
    public init() {}
    public func bytes(_ count: Int) -> [UInt8] {
        var g = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &g) }
    }
}
