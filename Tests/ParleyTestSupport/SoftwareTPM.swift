import Foundation

/// A swtpm process started for tests, listening on a Unix socket in its own state directory.
///
/// Started with `--flags not-need-init,startup-clear`, so it is ready for ESAPI at once. Stopped
/// in ``stop()`` (through its control channel, else SIGKILL by pid), which tests call from
/// tearDown; deinit is a safety net.
public final class SoftwareTPM {
    /// The directory holding the TPM state, the sockets and the pid file.
    public let stateDirectory: URL
    private let ownsDirectory: Bool
    private var process: Process?

    /// The TCTI string for this swtpm.
    public var tcti: String { "swtpm:path=\(socketPath)" }
    private var socketPath: String { stateDirectory.appendingPathComponent("sock").path }
    private var pidPath: String { stateDirectory.appendingPathComponent("pid").path }

    /// Starts swtpm on `stateDirectory`, or on a fresh temporary directory removed by ``stop()``.
    public init(stateDirectory: URL? = nil) throws {
        if let stateDirectory {
            self.stateDirectory = stateDirectory
            ownsDirectory = false
        } else {
            self.stateDirectory = try Self.makeTemporaryDirectory()
            ownsDirectory = true
        }
        try start()
    }

    deinit { stop() }

    /// Stops the process; removes the state directory if this instance created it.
    public func stop() {
        terminate()
        if ownsDirectory {
            try? FileManager.default.removeItem(at: stateDirectory)
        }
    }

    /// Stops the process and starts a new one on the same state directory (a TPM power cycle).
    public func restart() throws {
        terminate()
        try start()
    }

    private func start() throws {
        let manager = FileManager.default
        for leftover in [socketPath, socketPath + ".ctrl", pidPath] {
            try? manager.removeItem(atPath: leftover)
        }
        let dir = stateDirectory.path
        let process = Process()
        process.executableURL = try Self.swtpmExecutable()
        process.arguments = [
            "socket", "--tpm2", "--tpmstate", "dir=\(dir)",
            "--server", "type=unixio,path=\(dir)/sock",
            "--ctrl", "type=unixio,path=\(dir)/sock.ctrl",
            "--flags", "not-need-init,startup-clear",
            "--pid", "file=\(dir)/pid",
        ]
        // swtpm logs every client disconnect on stderr; keep that out of the test output.
        let logPath = stateDirectory.appendingPathComponent("swtpm.log").path
        _ = manager.createFile(atPath: logPath, contents: nil)
        let log = FileHandle(forWritingAtPath: logPath) ?? FileHandle.nullDevice
        defer { if log !== FileHandle.nullDevice { try? log.close() } }
        process.standardOutput = log
        process.standardError = log
        try process.run()
        self.process = process

        let deadline = Date().addingTimeInterval(10)
        while !(manager.fileExists(atPath: socketPath) && manager.fileExists(atPath: pidPath)) {
            guard process.isRunning, Date() < deadline else {
                terminate()
                let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
                throw SoftwareTPMError("swtpm did not create \(socketPath) within 10 s: \(log.suffix(500))")
            }
            usleep(20_000)
        }
    }

    private func terminate() {
        guard let process else { return }
        self.process = nil
        guard process.isRunning else { return }
        // Shut down through the control channel: a swtpm started from a thread that blocks signals
        // (Swift concurrency, NIO) inherits that mask and never sees SIGTERM. If the control
        // channel fails, SIGKILL, which cannot be blocked.
        let ctrl = stateDirectory.appendingPathComponent("sock.ctrl").path
        var stopped = false
        if let ioctl = try? findExecutable("swtpm_ioctl") {
            let p = Process()
            p.executableURL = ioctl
            p.arguments = ["--unix", ctrl, "-s"]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            if (try? p.run()) != nil {
                p.waitUntilExit()
                stopped = p.terminationStatus == 0
            }
        }
        if !stopped {
            let recorded = (try? String(contentsOfFile: pidPath, encoding: .utf8))
                .flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            kill(recorded ?? process.processIdentifier, SIGKILL)
        }
        process.waitUntilExit()
    }

    private static func makeTemporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("parley-swtpm-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    public static func swtpmExecutable() throws -> URL {
        try findExecutable("swtpm")
    }
}

/// Finds an executable on PATH.
public func findExecutable(_ name: String) throws -> URL {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    for directory in path.split(separator: ":") {
        let candidate = URL(fileURLWithPath: String(directory)).appendingPathComponent(name)
        if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
    }
    throw SoftwareTPMError("\(name) is not on PATH")
}

/// A test-support failure (no swtpm, socket never appeared).
public struct SoftwareTPMError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
