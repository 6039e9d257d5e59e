import Foundation
import ParleyParty
import XCTest

/// The upload's progress bar: what a line says (percentage, MiB, a recent rate, time left), how
/// often it is drawn, the closing line, and that nothing is drawn when it is off. Times are fed
/// in (steps of 1/8 s, exact in binary), never read.
final class ProgressBarTests: XCTestCase {
    let label = "uploading exposures"

    func testALineShowsPercentMiBRateAndTimeLeft() {
        let line = ProgressMeter.line(label: label, done: 50 << 20, total: 100 << 20, bytesPerSecond: 25e6)
        // 52,428,800 bytes left at 25 MB/s is 2.1 s, shown rounded up.
        XCTAssertEqual(line, "uploading exposures [############             ]  50%  50.0/100.0 MiB  25.0 MB/s  ETA 0:03")
    }

    func testALineWithoutARateShowsDashes() {
        XCTAssertEqual(ProgressMeter.line(label: label, done: 0, total: 3 << 20, bytesPerSecond: nil),
                       "uploading exposures [                         ]   0%  0.0/3.0 MiB  -- MB/s  ETA --:--")
        XCTAssertEqual(ProgressMeter.line(label: label, done: 1 << 20, total: 3 << 20, bytesPerSecond: 0),
                       "uploading exposures [########                 ]  33%  1.0/3.0 MiB  -- MB/s  ETA --:--")
    }

    func testTheLastLineSaysEverythingIsSentAndTheReceiptIsAwaited() throws {
        XCTAssertEqual(ProgressMeter.line(label: label, done: 3 << 20, total: 3 << 20, bytesPerSecond: 12.5e6),
                       "uploading exposures [#########################] 100%  3.0/3.0 MiB  12.5 MB/s  sent, waiting for the receipt")
        // All of it sent within the first half second: the rate over that short time is shown.
        var meter = ProgressMeter(label: label, total: 4_000_000, start: 0)
        XCTAssertTrue(try XCTUnwrap(meter.advance(to: 1_000_000, at: 0.125)).hasSuffix("-- MB/s  ETA --:--"))
        XCTAssertTrue(try XCTUnwrap(meter.advance(to: 4_000_000, at: 0.25)).hasSuffix("16.0 MB/s  sent, waiting for the receipt"))
    }

    func testTimeLeftIsMinutesAndSecondsThenHours() {
        XCTAssertEqual(ProgressMeter.clock(0), "0:00")
        XCTAssertEqual(ProgressMeter.clock(0.2), "0:01")
        XCTAssertEqual(ProgressMeter.clock(59.5), "1:00")
        XCTAssertEqual(ProgressMeter.clock(754), "12:34")
        XCTAssertEqual(ProgressMeter.clock(3725), "1:02:05")
        XCTAssertEqual(ProgressMeter.clock(.infinity), "--:--")
    }

    func testTheLineIsRedrawnAtMostTenTimesASecondAndAlwaysAtTheEnd() {
        var meter = ProgressMeter(label: label, total: 1000, start: 0)
        XCTAssertNotNil(meter.advance(to: 100, at: 0.125))
        XCTAssertNil(meter.advance(to: 200, at: 0.1875), "drawn 1/16 s after the last line")
        XCTAssertNil(meter.advance(to: 300, at: 0.21875))
        XCTAssertNotNil(meter.advance(to: 400, at: 0.25))
        XCTAssertNotNil(meter.advance(to: 1000, at: 0.3125), "the last piece is drawn however soon it comes")
        XCTAssertEqual(meter.done, 1000)
    }

    func testNoRateIsShownInTheFirstHalfSecond() throws {
        var meter = ProgressMeter(label: label, total: 100_000_000, start: 0)
        let early = try XCTUnwrap(meter.advance(to: 5_000_000, at: 0.25))
        XCTAssertTrue(early.hasSuffix("-- MB/s  ETA --:--"), early)
        let later = try XCTUnwrap(meter.advance(to: 10_000_000, at: 0.5))
        XCTAssertTrue(later.hasSuffix("20.0 MB/s  ETA 0:05"), later)
    }

    /// 10 s at 10 MB/s, then 4 s at 50 MB/s: the whole upload's average is 21.4 MB/s, the line
    /// shows the last seconds' 50 MB/s and the time left at that speed.
    func testTheRateFollowsTheLastSecondsNotTheWholeAverage() throws {
        var meter = ProgressMeter(label: label, total: 1_000_000_000, start: 0)
        var done: Int64 = 0
        var last = ""
        for step in 1...112 { // 1/8 s each: 80 slow steps (10 s), then 32 fast ones (4 s)
            done += step <= 80 ? 1_250_000 : 6_250_000
            last = try XCTUnwrap(meter.advance(to: done, at: Double(step) / 8))
        }
        XCTAssertEqual(done, 300_000_000)
        XCTAssertEqual(try XCTUnwrap(meter.rate(at: 14)), 50e6, accuracy: 1)
        // 700 MB left at 50 MB/s.
        XCTAssertTrue(last.hasSuffix("  30%  286.1/953.7 MiB  50.0 MB/s  ETA 0:14"), last)
        XCTAssertEqual(meter.summary(at: 14), "uploading exposures: 300.0 MB in 14.0 s (21.4 MB/s on average)")
    }

    func testTheClosingLineSaysMBSecondsAndTheAverage() {
        XCTAssertEqual(ProgressMeter.summary(label: label, bytes: 150_200_000, seconds: 1.9),
                       "uploading exposures: 150.2 MB in 1.9 s (79.1 MB/s on average)")
        XCTAssertEqual(ProgressMeter.summary(label: label, bytes: 0, seconds: 0),
                       "uploading exposures: 0.0 MB in 0.0 s (-- MB/s on average)")
    }

    /// The bar itself, with a fake clock and its output captured: throttled redraws, each
    /// starting with a carriage return and clearing the rest of the line, then the summary.
    func testTheBarDrawsThrottledLinesThenTheSummary() {
        let clock = FakeClock(), out = Captured()
        let bar = ProgressBar(label: label, enabled: true, clock: { clock.now }, write: { out.append($0) })
        for step in 1...16 { // 1 s in 1/16 s steps: a line every other step at most
            clock.now = Double(step) / 16
            bar.update(Int64(step) * 1_000_000, 16_000_000)
        }
        clock.now = 2.5
        bar.finish()
        let written = out.all
        XCTAssertEqual(written.count, 10, "every other update drawn (8), the last one always, and the summary: \(written)")
        XCTAssertTrue(written.dropLast().allSatisfy { $0.hasPrefix("\r\(label) [") && $0.hasSuffix("\u{1B}[K") })
        XCTAssertTrue(written[8].contains("100%  15.3/15.3 MiB"), written[8])
        XCTAssertEqual(written.last, "\r\(label): 16.0 MB in 2.5 s (6.4 MB/s on average)\u{1B}[K\n")
    }

    func testABarThatIsOffWritesNothing() {
        let clock = FakeClock(), out = Captured()
        let bar = ProgressBar(label: label, enabled: false, clock: { clock.now }, write: { out.append($0) })
        for step in 1...8 {
            clock.now = Double(step)
            bar.update(Int64(step), 8)
        }
        bar.finish()
        bar.abandon()
        XCTAssertEqual(out.all, [])
    }

    func testAnAbandonedBarEndsItsLineWithoutASummary() {
        let clock = FakeClock(), out = Captured()
        let bar = ProgressBar(label: label, enabled: true, clock: { clock.now }, write: { out.append($0) })
        clock.now = 1
        bar.update(10, 100)
        bar.abandon()
        XCTAssertEqual(out.all.count, 2)
        XCTAssertEqual(out.all.last, "\n")
    }
}

private final class FakeClock: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0.0
    var now: Double {
        get { lock.lock(); defer { lock.unlock() }; return value }
        set { lock.lock(); value = newValue; lock.unlock() }
    }
}

private final class Captured: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func append(_ s: String) { lock.lock(); lines.append(s); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return lines }
}
