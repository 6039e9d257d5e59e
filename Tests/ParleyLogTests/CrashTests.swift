#if canImport(Glibc)
import Glibc
#endif
import Foundation
@testable import ParleyLog
import XCTest

/// Kills a writer process with SIGKILL at random moments, many times, and checks that every
/// entry it acknowledged survived intact and that the log still replays.
///
/// The child is the `parley-log-crash-child` executable of this package (built by `swift test`
/// with the rest of the package); set `PARLEY_LOG_CRASH_CHILD` to use another path.
final class CrashTests: XCTestCase {
    /// Must match `crashTestPayload` in Sources/parley-log-crash-child/main.swift.
    func expectedPayload(_ index: UInt64) -> [UInt8] {
        let head = Array("parley crash-test entry \(index);".utf8)
        let padding = (0..<Int(index * 7919 % 300)).map { UInt8(truncatingIfNeeded: Int(index) &+ $0) }
        return head + padding
    }

    func childExecutable() throws -> URL {
        if let path = ProcessInfo.processInfo.environment["PARLEY_LOG_CRASH_CHILD"] { return URL(fileURLWithPath: path) }
        let candidates = [
            Bundle.main.bundleURL,
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent(),
        ] + Bundle.allBundles.map { $0.bundleURL.deletingLastPathComponent() }
        for directory in candidates {
            let url = directory.appendingPathComponent("parley-log-crash-child")
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        XCTFail("parley-log-crash-child was not built next to the tests (looked in \(candidates.map(\.path)))"); throw CocoaError(.fileNoSuchFile)
    }

    func testEveryAcknowledgedEntrySurvivesSIGKILL() throws {
        let child = try childExecutable()
        let dir = try makeTemporaryDirectory(self) + "/log"
        var generator = SystemRandomNumberGenerator()
        var durable: UInt64 = 0
        var totalCut: Int64 = 0
        var roundsWithCut = 0
        let started = Date()

        for round in 0..<30 {
            let process = Process()
            process.executableURL = child
            process.arguments = [dir, testSigner.encoded]
            let stdout = Pipe(), stderr = Pipe()
            process.standardOutput = stdout
            process.standardError = stderr
            try process.run()
            // Mostly mid-append; every fifth round very early, to hit opening and creation too.
            let delay = round % 5 == 0 ? UInt32.random(in: 0...3_000, using: &generator) : UInt32.random(in: 10_000...90_000, using: &generator)
            usleep(delay)
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            let output = String(decoding: stdout.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            let errors = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            XCTAssertEqual(process.terminationReason, .uncaughtSignal, "round \(round): the child exited by itself: \(errors)")

            // Only whole lines count as acknowledged.
            let acknowledged = output.split(separator: "\n", omittingEmptySubsequences: false).dropLast().compactMap { UInt64($0) }
            XCTAssertEqual(acknowledged, Array(durable..<(durable + UInt64(acknowledged.count))), "round \(round): acknowledgements out of order")

            let log = try DurableLog(directory: dir)
            let report = log.openReport
            totalCut += report.entryBytesCut + report.checkpointBytesCut
            if report.entryBytesCut + report.checkpointBytesCut > 0 { roundsWithCut += 1 }
            if let last = acknowledged.last {
                XCTAssertGreaterThan(log.size, last, "round \(round): acknowledged entry \(last) is missing (log has \(log.size))")
            }
            XCTAssertGreaterThanOrEqual(log.size, durable, "round \(round): the log shrank")
            for index in durable..<log.size {
                XCTAssertEqual(try log.entry(at: index).bytes, expectedPayload(index), "round \(round): entry \(index) differs")
            }
            durable = log.size
        }
        let elapsed = Date().timeIntervalSince(started)
        let report = try LogAuditor(verifier: testVerifier).replay(directory: dir)
        XCTAssertEqual(report.verdict, .passed)
        XCTAssertEqual(report.entryCount, durable)
        XCTAssertGreaterThan(durable, 0)
        XCTAssertLessThan(elapsed, 20, "the crash test must stay under 20 s")
        print("crash test: 30 SIGKILLs, \(durable) entries, \(report.verifiedCheckpoints.count) checkpoints, "
              + "\(roundsWithCut) torn tails cut (\(totalCut) bytes), \(String(format: "%.1f", elapsed)) s")
    }
}
