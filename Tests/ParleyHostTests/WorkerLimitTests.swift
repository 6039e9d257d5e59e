import Foundation
import ParleyHost
import XCTest

/// A hostile test worker (the sandbox probe: the worker's lock-down, then a fork bomb, a memory
/// balloon or an endless loop) is stopped by its limit; the host reports the job failed and
/// keeps serving.
final class WorkerLimitTests: HostFixture {
    func supervise(_ arguments: [String]) async throws -> JobStateMachine.State {
        let session = try WorkerSession(executable: Self.probe, arguments: arguments, heartbeatInterval: 0.2, heartbeatTimeout: 30)
        let v1 = await session.waitForExit(timeout: 30)
        XCTAssertTrue(v1, "\(arguments) was not stopped")
        return await session.state
    }

    func testEndlessLoopIsKilledByTheCPULimit() async throws {
        guard case .failed(let why) = try await supervise(["spin", "--cpu-seconds", "1"]) else { return XCTFail("must fail") }
        XCTAssertTrue(why.contains("SIGXCPU") || why.contains("SIGKILL"), why)
    }

    func testForkBombIsStopped() async throws {
        guard case .failed(let why) = try await supervise(["forkbomb"]) else { return XCTFail("must fail") }
        XCTAssertTrue(why.contains("the worker exited"), why)
    }

    func testMemoryBalloonIsStopped() async throws {
        guard case .failed(let why) = try await supervise(["balloon", "--memory-mib", "256"]) else { return XCTFail("must fail") }
        XCTAssertTrue(why.contains("the worker exited"), why)
    }

    func testHostStaysHealthyAfterHostileWorkers() async throws {
        _ = try await supervise(["spin", "--cpu-seconds", "1"])
        _ = try await supervise(["forkbomb"])
        let host = try await host()
        let job = try await host.launch(bundle: bundle)
        let v2 = await job.session.state
        XCTAssertEqual(v2, .collectingDatasets(received: []))
    }
}
