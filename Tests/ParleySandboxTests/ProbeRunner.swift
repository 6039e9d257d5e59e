import Foundation
import XCTest

/// Runs `parley-sandbox-probe` (built beside the test bundle) as a child process.
struct ProbeRunner {
    /// What a probe run produced.
    struct Run {
        var lines: [String]
        var standardError: String
        /// Exit status, or the signal number if `signaled`.
        var status: Int32
        var signaled: Bool
        var seconds: Double

        /// The line for a check name ("DENIED socket-inet …"), if printed.
        func line(for check: String) -> String? {
            lines.first { $0.split(separator: " ").dropFirst().first.map(String.init) == check }
        }

        var transcript: String { (lines + ["stderr: " + standardError]).joined(separator: "\n") }
    }

    /// The probe executable: $PARLEY_SANDBOX_PROBE, or next to the running test binary.
    static func executable() throws -> URL {
        if let path = ProcessInfo.processInfo.environment["PARLEY_SANDBOX_PROBE"] {
            return URL(fileURLWithPath: path)
        }
        let directory = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
            .deletingLastPathComponent()
        let probe = directory.appendingPathComponent("parley-sandbox-probe")
        guard FileManager.default.isExecutableFile(atPath: probe.path) else {
            throw XCTSkip("parley-sandbox-probe not found at \(probe.path)")
        }
        return probe
    }

    /// Whether the probe can be run as the unprivileged user `nobody` (needs root and setpriv).
    static var canRunAsNobody: Bool {
        getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv")
    }

    /// Runs the probe with arguments, feeding `input` on stdin, killing it after `timeout` seconds.
    static func run(_ arguments: [String], input: String = "", asNobody: Bool = false,
                    timeout: Double = 60) throws -> Run {
        let probe = try executable()
        let process = Process()
        if asNobody {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            process.arguments = ["--reuid=65534", "--regid=65534", "--clear-groups", probe.path] + arguments
        } else {
            process.executableURL = probe
            process.arguments = arguments
        }
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        let start = Date()
        try process.run()
        let pid = process.processIdentifier
        defer { removeScratchFiles(of: pid) }
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try stdin.fileHandleForWriting.close()
        let watchdog = DispatchWorkItem { if process.isRunning { kill(pid, SIGKILL) } }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: watchdog)
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        let errors = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        watchdog.cancel()
        return Run(lines: String(decoding: output, as: UTF8.self).split(separator: "\n").map(String.init),
                   standardError: String(decoding: errors, as: UTF8.self),
                   status: process.terminationStatus,
                   signaled: process.terminationReason == .uncaughtSignal,
                   seconds: Date().timeIntervalSince(start))
    }

    /// The probe makes /tmp/parley-probe-<pid> before lock-down and cannot remove it after.
    private static func removeScratchFiles(of pid: Int32) {
        let base = "/tmp/parley-probe-\(pid)"
        for suffix in ["", "-new", "-creat", "-renamed", "-dir"] {
            try? FileManager.default.removeItem(atPath: base + suffix)
        }
    }
}
