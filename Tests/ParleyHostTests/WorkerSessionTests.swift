import Foundation
import ParleyCore
import ParleyHost
import ParleyHostTesting
import XCTest

/// The session's supervision, driven through an in-memory worker and a manual clock: no
/// process is spawned and no test sleeps for the heartbeat timeout.
final class WorkerSessionTests: XCTestCase {
    let runtime = MeasurementDigest.of([1, 2, 3])

    /// Collects failure reports, to check each failure is reported exactly once.
    final class Reports: @unchecked Sendable {
        private let lock = NSLock()
        private var items: [String] = []
        func add(_ s: String) { lock.lock(); items.append(s); lock.unlock() }
        var all: [String] { lock.lock(); defer { lock.unlock() }; return items }
    }

    func session(_ worker: InMemoryWorker, clock: ManualClock) throws -> (WorkerSession, Reports) {
        let s = WorkerSession(channel: worker.channel, process: worker, runtime: runtime,
                              heartbeatInterval: 1, heartbeatTimeout: 10, clock: clock)
        let reports = Reports()
        s.onFailure = { reports.add($0) }
        let ready = try s.request(.start(.init(job: "job-test", module: [], debug: false, ledger: nil)),
                                  expecting: [.ready], timeout: 10)
        XCTAssertEqual(ready.kind, .ready)
        s.handle(.workerReady)
        return (s, reports)
    }

    /// Waits (in real time, bounded) until the session's ticker is parked on the clock again.
    func parked(_ clock: ManualClock) -> Bool {
        let deadline = Date().addingTimeInterval(10)
        while clock.sleeping == 0 && Date() < deadline { usleep(1_000) }
        return clock.sleeping > 0
    }

    func testASilentWorkerFailsOnceTheClockPassesTheHeartbeatTimeout() throws {
        let clock = ManualClock()
        let worker = try InMemoryWorker { m in m.kind == .heartbeat ? [] : InMemoryWorker.standard(m) }
        let (s, reports) = try session(worker, clock: clock)
        XCTAssertTrue(parked(clock))
        clock.advance(by: 5)
        XCTAssertTrue(worker.waitFor(.heartbeat), "the host sends heartbeats on the clock's time")
        XCTAssertEqual(s.state, .attesting, "5 s of silence is within the 10 s timeout")
        XCTAssertTrue(parked(clock))
        clock.advance(by: 6)
        XCTAssertTrue(s.waitForExit(timeout: 10), "the silent worker is killed")
        XCTAssertEqual(s.state, .failed("the worker stopped answering (no heartbeat for 10 s)"))
        XCTAssertEqual(reports.all, ["the worker stopped answering (no heartbeat for 10 s)"], "reported once, as it happened")
    }

    func testAWorkerThatAnswersHeartbeatsStaysUpHoweverLongTheClockRuns() throws {
        let clock = ManualClock()
        let worker = try InMemoryWorker()
        let (s, reports) = try session(worker, clock: clock)
        for second in 1...30 {
            XCTAssertTrue(parked(clock))
            clock.advance(by: 1)
            XCTAssertTrue(worker.waitFor(.heartbeat, count: second), "heartbeat \(second) was sent")
        }
        XCTAssertEqual(s.state, .attesting)
        XCTAssertEqual(reports.all, [])
        s.stop()
        XCTAssertTrue(s.waitForExit(timeout: 10))
        XCTAssertEqual(s.state, .stopped)
        XCTAssertEqual(reports.all, [], "an operator's stop is not a failure")
    }

    func testAWorkerThatCrashesMidRequestFailsTheJobWithItsExit() throws {
        let crash = "killed by signal 11 SIGSEGV (a crash)"
        let worker = try InMemoryWorker { m in m.kind == .query ? [.exit(crash)] : InMemoryWorker.standard(m) }
        let (s, reports) = try session(worker, clock: ManualClock())
        XCTAssertThrowsError(try s.request(.query(.init(query: "q", receiver: "r", nonce: [], signature: [])),
                                           expecting: [.result, .queryRefused], timeout: 10))
        XCTAssertTrue(s.waitForExit(timeout: 10))
        XCTAssertEqual(s.state, .failed("the worker exited: \(crash)"))
        XCTAssertEqual(reports.all, ["the worker exited: \(crash)"])
        // A later event changes nothing and reports nothing.
        XCTAssertEqual(s.handle(.protocolViolation("late")), [.rejected("the job is failed")])
        XCTAssertEqual(reports.all.count, 1)
    }

    func testAnAnswerOfTheWrongKindIsAProtocolViolationAndKillsTheWorker() throws {
        let worker = try InMemoryWorker { m in
            m.kind == .uploadEnd ? [.send(.closed(entry: [0xa0]))] : InMemoryWorker.standard(m)
        }
        let (s, reports) = try session(worker, clock: ManualClock())
        XCTAssertThrowsError(try s.request(.uploadEnd(dataset: "d"), expecting: [.uploadAccepted, .uploadRefused])) {
            // The worker's fault, not the caller's input: internal (issue #11, part 7).
            XCTAssertEqual(($0 as? ParleyError)?.code, .internal)
        }
        XCTAssertTrue(s.waitForExit(timeout: 10), "the host kills a worker that breaks the protocol")
        XCTAssertEqual(s.state, .failed("the worker broke the protocol: answered upload_end with closed"))
        XCTAssertEqual(reports.all, ["the worker broke the protocol: answered upload_end with closed"])
    }

    func testAFailureBeforeAnyoneListensIsReportedWhenTheyDo() throws {
        let worker = try InMemoryWorker()
        let s = WorkerSession(channel: worker.channel, process: worker, runtime: runtime, clock: ManualClock())
        worker.kill()
        XCTAssertTrue(s.waitForExit(timeout: 10))
        let reports = Reports()
        s.onFailure = { reports.add($0) }
        XCTAssertEqual(reports.all, ["the worker exited: killed by signal 9 SIGKILL (killed: a memory or process limit, or the host)"])
    }
}
