import XCTest

/// Runs the probe in `checks` mode and holds it to the sandbox's promises.
final class ProbeChecksTests: XCTestCase {
    /// Everything the issue names as forbidden, with the errno the filter must answer.
    static let forbidden: [(String, String)] = [
        "socket-inet", "socket-unix", "socketpair", "connect-loopback", "bind-loopback",
        "open-write-new", "open-rdwr-existing", "open-append-existing", "open-rdonly-trunc-existing",
        "creat", "mkdir", "rename", "unlink", "unshare-newns", "unshare-newnet", "unshare-newuser",
        "setns-own-net", "kill-parent", "raise-rlimit-nofile", "prctl-set-dumpable", "fork", "posix-spawn",
        "ptrace-traceme", "ptrace-attach-parent", "mount-tmpfs", "chroot", "execve",
    ].map { ($0, "Operation not permitted") } + [("clone3", "Function not implemented")]

    static let required = [
        "allocate-memory", "dispatch-threads", "swift-concurrency", "foundation-json", "foundation-misc",
        "read-inherited-fd", "open-readonly", "getrandom", "clock", "read-rlimit",
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
                     "unshare-newns", "kill-parent", "prctl-set-dumpable"] {
            XCTAssertEqual(run.line(for: name), "ALLOWED \(name)", run.transcript)
        }
    }
}
