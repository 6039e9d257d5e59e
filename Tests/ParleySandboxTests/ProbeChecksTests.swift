import CSeccomp
import ParleySandbox
import XCTest

/// Runs the probe in `checks` mode and holds it to the sandbox's promises.
final class ProbeChecksTests: XCTestCase {
    /// Everything the issue names as forbidden, with the errno the filter must answer.
    static let forbidden: [(String, String)] = [
        "socket-inet", "socket-unix", "socketpair", "connect-loopback", "bind-loopback",
        "open-write-new", "open-rdwr-existing", "open-append-existing", "open-rdonly-trunc-existing",
        "creat", "mkdir", "rename", "unlink", "unshare-newns", "unshare-newnet", "unshare-newuser",
        "setns-own-net", "kill-parent", "raise-rlimit-nofile", "prctl-set-dumpable", "fork", "posix-spawn",
        "ptrace-traceme", "ptrace-attach-parent", "mount-tmpfs", "chroot", "setuid-root", "execve", "clone3",
        // The worker has one thread and opens no file after lock-down (Landlock denies files too).
        "thread-create", "open-readonly-file", "open-readonly-proc", "open-directory",
    ].map { ($0, "Operation not permitted") }

    static let required = [
        "allocate-memory", "read-inherited-fd", "getrandom", "clock", "read-rlimit",
    ]

    static let input = "parley-probe-input\n"

    private func assertLockedDown(_ run: ProbeRunner.Run, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertFalse(run.signaled, run.transcript, file: file, line: line)
        XCTAssertEqual(run.status, 0, run.transcript, file: file, line: line)
        XCTAssertTrue(run.lines.contains("LOCKED debug=false complete=true"), run.transcript, file: file, line: line)
        XCTAssertEqual(run.lines.last, "DONE", "the probe stopped early:\n\(run.transcript)", file: file, line: line)
        for (name, errnoText) in Self.forbidden {
            XCTAssertEqual(run.line(for: name), "DENIED \(name) \(errnoText)", run.transcript, file: file, line: line)
        }
        for name in Self.required {
            XCTAssertEqual(run.line(for: name), "ALLOWED \(name)", run.transcript, file: file, line: line)
        }
    }

    func testForbiddenOperationsAreDeniedAndRequiredOnesWork() throws {
        let run = try ProbeRunner.run(["checks"], input: Self.input)
        assertLockedDown(run)
        let namespace = run.lines.first { $0.hasPrefix("STEP network-namespace") } ?? ""
        XCTAssertTrue(namespace.hasPrefix("STEP network-namespace applied:"), run.transcript)
    }

    /// The report names the Landlock ABI the worker used (this machine's kernel has one), and as
    /// root the identity step switched to the unprivileged worker user with no capability left.
    func testReportNamesLandlockABIAndTheIdentity() throws {
        let run = try ProbeRunner.run(["report"])
        XCTAssertEqual(run.status, 0, run.transcript)
        let fileSystem = try XCTUnwrap(run.lines.first { $0.hasPrefix("STEP file-system ") }, run.transcript)
        let abi = parley_landlock_abi()
        if abi > 0 {
            XCTAssertTrue(fileSystem.hasPrefix("STEP file-system applied: Landlock ABI \(min(abi, 7)) (kernel ABI \(abi))"), fileSystem)
        } else {
            XCTAssertTrue(fileSystem.hasPrefix("STEP file-system unavailable: "), fileSystem)
        }
        let identity = try XCTUnwrap(run.lines.first { $0.hasPrefix("STEP identity applied: ") }, run.transcript)
        XCTAssertTrue(identity.contains("capabilities: effective, permitted, inheritable and ambient empty"), identity)
        if getuid() == 0 {
            let expected = WorkerIdentity.standard()
            XCTAssertTrue(identity.contains("uid/gid 0 -> \(expected)"), identity)
            XCTAssertTrue(identity.contains("bounding set empty"), identity)
        }
        let descriptors = try XCTUnwrap(run.lines.first { $0.hasPrefix("STEP descriptors applied: ") }, run.transcript)
        XCTAssertTrue(descriptors.contains("every other descriptor closed"), descriptors)
    }

    func testLockdownAsUnprivilegedUserUsesAUserNamespace() throws {
        guard ProbeRunner.canRunAsNobody else { throw XCTSkip("needs root and setpriv to become nobody") }
        let run = try ProbeRunner.run(["checks", "--network", "required"], input: Self.input, asNobody: true)
        assertLockedDown(run)
        XCTAssertTrue(run.lines.contains { $0.contains("unshare(CLONE_NEWUSER|CLONE_NEWNET) (unprivileged)") },
                      run.transcript)
    }

    /// Guards against a probe that reports DENIED whatever happens: without the sandbox the same
    /// harmless checks must succeed.
    func testChecksDetectSuccessWithoutLockdown() throws {
        guard getuid() == 0 else { throw XCTSkip("the unsandboxed baseline assumes root") }
        let run = try ProbeRunner.run(["checks", "--no-lockdown"], input: Self.input)
        XCTAssertEqual(run.status, 0, run.transcript)
        // Not raise-rlimit-nofile: raising a hard limit needs CAP_SYS_RESOURCE, which root may lack.
        for name in ["socket-inet", "socketpair", "open-write-new", "open-rdwr-existing", "mkdir",
                     "open-readonly-file", "open-readonly-proc", "open-directory", "thread-create",
                     "unshare-newns", "kill-parent", "prctl-set-dumpable"] {
            XCTAssertEqual(run.line(for: name), "ALLOWED \(name)", run.transcript)
        }
    }
}
