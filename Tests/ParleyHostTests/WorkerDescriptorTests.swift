import Foundation
import ParleyCore
import ParleyHost
import XCTest

/// The worker's stdout and stderr are /dev/null, whatever the host's are: what a (compromised)
/// worker writes there reaches nobody. The sandbox probe is launched exactly like a worker (the
/// host's launcher: sealed memfd, fork, fexecve), locks down like one, writes a marker to fd 1
/// and fd 2 and reports on its channel (fd 3).
final class WorkerDescriptorTests: HostFixture {
    /// Runs `body` with this process's fds 1 and 2 on a pipe (as a host whose stdout and stderr
    /// are a log file); returns what reached the pipe.
    private func capturingStandardStreams(_ body: () throws -> Void) throws -> String {
        var pipe: [Int32] = [-1, -1]
        XCTAssertEqual(Foundation.pipe(&pipe), 0)
        let savedOut = dup(1), savedErr = dup(2)
        fflush(nil)
        dup2(pipe[1], 1)
        dup2(pipe[1], 2)
        var failure: (any Error)?
        do { try body() } catch { failure = error }
        dup2(savedOut, 1)
        dup2(savedErr, 2)
        close(savedOut)
        close(savedErr)
        close(pipe[1])
        var captured: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(pipe[0], &buffer, buffer.count)
            if n <= 0 { break }
            captured += buffer[0..<n]
        }
        close(pipe[0])
        if let failure { throw failure }
        return String(decoding: captured, as: UTF8.self)
    }

    /// Reads the channel to its end (the probe exits after DONE).
    private func readAll(_ fd: Int32) -> String {
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n <= 0 { break }
            out += buffer[0..<n]
        }
        return String(decoding: out, as: UTF8.self)
    }

    func testWorkerOutputOnStdoutAndStderrNeverReachesTheHost() async throws {
        var launched: WorkerLauncher.Launched?
        let captured = try capturingStandardStreams {
            // Only the launch runs with the pipe on 1 and 2: the child inherits them at fork.
            launched = try WorkerLauncher.launch(executable: Self.probe, arguments: ["stray-output", "--report-fd", "3"])
            // Our own write reaches the pipe: the capture works.
            FileHandle.standardError.write(Data("host-line\n".utf8))
        }
        let worker = try XCTUnwrap(launched)
        defer { unlink("/tmp/parley-probe-\(worker.pid)") }  // the probe's scratch file, made before lock-down
        let report = readAll(worker.channel.fd)
        var status: Int32 = 0
        waitpid(worker.pid, &status, 0)
        XCTAssertEqual(WorkerLauncher.describe(status: status), "exit status 0", report)
        XCTAssertTrue(report.contains("STEP descriptors applied: 0-2 on /dev/null; kept above 2: 3"), report)
        XCTAssertTrue(report.contains("WROTE fd1 22 bytes"), report)
        XCTAssertTrue(report.contains("WROTE fd2 22 bytes"), report)
        XCTAssertTrue(report.hasSuffix("DONE\n"), report)
        XCTAssertTrue(captured.contains("host-line"), "the capture must see the host's own output: \(captured)")
        XCTAssertFalse(captured.contains("PARLEY-STRAY-OUTPUT"), "worker output reached the host: \(captured)")
    }

    /// A worker refusing to start says why over its channel (its stderr is /dev/null): the job's
    /// failure names the step.
    func testARefusingWorkerReportsOverItsChannel() async throws {
        let session = try WorkerSession(executable: Self.worker, environment: ["PARLEY_ENCLAVE_MEMORY_MIB": "1"],
                                        heartbeatInterval: 0.2, heartbeatTimeout: 30)
        let v1 = await session.waitForExit(timeout: 30)
        XCTAssertTrue(v1)
        guard case .failed(let why) = await session.state else { return XCTFail("must fail, is \(await session.state)") }
        XCTAssertTrue(why.contains("refusing to start: sandbox step 'resource-limits' failed: the policy's limits are unusable"), why)
    }
}
