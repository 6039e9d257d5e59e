import Foundation
import ParleyEgress
import ParleyPrivacy

/// The clock a query's answer waits on, so that how long a run takes leaves the worker only
/// in whole multiples of a fixed quantum (docs/privacy.md, "Timing"). Injected, so tests
/// check the waiting without sleeping.
public protocol ReleaseClock: Sendable {
    /// Now, on a monotonic clock.
    var now: ContinuousClock.Instant { get }
    /// Blocks until `deadline`.
    func sleep(until deadline: ContinuousClock.Instant)
}

extension ReleaseClock {
    /// Blocks until the first multiple of `quantum` after `start` that is not before now
    /// (at least one quantum). A zero quantum returns at once.
    /// - Returns: the deadline waited for.
    @discardableResult
    func wait(untilQuantumAfter start: ContinuousClock.Instant, quantum: Duration) -> ContinuousClock.Instant {
        let deadline = start + ReleaseTiming.releaseAfter(elapsed: now - start, quantum: quantum)
        sleep(until: deadline)
        return deadline
    }
}

/// The production clock: `ContinuousClock` and `clock_nanosleep`.
public struct SystemReleaseClock: ReleaseClock {
    /// Creates the clock.
    public init() {}
    /// Now.
    public var now: ContinuousClock.Instant { ContinuousClock.now }
    /// Sleeps until `deadline` (at once if it has passed).
    public func sleep(until deadline: ContinuousClock.Instant) {
        let remaining = deadline - ContinuousClock.now
        guard remaining > .zero else { return }
        let (seconds, attoseconds) = remaining.components
        var request = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
        var left = timespec()
        while nanosleep(&request, &left) != 0 && errno == EINTR { request = left }
    }
}
