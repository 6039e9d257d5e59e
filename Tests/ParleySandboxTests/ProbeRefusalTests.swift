import CSeccomp
import XCTest

/// A lock-down that cannot be completed: refused outside debug mode, reported in debug mode.
final class ProbeRefusalTests: XCTestCase {
    /// As nobody, with a thread already running, the kernel refuses a new user namespace (EINVAL),
    /// so a required network namespace cannot be had: a real kernel refusal, not a simulation.
    func testRefusesWhenAStepCannotBeApplied() throws {
        guard ProbeRunner.canRunAsNobody else { throw XCTSkip("needs root and setpriv to become nobody") }
        let run = try ProbeRunner.run(["report", "--start-thread-first", "--network", "required"], asNobody: true)
        XCTAssertEqual(run.status, 2, run.transcript)
        let refusal = try XCTUnwrap(run.lines.first { $0.hasPrefix("REFUSED ") }, run.transcript)
        XCTAssertTrue(refusal.contains("sandbox step 'network-namespace' failed"), refusal)
        XCTAssertTrue(refusal.contains("(errno 22)"), refusal)
        XCTAssertTrue(run.standardError.contains("network-namespace"), run.standardError)
        XCTAssertFalse(run.lines.contains { $0.hasPrefix("LOCKED") }, run.transcript)
    }

    func testDebugModeReportsWhatItCouldNotApply() throws {
        guard ProbeRunner.canRunAsNobody else { throw XCTSkip("needs root and setpriv to become nobody") }
        let run = try ProbeRunner.run(["report", "--start-thread-first", "--network", "required", "--debug"],
                                      asNobody: true)
        XCTAssertEqual(run.status, 0, run.transcript)
        XCTAssertTrue(run.lines.contains("LOCKED debug=true complete=false"), run.transcript)
        XCTAssertTrue(run.lines.contains {
            $0.hasPrefix("STEP network-namespace FAILED (debug mode): sandbox step 'network-namespace' failed")
        }, run.transcript)
        for step in ["descriptors", "resource-limits", "identity", "no-new-privileges", "not-dumpable", "syscall-filter"] {
            XCTAssertTrue(run.lines.contains { $0.hasPrefix("STEP \(step) applied:") }, "\(step):\n\(run.transcript)")
        }
    }

    /// A best-effort namespace that fails does not stop the lock-down; the thread started first
    /// then stops it one step later, at Landlock, which restricts only the calling thread (a
    /// second thread would escape it). Debug mode shows both outcomes in one report.
    func testBestEffortNamespaceIsRecordedNotFatal() throws {
        guard ProbeRunner.canRunAsNobody else { throw XCTSkip("needs root and setpriv to become nobody") }
        let run = try ProbeRunner.run(["report", "--start-thread-first", "--network", "best-effort"], asNobody: true)
        XCTAssertEqual(run.status, 2, run.transcript)
        let refusal = try XCTUnwrap(run.lines.first { $0.hasPrefix("REFUSED ") }, run.transcript)
        XCTAssertFalse(refusal.contains("network-namespace"), refusal)
        if parley_landlock_abi() > 0 {
            XCTAssertTrue(refusal.contains("sandbox step 'file-system' failed: the process has "), refusal)
            XCTAssertTrue(refusal.contains("Landlock restricts only the calling thread"), refusal)
        }
        let debug = try ProbeRunner.run(["report", "--start-thread-first", "--network", "best-effort", "--debug"], asNobody: true)
        XCTAssertEqual(debug.status, 0, debug.transcript)
        XCTAssertTrue(debug.lines.contains { $0.hasPrefix("STEP network-namespace unavailable:") }, debug.transcript)
    }

    func testUnusableLimitsAreRefusedBeforeAnyStep() throws {
        let run = try ProbeRunner.run(["report", "--memory-mib", "1", "--debug"])
        XCTAssertEqual(run.status, 2, run.transcript)
        let refusal = try XCTUnwrap(run.lines.first { $0.hasPrefix("REFUSED ") }, run.transcript)
        XCTAssertTrue(refusal.contains("sandbox step 'resource-limits' failed: the policy's limits are unusable"),
                      refusal)
    }
}
