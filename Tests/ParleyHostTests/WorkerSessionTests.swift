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

    func session(_ worker: InMemoryWorker, clock: ManualClock) async throws -> (WorkerSession, Reports) {
        let s = WorkerSession(channel: worker.channel, process: worker, runtime: runtime,
                              heartbeatInterval: 1, heartbeatTimeout: 10, clock: clock)
        let reports = Reports()
        await s.setFailureHandler { reports.add($0) }
        let ready = try await s.request(.start(.init(job: "job-test", module: [], debug: false, ledger: nil)),
                                  expecting: [.ready], timeout: 10)
        XCTAssertEqual(ready.kind, .ready)
        await s.handle(.workerReady)
        return (s, reports)
    }

    /// Waits (in real time, bounded) until the session's ticker is parked on the clock again.
    func parked(_ clock: ManualClock, count: Int = 1) -> Bool {
        let deadline = Date().addingTimeInterval(10)
        while clock.sleeping < count && Date() < deadline { usleep(1_000) }
        return clock.sleeping >= count
    }

    func testASilentWorkerFailsOnceTheClockPassesTheHeartbeatTimeout() async throws {
        let clock = ManualClock()
        let worker = try InMemoryWorker { m in m.kind == .heartbeat ? [] : InMemoryWorker.standard(m) }
        let (s, reports) = try await session(worker, clock: clock)
        XCTAssertTrue(parked(clock))
        clock.advance(by: 5)
        XCTAssertTrue(worker.waitFor(.heartbeat), "the host sends heartbeats on the clock's time")
        let v1 = await s.state
        XCTAssertEqual(v1, .attesting, "5 s of silence is within the 10 s timeout")
        XCTAssertTrue(parked(clock))
        clock.advance(by: 6)
        let v2 = await s.waitForExit(timeout: 10)
        XCTAssertTrue(v2, "the silent worker is killed")
        let v3 = await s.state
        XCTAssertEqual(v3, .failed("the worker stopped answering (no heartbeat for 10 s)"))
        XCTAssertEqual(reports.all, ["the worker stopped answering (no heartbeat for 10 s)"], "reported once, as it happened")
    }

    func testAWorkerThatAnswersHeartbeatsStaysUpHoweverLongTheClockRuns() async throws {
        let clock = ManualClock()
        let worker = try InMemoryWorker()
        let (s, reports) = try await session(worker, clock: clock)
        for second in 1...30 {
            XCTAssertTrue(parked(clock))
            clock.advance(by: 1)
            XCTAssertTrue(worker.waitFor(.heartbeat, count: second), "heartbeat \(second) was sent")
        }
        let v4 = await s.state
        XCTAssertEqual(v4, .attesting)
        XCTAssertEqual(reports.all, [])
        await s.stop()
        let v5 = await s.waitForExit(timeout: 10)
        XCTAssertTrue(v5)
        let v6 = await s.state
        XCTAssertEqual(v6, .stopped)
        XCTAssertEqual(reports.all, [], "an operator's stop is not a failure")
    }

    func testAWorkerThatCrashesMidRequestFailsTheJobWithItsExit() async throws {
        let crash = "killed by signal 11 SIGSEGV (a crash)"
        let worker = try InMemoryWorker { m in m.kind == .query ? [.exit(crash)] : InMemoryWorker.standard(m) }
        let (s, reports) = try await session(worker, clock: ManualClock())
        await XCTAssertThrowsErrorAsync(try await s.request(.query(.init(query: "q", receiver: "r", nonce: [], signature: [])),
                                           expecting: [.result, .queryRefused], timeout: 10))
        let v7 = await s.waitForExit(timeout: 10)
        XCTAssertTrue(v7)
        let v8 = await s.state
        XCTAssertEqual(v8, .failed("the worker exited: \(crash)"))
        XCTAssertEqual(reports.all, ["the worker exited: \(crash)"])
        // A later event changes nothing and reports nothing.
        let v9 = await s.handle(.protocolViolation("late"))
        XCTAssertEqual(v9, [.rejected("the job is failed")])
        XCTAssertEqual(reports.all.count, 1)
    }

    func testAnAnswerOfTheWrongKindIsAProtocolViolationAndKillsTheWorker() async throws {
        let worker = try InMemoryWorker { m in
            m.kind == .uploadEnd ? [.send(.closed(entry: [0xa0]))] : InMemoryWorker.standard(m)
        }
        let (s, reports) = try await session(worker, clock: ManualClock())
        await XCTAssertThrowsErrorAsync(try await s.request(.uploadEnd(dataset: "d"), expecting: [.uploadAccepted, .uploadRefused])) {
            // The worker's fault, not the caller's input: internal (issue #11, part 7).
            XCTAssertEqual(($0 as? ParleyError)?.code, .internal)
        }
        let v10 = await s.waitForExit(timeout: 10)
        XCTAssertTrue(v10, "the host kills a worker that breaks the protocol")
        let v11 = await s.state
        XCTAssertEqual(v11, .failed("the worker broke the protocol: answered upload_end with closed"))
        XCTAssertEqual(reports.all, ["the worker broke the protocol: answered upload_end with closed"])
    }

    func testAFailureBeforeAnyoneListensIsReportedWhenTheyDo() async throws {
        let worker = try InMemoryWorker()
        let s = WorkerSession(channel: worker.channel, process: worker, runtime: runtime, clock: ManualClock())
        worker.kill()
        let v12 = await s.waitForExit(timeout: 10)
        XCTAssertTrue(v12)
        let reports = Reports()
        await s.setFailureHandler { reports.add($0) }
        XCTAssertEqual(reports.all, ["the worker exited: killed by signal 9 SIGKILL (killed: a memory or process limit, or the host)"])
    }

    func testARequestTimesOutOnTheSessionsClockNotTheWallClock() async throws {
        let clock = ManualClock()
        // Answers heartbeats (so only the request's own deadline can fail the job) but never a query.
        let worker = try InMemoryWorker { m in m.kind == .query ? [] : InMemoryWorker.standard(m) }
        // A heartbeat timeout far beyond the request's, so only the request's deadline can fail the job.
        let s = WorkerSession(channel: worker.channel, process: worker, runtime: runtime, heartbeatInterval: 1, heartbeatTimeout: 100_000, clock: clock)
        let reports = Reports()
        await s.setFailureHandler { reports.add($0) }
        let pending = Task {
            try await s.request(.query(.init(query: "q", receiver: "r", nonce: [], signature: [])), expecting: [.result, .queryRefused], timeout: 60)
        }
        XCTAssertTrue(worker.waitFor(.query))
        XCTAssertTrue(parked(clock, count: 2), "the ticker and the request's deadline both sleep on the clock")
        clock.advance(by: 59)
        let before = await s.state
        XCTAssertEqual(before, .launching, "59 s of the clock is within the request's 60 s")
        clock.advance(by: 2)
        do {
            _ = try await pending.value
            XCTFail("the request must fail at its deadline")
        } catch {
            XCTAssertEqual((error as? ParleyError)?.reason, "the worker did not answer query in time")
        }
        let exited = await s.waitForExit(timeout: 10)
        XCTAssertTrue(exited, "a worker that does not answer is killed")
        XCTAssertEqual(reports.all, ["the worker broke the protocol: no answer to query within 60 s"])
    }

    func testConcurrentRequestsAreAnsweredOneAtATimeInOrder() async throws {
        let worker = try InMemoryWorker { m in
            if case .uploadEnd(let d) = m {
                return [.send(.uploadRefused(.init(dataset: d, code: .badStream, reason: "refused \(d)")))]
            }
            return InMemoryWorker.standard(m)
        }
        let (s, reports) = try await session(worker, clock: ManualClock())
        let answers = try await withThrowingTaskGroup(of: (String, WorkerMessage).self) { group in
            for d in ["a", "b", "c", "d"] {
                group.addTask { (d, try await s.request(.uploadEnd(dataset: d), expecting: [.uploadAccepted, .uploadRefused])) }
            }
            var all: [(String, WorkerMessage)] = []
            for try await a in group { all.append(a) }
            return all
        }
        for (asked, answer) in answers {
            guard case .uploadRefused(let r) = answer else { return XCTFail("\(answer.kind)") }
            XCTAssertEqual(r.dataset, asked, "each request gets its own answer")
        }
        XCTAssertEqual(reports.all, [])
    }

    func testAMessageNobodyAskedForIsAProtocolViolation() async throws {
        let worker = try InMemoryWorker { m in
            m.kind == .heartbeat ? [.send(.closed(entry: [0xa0]))] : InMemoryWorker.standard(m)
        }
        let clock = ManualClock()
        let (s, reports) = try await session(worker, clock: clock)
        XCTAssertTrue(parked(clock))
        clock.advance(by: 1)
        let exited = await s.waitForExit(timeout: 10)
        XCTAssertTrue(exited)
        XCTAssertEqual(reports.all, ["the worker broke the protocol: sent closed when nothing was asked"])
    }
}
