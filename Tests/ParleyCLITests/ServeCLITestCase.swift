import Foundation
import XCTest

/// A CLI test that runs `parley serve` as a separate process on a free port and drives it with
/// the real `parley` binary, each role in its own client-state directory.
class ServeCLITestCase: CLITestCase {
    var serve: Process?

    override func tearDown() { stopServe() }

    /// Stops the `parley serve` this test started, if it runs.
    func stopServe() {
        if let serve, serve.isRunning { serve.interrupt(); serve.waitUntilExit() }
        serve = nil
    }

    /// Starts `parley serve` on a free port and returns its URL.
    func startServe(data: String, extra: [String] = []) throws -> String {
        let p = Process()
        p.executableURL = Self.productsDirectory.appendingPathComponent("parley")
        p.arguments = ["serve", "--data", data, "--listen", "127.0.0.1:0"] + extra
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        serve = p
        // Read the first line on another thread, so a server that never prints cannot hang the test.
        let found = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var url: String?
        Thread.detachNewThread {
            var buffer = ""
            while url == nil {
                let chunk = out.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                buffer += String(decoding: chunk, as: UTF8.self)
                if let r = buffer.range(of: #"https?://127\.0\.0\.1:\d+"#, options: .regularExpression) { url = String(buffer[r]) }
            }
            found.signal()
        }
        guard found.wait(timeout: .now() + 30) == .success, let url else {
            XCTFail("parley serve did not say where it listens within 30 s")
            throw CocoaError(.fileReadUnknown)
        }
        return url
    }

    func parley(_ args: [String], in dir: String) throws -> (status: Int32, out: String, err: String) {
        let saved = FileManager.default.currentDirectoryPath
        FileManager.default.changeCurrentDirectoryPath(dir)
        defer { FileManager.default.changeCurrentDirectoryPath(saved) }
        // Each test's client state (the checkpoints its parties remember) lives in its own directory.
        return try run("parley", args, env: ["XDG_CONFIG_HOME": dir + "/config"])
    }

}
