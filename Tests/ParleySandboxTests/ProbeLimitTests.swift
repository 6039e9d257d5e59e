import Glibc
import XCTest

/// Runs the probe's stress and state modes: each must be stopped by the sandbox.
final class ProbeLimitTests: XCTestCase {
    func testForkbombIsStoppedAtTheFirstFork() throws {
        let run = try ProbeRunner.run(["forkbomb"])
        XCTAssertEqual(run.status, 0, run.transcript)
        XCTAssertTrue(run.lines.contains("STOPPED forkbomb fork failed after 0 children: Operation not permitted"),
                      run.transcript)
    }

    func testBalloonIsStoppedByTheMemoryLimit() throws {
        let run = try ProbeRunner.run(["balloon", "--memory-mib", "256"])
        XCTAssertEqual(run.status, 0, run.transcript)
        let line = try XCTUnwrap(run.lines.first { $0.hasPrefix("STOPPED balloon malloc failed after ") },
                                 run.transcript)
        let reached = try XCTUnwrap(Int(line.split(separator: " ")[5]), line)
        XCTAssertLessThan(reached, 256, "allocated beyond the 256 MiB address-space limit")
    }

    func testSpinIsKilledByTheCPULimit() throws {
        let run = try ProbeRunner.run(["spin", "--cpu-seconds", "1"], timeout: 30)
        XCTAssertTrue(run.lines.contains("SPINNING"), run.transcript)
        XCTAssertTrue(run.signaled, "the spinning probe was not killed by a signal:\n\(run.transcript)")
        XCTAssertTrue([SIGXCPU, SIGKILL].contains(run.status), "killed by signal \(run.status), not SIGXCPU/SIGKILL")
        XCTAssertLessThan(run.seconds, 15, "RLIMIT_CPU of 1 s took \(run.seconds) s of wall time")
    }

    func testDumpStateIsLockedDown() throws {
        let run = try ProbeRunner.run(["dump"])
        XCTAssertEqual(run.status, 0, run.transcript)
        for check in ["dumpable", "rlimit-core", "no-new-privs", "seccomp-mode", "proc-status"] {
            XCTAssertTrue(run.lines.contains { $0.hasPrefix("PASS \(check) ") }, "\(check):\n\(run.transcript)")
        }
        XCTAssertFalse(run.lines.contains { $0.hasPrefix("FAIL") }, run.transcript)
    }

    func testKillListedSyscallKillsTheProcessWithSIGSYS() throws {
        let run = try ProbeRunner.run(["kill"])
        XCTAssertTrue(run.lines.contains("CALLING bpf"), run.transcript)
        XCTAssertTrue(run.signaled, run.transcript)
        XCTAssertEqual(run.status, SIGSYS, run.transcript)
    }
}
