import Foundation
import ParleyHost
import XCTest

/// A hostile test worker (the sandbox probe: the worker's lock-down, then a fork bomb, a memory
/// balloon or an endless loop) is stopped by its limit; the host reports the job failed and
/// keeps serving.
final class WorkerLimitTests: HostFixture {
    func supervise(_ arguments: [String]) throws -> JobStateMachine.State {
        let session = try WorkerSession(executable: Self.probe, arguments: arguments, heartbeatInterval: 0.2, heartbeatTimeout: 30)
        XCTAssertTrue(session.waitForExit(timeout: 30), "\(arguments) was not stopped")
        return session.state
    }

    func testEndlessLoopIsKilledByTheCPULimit() throws {
        guard case .failed(let why) = try supervise(["spin", "--cpu-seconds", "1"]) else { return XCTFail("must fail") }
        XCTAssertTrue(why.contains("SIGXCPU") || why.contains("SIGKILL"), why)
    }

    func testForkBombIsStopped() throws {
        guard case .failed(let why) = try supervise(["forkbomb"]) else { return XCTFail("must fail") }
        XCTAssertTrue(why.contains("the worker exited"), why)
    }

    func testMemoryBalloonIsStopped() throws {
        guard case .failed(let why) = try supervise(["balloon", "--memory-mib", "256"]) else { return XCTFail("must fail") }
        XCTAssertTrue(why.contains("the worker exited"), why)
    }

    func testHostStaysHealthyAfterHostileWorkers() throws {
        _ = try supervise(["spin", "--cpu-seconds", "1"])
        _ = try supervise(["forkbomb"])
        let host = try host()
        let job = try host.launch(bundle: bundle)
        XCTAssertEqual(job.session.state, .collectingDatasets(received: []))
    }
}
