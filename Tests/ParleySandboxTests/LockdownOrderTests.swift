import Glibc
@testable import ParleySandbox
import XCTest

/// The lock-down's control flow, with fake steps injected (the test process itself is never
/// locked down).
final class LockdownOrderTests: XCTestCase {
    /// Records the steps it ran; fails the one named in `failing` with EPERM.
    final class FakeSteps: @unchecked Sendable {
        private(set) var ran: [LockdownStep] = []
        let failing: Set<LockdownStep>
        let code: SandboxError.Code

        init(failing: Set<LockdownStep> = [], code: SandboxError.Code = .kernelRefused) {
            self.failing = failing
            self.code = code
        }

        private func run(_ step: LockdownStep) throws(SandboxError) -> String {
            ran.append(step)
            if failing.contains(step) {
                throw SandboxError(code, step: step, errno: EPERM, reason: "injected \(step) failure")
            }
            return "fake \(step)"
        }

        var actions: LockdownActions {
            LockdownActions(
                descriptors: { _ throws(SandboxError) in try self.run(.descriptors) },
                resourceLimits: { _ throws(SandboxError) in try self.run(.resourceLimits) },
                networkNamespace: { () throws(SandboxError) in try self.run(.networkNamespace) },
                identity: { _ throws(SandboxError) in try self.run(.identity) },
                noNewPrivileges: { () throws(SandboxError) in try self.run(.noNewPrivileges) },
                fileSystem: { () throws(SandboxError) in try self.run(.fileSystem) },
                notDumpable: { () throws(SandboxError) in try self.run(.notDumpable) },
                syscallFilter: { _ throws(SandboxError) in try self.run(.syscallFilter) })
        }
    }

    func testAllStepsRunInOrder() throws {
        let fake = FakeSteps()
        let report = try Sandbox.lockDown(SandboxPolicy(), using: fake.actions)
        XCTAssertEqual(fake.ran, [.descriptors, .resourceLimits, .networkNamespace, .identity, .noNewPrivileges,
                                  .fileSystem, .notDumpable, .syscallFilter])
        XCTAssertTrue(report.isComplete)
        XCTAssertFalse(report.debug)
    }

    func testEachFailingStepStopsTheLockdownWithItsName() {
        for (index, step) in LockdownStep.allCases.enumerated() where step != .networkNamespace {
            let fake = FakeSteps(failing: [step])
            do {
                _ = try Sandbox.lockDown(SandboxPolicy(), using: fake.actions)
                XCTFail("\(step) failed but lock-down went on")
            } catch {
                XCTAssertEqual(error.step, step)
                XCTAssertEqual(error.errno, EPERM)
                XCTAssertEqual(error.code, .kernelRefused)
                XCTAssertEqual(error.description,
                               "sandbox step '\(step)' failed: injected \(step) failure: "
                                   + "Operation not permitted (errno 1)")
                XCTAssertEqual(fake.ran, Array(LockdownStep.allCases.prefix(index + 1)), "ran past \(step)")
            }
        }
    }

    func testRequiredNamespaceFailureIsFatal() {
        let fake = FakeSteps(failing: [.networkNamespace])
        XCTAssertThrowsError(try Sandbox.lockDown(SandboxPolicy(networkNamespace: .required), using: fake.actions)) {
            XCTAssertEqual(($0 as? SandboxError)?.step, .networkNamespace)
        }
    }

    func testBestEffortNamespaceFailureIsRecorded() throws {
        let fake = FakeSteps(failing: [.networkNamespace])
        let report = try Sandbox.lockDown(SandboxPolicy(networkNamespace: .bestEffort), using: fake.actions)
        XCTAssertEqual(fake.ran.count, LockdownStep.allCases.count)
        XCTAssertFalse(report.isComplete)
        XCTAssertFalse(report.debug)
        guard case .unavailable(let error)? = report.outcome(of: .networkNamespace) else {
            return XCTFail("namespace outcome: \(String(describing: report.outcome(of: .networkNamespace)))")
        }
        XCTAssertEqual(error.step, .networkNamespace)
    }

    /// A kernel without Landlock: the report says "unavailable" and lock-down goes on (the
    /// evidence carries the report, so a verifier can insist).
    func testMissingLandlockIsRecordedAsUnavailable() throws {
        let fake = FakeSteps(failing: [.fileSystem], code: .unavailable)
        let report = try Sandbox.lockDown(SandboxPolicy(), using: fake.actions)
        XCTAssertEqual(fake.ran.count, LockdownStep.allCases.count)
        guard case .unavailable(let error)? = report.outcome(of: .fileSystem) else {
            return XCTFail("file-system outcome: \(String(describing: report.outcome(of: .fileSystem)))")
        }
        XCTAssertEqual(error.code, .unavailable)
        XCTAssertTrue(report.description.contains("file-system unavailable: "), report.description)
        XCTAssertFalse(report.isComplete)
    }

    /// Landlock present but refusing (or any other step failing) stops the worker.
    func testLandlockThatFailsIsFatal() {
        let fake = FakeSteps(failing: [.fileSystem])
        XCTAssertThrowsError(try Sandbox.lockDown(SandboxPolicy(), using: fake.actions)) {
            XCTAssertEqual(($0 as? SandboxError)?.step, .fileSystem)
        }
        XCTAssertEqual(fake.ran.last, .fileSystem)
    }

    func testDebugModeRecordsFailuresAndRunsTheRest() throws {
        let fake = FakeSteps(failing: [.resourceLimits, .syscallFilter])
        let report = try Sandbox.lockDown(SandboxPolicy(debug: true), using: fake.actions)
        XCTAssertEqual(fake.ran.count, LockdownStep.allCases.count)
        XCTAssertTrue(report.debug)
        XCTAssertFalse(report.isComplete)
        XCTAssertEqual(report.debugFailures.map(\.step), [.resourceLimits, .syscallFilter])
        XCTAssertTrue(report.outcome(of: .notDumpable)?.isApplied ?? false)
        XCTAssertTrue(report.description.contains("syscall-filter FAILED (debug mode): sandbox step 'syscall-filter'"))
        XCTAssertTrue(report.description.hasPrefix("debug=true\n"))
    }

    func testUnusableLimitsAreRefusedEvenInDebugMode() {
        let fake = FakeSteps()
        let policy = SandboxPolicy(limits: ResourceLimits(addressSpaceBytes: 1 << 20, openFiles: 2), debug: true)
        XCTAssertThrowsError(try Sandbox.lockDown(policy, using: fake.actions)) { error in
            let error = error as? SandboxError
            XCTAssertEqual(error?.code, .invalidPolicy)
            XCTAssertTrue(error?.reason.contains("open files 2 is below 8") ?? false)
        }
        XCTAssertEqual(fake.ran, [], "no step may run with an invalid policy")
    }

    func testDefaults() {
        let policy = SandboxPolicy.production
        XCTAssertFalse(policy.debug)
        XCTAssertEqual(policy.networkNamespace, .bestEffort)
        XCTAssertEqual(policy.limits.addressSpaceBytes, 4 << 30)
        XCTAssertEqual(policy.limits.cpuSeconds, 3600)
        XCTAssertEqual(policy.limits.openFiles, 64)
        XCTAssertEqual(policy.descriptors.standardStreams, .nullDevice)
        XCTAssertEqual(policy.descriptors.keep, [])
        XCTAssertNotEqual(policy.identity.uid, 0)
        XCTAssertNotEqual(policy.identity.gid, 0)
        XCTAssertEqual(DescriptorPolicy.worker(channel: 3).keep, [3])
        XCTAssertTrue(policy.limits.problems().isEmpty)
    }

    func testLimitSettingsIncludeCoreZeroAndACPUKillBackstop() {
        let settings = ResourceLimitStep.settings(for: ResourceLimits(cpuSeconds: 5))
        let byName = Dictionary(uniqueKeysWithValues: settings.map { ($0.name, $0) })
        XCTAssertEqual(byName["RLIMIT_CORE"]?.soft, 0)
        XCTAssertEqual(byName["RLIMIT_CORE"]?.hard, 0)
        XCTAssertEqual(byName["RLIMIT_CPU"]?.soft, 5)
        XCTAssertEqual(byName["RLIMIT_CPU"]?.hard, 6)
        XCTAssertEqual(Set(byName.keys), ["RLIMIT_CORE", "RLIMIT_AS", "RLIMIT_DATA", "RLIMIT_CPU",
                                          "RLIMIT_NOFILE", "RLIMIT_NPROC", "RLIMIT_FSIZE"])
    }
}
