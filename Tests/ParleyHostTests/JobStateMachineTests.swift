import Foundation
import ParleyCore
import ParleyHost
import ParleyModule
import ParleyTestSupport
import XCTest

/// Every transition of the job state machine, including the failure ones, without processes.
final class JobStateMachineTests: XCTestCase {
    let t0 = Date(timeIntervalSince1970: 1_000)

    func machine(_ datasets: Set<String> = ["a", "b"]) -> JobStateMachine {
        JobStateMachine(requiredDatasets: datasets, now: t0, heartbeatInterval: 1, heartbeatTimeout: 10)
    }

    func testHappyPathThroughEveryState() {
        var m = machine()
        XCTAssertEqual(m.state, .launching)
        XCTAssertEqual(m.handle(.workerReady), [])
        XCTAssertEqual(m.state, .attesting)
        XCTAssertEqual(m.handle(.launchMeasured), [])
        XCTAssertEqual(m.state, .collectingDatasets(received: []))
        XCTAssertEqual(m.handle(.datasetAccepted("a")), [])
        XCTAssertEqual(m.state, .collectingDatasets(received: ["a"]))
        XCTAssertEqual(m.handle(.datasetAccepted("b")), [])
        XCTAssertEqual(m.state, .ready)
        XCTAssertEqual(m.handle(.queryStarted("q")), [])
        XCTAssertEqual(m.state, .runningQuery("q"))
        XCTAssertEqual(m.handle(.queryFinished), [])
        XCTAssertEqual(m.state, .ready)
        XCTAssertEqual(m.handle(.stopRequested), [.sendStop])
        XCTAssertEqual(m.state, .stopped)
    }

    func testModuleWithoutDatasetsIsReadyOnceMeasured() {
        var m = machine([])
        _ = m.handle(.workerReady)
        _ = m.handle(.launchMeasured)
        XCTAssertEqual(m.state, .ready)
    }

    func testOutOfOrderEventsAreRejectedWithoutChange() {
        var m = machine()
        XCTAssertEqual(m.handle(.queryStarted("q")).count, 1)
        XCTAssertEqual(m.state, .launching)
        _ = m.handle(.workerReady)
        guard case .rejected(let why)? = m.handle(.datasetAccepted("a")).first else { return XCTFail("upload before measuring must be rejected") }
        XCTAssertTrue(why.contains("attesting"), why)
        _ = m.handle(.launchMeasured)
        guard case .rejected(let unknown)? = m.handle(.datasetAccepted("zzz")).first else { return XCTFail("undeclared dataset") }
        XCTAssertTrue(unknown.contains("not declared"))
        _ = m.handle(.datasetAccepted("a"))
        guard case .rejected(let twice)? = m.handle(.datasetAccepted("a")).first else { return XCTFail("replayed upload") }
        XCTAssertTrue(twice.contains("already uploaded"))
        XCTAssertEqual(m.state, .collectingDatasets(received: ["a"]))
        XCTAssertEqual(m.handle(.queryFinished).count, 1, "no query is running")
    }

    /// The machine applies the one upload rule to its state: only while collecting, only what is not in yet.
    func testUploadAdmissionFollowsTheState() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("parley-jsm-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let module = try SealedModule(bytes: try CampaignLiftModule.seal(in: dir, brand: PartyPrivateKey(), retailer: PartyPrivateKey(),
                                                                         author: PartyPrivateKey())).definition
        func admit(_ state: JobStateMachine.State, _ dataset: String = "exposures", signed: Bool? = nil) -> UploadAdmission {
            JobStateMachine.admitUpload(dataset, module: module, state: state, signedByProvider: { _ in signed })
        }
        XCTAssertEqual(admit(.collectingDatasets(received: [])), .admitted(provider: "brand"))
        XCTAssertEqual(admit(.collectingDatasets(received: ["exposures"])), .refused(.alreadyUploaded("exposures")))
        XCTAssertEqual(admit(.collectingDatasets(received: []), signed: false), .refused(.notProvider(dataset: "exposures", provider: "brand")))
        XCTAssertEqual(admit(.collectingDatasets(received: []), "nope"), .refused(.undeclaredDataset("nope")))
        for state: JobStateMachine.State in [.launching, .attesting, .ready, .runningQuery("q"), .stopped, .failed("gone")] {
            XCTAssertEqual(admit(state), .refused(.notCollecting(state: state.description)), "\(state)")
        }
    }

    func testHeartbeatsAreSentOnScheduleAndSilenceFailsTheJob() {
        var m = machine()
        _ = m.handle(.workerReady)
        XCTAssertEqual(m.handle(.tick(t0.addingTimeInterval(0.5))), [])
        XCTAssertEqual(m.handle(.tick(t0.addingTimeInterval(1.0))), [.sendHeartbeat])
        XCTAssertEqual(m.handle(.heardFromWorker(t0.addingTimeInterval(1.1))), [])
        XCTAssertEqual(m.handle(.tick(t0.addingTimeInterval(11.0))), [.sendHeartbeat], "heard at 1.1 s, so 11.0 s is within 10 s")
        XCTAssertEqual(m.handle(.tick(t0.addingTimeInterval(11.2))), [.killWorker])
        XCTAssertEqual(m.state, .failed("the worker stopped answering (no heartbeat for 10 s)"))
    }

    func testWorkerExitFailsTheJobFromAnyLiveState() {
        for prefix in [[JobStateMachine.Event](), [.workerReady], [.workerReady, .launchMeasured],
                       [.workerReady, .launchMeasured, .datasetAccepted("a"), .datasetAccepted("b"), .queryStarted("q")]] {
            var m = machine()
            for e in prefix { _ = m.handle(e) }
            XCTAssertEqual(m.handle(.workerExited("killed by signal 9")), [])
            XCTAssertEqual(m.state, .failed("the worker exited: killed by signal 9"))
        }
    }

    func testProtocolViolationFailsAndKills() {
        var m = machine()
        _ = m.handle(.workerReady)
        XCTAssertEqual(m.handle(.protocolViolation("garbage")), [.killWorker])
        XCTAssertEqual(m.state, .failed("the worker broke the protocol: garbage"))
    }

    func testTerminalStatesIgnoreEverythingButTheExit() {
        var m = machine()
        _ = m.handle(.stopRequested)
        XCTAssertEqual(m.state, .stopped)
        XCTAssertEqual(m.handle(.workerExited("exit status 0")), [])
        XCTAssertEqual(m.state, .stopped, "a requested stop stays a stop when the process exits")
        XCTAssertEqual(m.handle(.workerReady).count, 1)
        XCTAssertEqual(m.handle(.tick(t0.addingTimeInterval(100))).count, 1, "no kill after the end")
        var f = machine()
        _ = f.handle(.protocolViolation("x"))
        XCTAssertEqual(f.handle(.queryStarted("q")), [.rejected("the job is failed")])
    }
}
