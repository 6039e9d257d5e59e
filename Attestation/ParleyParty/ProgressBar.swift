import Foundation

/// What an upload's progress bar shows, as a value-type state machine: it is told how many
/// bytes are done at what time (seconds on any monotonic scale) and answers with the line to
/// draw, or nil when the last one is recent enough. It reads no clock and writes nothing, so a
/// test can feed it times and compare lines.
public struct ProgressMeter: Sendable, Equatable {
    /// Shortest time between two drawn lines, seconds (about ten a second at most).
    public static let redrawInterval = 0.1
    /// The rate shown is over about this many recent seconds, so it follows a change of speed
    /// rather than the whole upload's average.
    public static let rateWindow = 3.0
    /// Below this much time in the window, no rate (nor time left) is shown yet.
    public static let shortestWindow = 0.5

    public let label: String
    public let total: Int64
    public let start: Double
    public private(set) var done: Int64 = 0
    /// (time, bytes done) at each drawn line within the last ``rateWindow`` seconds, oldest first.
    private var samples: [Sample]
    private var lastDraw: Double?

    struct Sample: Sendable, Equatable { var time: Double; var bytes: Int64 }

    /// - Parameters:
    ///   - label: what is being done ("uploading exposures").
    ///   - total: bytes to do; at least 1 is assumed.
    ///   - start: when it started, on the same scale as the times given to ``advance(to:at:)``.
    public init(label: String, total: Int64, start: Double) {
        self.label = label
        self.total = max(total, 1)
        self.start = start
        samples = [Sample(time: start, bytes: 0)]
    }

    /// Records that `done` bytes are done at `now`.
    /// - Returns: the line to draw, or nil when one was drawn less than ``redrawInterval`` ago
    ///   (the last piece, `done == total`, is always drawn).
    public mutating func advance(to done: Int64, at now: Double) -> String? {
        self.done = min(max(done, 0), total)
        if let lastDraw, now - lastDraw < Self.redrawInterval, self.done < total { return nil }
        lastDraw = now
        samples.append(Sample(time: now, bytes: self.done))
        // Keep the newest sample at or before the window's start as its anchor, drop older ones.
        while samples.count > 2, samples[1].time <= now - Self.rateWindow { samples.removeFirst() }
        return Self.line(label: label, done: self.done, total: total, bytesPerSecond: rate(at: now, final: self.done == total))
    }

    /// Bytes a second over the recent window, or nil while the window is too short to say.
    /// - Parameter final: all is done: any window longer than zero says the rate.
    public func rate(at now: Double, final: Bool = false) -> Double? {
        guard let anchor = samples.first, now - anchor.time >= (final ? .leastNonzeroMagnitude : Self.shortestWindow) else { return nil }
        return Double(done - anchor.bytes) / (now - anchor.time)
    }

    /// The closing line: what was done, in how long, at what average rate.
    public func summary(at now: Double) -> String {
        Self.summary(label: label, bytes: done, seconds: now - start)
    }

    /// One progress line: `label [#####    ]  37%  53.1/143.2 MiB  75.3 MB/s  ETA 0:01`; once
    /// everything is sent, `... 100%  143.2/143.2 MiB  75.3 MB/s  sent, waiting for the receipt`
    /// (the worker's acceptance comes after its last byte).
    /// - Parameter bytesPerSecond: the recent rate; nil (not known yet) or 0 shows dashes.
    public static func line(label: String, done: Int64, total: Int64, bytesPerSecond: Double?) -> String {
        let total = max(total, 1)
        let fraction = min(max(Double(done) / Double(total), 0), 1)
        let percent = Int(fraction * 100)
        let filled = Int(fraction * 25)
        let bar = String(repeating: "#", count: filled) + String(repeating: " ", count: 25 - filled)
        let size = "\(mib(done))/\(mib(total)) MiB"
        let rate: String
        let eta: String
        if let bps = bytesPerSecond, bps > 0, bps.isFinite {
            rate = format(bps / 1e6, digits: 1) + " MB/s"
            eta = "ETA " + clock(Double(total - min(done, total)) / bps)
        } else {
            rate = "-- MB/s"
            eta = "ETA --:--"
        }
        if done >= total { return "\(label) [\(bar)] 100%  \(size)  \(rate)  sent, waiting for the receipt" }
        return "\(label) [\(bar)] \(pad(percent, 3))%  \(size)  \(rate)  \(eta)"
    }

    /// `label: 150.2 MB in 1.9 s (79.1 MB/s on average)`.
    public static func summary(label: String, bytes: Int64, seconds: Double) -> String {
        let average = seconds > 0 ? format(Double(bytes) / seconds / 1e6, digits: 1) + " MB/s" : "-- MB/s"
        return "\(label): \(format(Double(bytes) / 1e6, digits: 1)) MB in \(format(max(seconds, 0), digits: 1)) s (\(average) on average)"
    }

    /// Seconds as `m:ss`, or `h:mm:ss` from an hour; rounded up, so the last second shows 0:01.
    public static func clock(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds < 360_000 else { return "--:--" }
        let s = Int(max(seconds, 0).rounded(.up))
        let (h, m, r) = (s / 3600, s / 60 % 60, s % 60)
        let two = { (n: Int) in n < 10 ? "0\(n)" : "\(n)" }
        return h > 0 ? "\(h):\(two(m)):\(two(r))" : "\(m):\(two(r))"
    }

    static func mib(_ bytes: Int64) -> String { format(Double(bytes) / 1_048_576, digits: 1) }

    static func format(_ value: Double, digits: Int) -> String { String(format: "%.\(digits)f", value) }

    static func pad(_ n: Int, _ width: Int) -> String {
        let s = String(n)
        return String(repeating: " ", count: max(width - s.count, 0)) + s
    }
}

/// A one-line progress bar on standard error, drawn only when it is a terminal: a
/// ``ProgressMeter`` fed by a clock, redrawn at most ten times a second, and a closing line.
public final class ProgressBar: @unchecked Sendable {
    // @unchecked: `meter` is touched only under `lock`.
    public let label: String
    /// False when standard error is not a terminal: nothing is ever written then.
    public let enabled: Bool
    private let clock: @Sendable () -> Double
    private let write: @Sendable (String) -> Void
    private let started: Double
    private let lock = NSLock()
    private var meter: ProgressMeter?

    /// Seconds on the system's monotonic clock (`CLOCK_MONOTONIC` on Linux).
    public static let monotonicSeconds: @Sendable () -> Double = { ProcessInfo.processInfo.systemUptime }

    /// - Parameters:
    ///   - enabled: whether to draw at all; by default, whether standard error is a terminal.
    ///   - clock: seconds on a monotonic scale; read once here (the start) and at each update.
    ///   - write: where the text goes; by default standard error.
    public init(label: String, enabled: Bool = isatty(2) == 1, clock: @escaping @Sendable () -> Double = ProgressBar.monotonicSeconds,
                write: @escaping @Sendable (String) -> Void = { FileHandle.standardError.write(Data($0.utf8)) }) {
        self.label = label
        self.enabled = enabled
        self.clock = clock
        self.write = write
        started = clock()
    }

    /// Records `done` of `total` bytes; redraws the line if the last one is old enough.
    public func update(_ done: Int64, _ total: Int64) {
        guard enabled else { return }
        let now = clock()
        lock.lock()
        defer { lock.unlock() }
        if meter == nil { meter = ProgressMeter(label: label, total: total, start: started) }
        if let line = meter?.advance(to: done, at: now) { write("\r" + line + "\u{1B}[K") }
    }

    /// Replaces the bar by the closing line (total MB, seconds, average MB/s).
    public func finish() {
        guard enabled else { return }
        let now = clock()
        lock.lock()
        defer { lock.unlock() }
        let meter = self.meter ?? ProgressMeter(label: label, total: 0, start: started)
        write("\r" + meter.summary(at: now) + "\u{1B}[K\n")
    }

    /// Ends the bar's line without a summary (the upload failed), so what follows starts clean.
    public func abandon() {
        guard enabled else { return }
        lock.lock()
        defer { lock.unlock() }
        if meter != nil { write("\n") }
    }
}
