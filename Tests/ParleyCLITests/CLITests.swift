import Foundation
import XCTest

final class CLITests: CLITestCase {
    func testHelpListsTheVerbs() throws {
        let r = try run("parley", ["--help"])
        XCTAssertEqual(r.status, 0)
        for verb in ["demo", "keygen", "module", "serve", "job", "attest", "upload", "query", "audit", "runtime"] { XCTAssertTrue(r.out.contains(verb), "help lacks \(verb)") }
    }

    /// `--worker-memory` takes MiB or a unit; anything else, or less than a worker needs, is
    /// refused before the host starts, saying what to write instead.
    func testServeRefusesAWorkerMemoryThatIsNotASizeOrTooSmall() throws {
        let dir = try temporaryDirectory()
        for (value, says) in [("12X", "must be a size in MiB or with a unit"), ("lots", "must be a size in MiB or with a unit"),
                              ("0", "must be a size in MiB or with a unit"), ("100", "must be at least 256 MiB"),
                              ("100M", "must be at least 256 MiB")] {
            let r = try run("parley", ["serve", "--data", dir + "/data", "--listen", "127.0.0.1:0", "--worker-memory", value])
            XCTAssertNotEqual(r.status, 0, value)
            XCTAssertTrue(r.err.contains(says), "\(value): \(r.err)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/data"), "nothing was started")
    }

    func testKeygenWritesPrivateFileWithMode0600AndRefusesToOverwrite() throws {
        let dir = try temporaryDirectory()
        let r = try run("parley", ["keygen", dir + "/brand"])
        XCTAssertEqual(r.status, 0, r.err)
        let attrs = try FileManager.default.attributesOfItem(atPath: dir + "/brand.key")
        XCTAssertEqual((attrs[.posixPermissions] as? NSNumber)?.intValue, 0o600)
        let key = try String(contentsOfFile: dir + "/brand.key", encoding: .utf8)
        XCTAssertEqual(key.components(separatedBy: "BEGIN PRIVATE KEY").count - 1, 2)
        let pub = try String(contentsOfFile: dir + "/brand.pub", encoding: .utf8)
        XCTAssertEqual(pub.components(separatedBy: "BEGIN PUBLIC KEY").count - 1, 2)

        let again = try run("parley", ["keygen", dir + "/brand"])
        XCTAssertNotEqual(again.status, 0)
        XCTAssertTrue(again.err.contains("already exists"), again.err)
        XCTAssertEqual(try String(contentsOfFile: dir + "/brand.key", encoding: .utf8), key, "the key must be untouched")

        let forced = try run("parley", ["keygen", "--force", dir + "/brand"])
        XCTAssertEqual(forced.status, 0)
        XCTAssertNotEqual(try String(contentsOfFile: dir + "/brand.key", encoding: .utf8), key)
    }

    func testRuntimeMeasureIsTheSHA384OfTheExecutable() throws {
        let worker = Self.productsDirectory.appendingPathComponent("parley-enclave").path
        let r = try run("parley", ["runtime", "measure", worker])
        XCTAssertEqual(r.status, 0, r.err)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        p.arguments = ["dgst", "-sha384", "-r", worker]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let expected = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).prefix(96)
        p.waitUntilExit()
        XCTAssertEqual(r.out.trimmingCharacters(in: .whitespacesAndNewlines), String(expected))
        // Default: the parley-enclave beside parley.
        XCTAssertEqual(try run("parley", ["runtime", "measure"]).out, r.out)
        let missing = try run("parley", ["runtime", "measure", "/nonexistent/worker"])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.err.contains("does not exist"), missing.err)
    }

    func testWorkerRefusesToRunByHand() throws {
        let r = try run("parley-enclave", [])
        XCTAssertEqual(r.status, 64)
        XCTAssertTrue(r.err.contains("not meant to be run by hand"), r.err)
        let notSocket = try run("parley-enclave", [], env: ["PARLEY_ENCLAVE_FD": "1"])
        XCTAssertEqual(notSocket.status, 64)
        let fileFD = try run("parley-enclave", [], env: ["PARLEY_ENCLAVE_FD": "2"])
        XCTAssertEqual(fileFD.status, 64)
    }
}

/// A process with almost no files open launches workers: the staged image then sits on fd 3,
/// which the spawn must not overwrite with the channel (a bug the launch benchmark found).
final class LaunchFromAFreshProcessTests: CLITestCase {
    func testLaunchBenchmarkRunsInAFreshProcess() throws {
        let r = try run("parley-bench", ["launch"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.contains("launch.ready_ms\t"), r.out)
    }
}
