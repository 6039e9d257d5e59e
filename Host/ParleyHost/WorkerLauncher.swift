import CParleySpawn
import Foundation
import Glibc
import ParleyCore

/// Starts `parley-enclave` processes. The runtime measurement is taken from the very bytes that
/// run: the executable is read once into a sealed memfd (no further writes possible), measured,
/// and executed from that memfd with fexecve, so a file swapped on disk after measuring changes
/// nothing.
public enum WorkerLauncher {
    /// A started worker: its pid, the host's end of the channel, and its runtime measurement.
    public struct Launched {
        public let pid: pid_t
        public let channel: FramedChannel
        public let runtime: MeasurementDigest
        /// The process, for the session to kill and reap.
        public var process: Process { Process(pid: pid) }
    }

    /// A launched `parley-enclave` process.
    public struct Process: WorkerProcess {
        public let pid: pid_t

        public func kill() { _ = Glibc.kill(pid, SIGKILL) }

        /// Waits on a pidfd (poll(2) with a deadline, no sleep loop); SIGKILL at the deadline.
        public func reap(grace: TimeInterval) -> String {
            var status: Int32 = 0
            guard parley_reap(pid, Int32(max(0, grace) * 1000), &status) >= 0 else {
                return "not reapable: \(String(cString: strerror(errno)))"
            }
            return WorkerLauncher.describe(status: status)
        }
    }

    /// Largest worker executable accepted.
    public static let maxImageSize = 512 << 20

    /// A worker executable staged in a sealed memfd and measured once. The seals forbid any
    /// further write, so every launch from it runs exactly the measured bytes.
    public final class Image: @unchecked Sendable {
        // @unchecked: immutable after init; the descriptor is only read by fexecve.
        public let fd: Int32
        public let runtime: MeasurementDigest

        /// Reads `executable` once, stages and measures it.
        public init(executable: String) throws {
            let bytes = try FileIO.read(executable, maxBytes: WorkerLauncher.maxImageSize)
            runtime = MeasurementDigest.of(bytes)
            fd = bytes.withUnsafeBufferPointer { parley_sealed_image($0.baseAddress, $0.count) }
            guard fd >= 0 else { throw ParleyError(.io, "cannot stage the worker image: \(String(cString: strerror(errno)))") }
        }

        deinit { close(fd) }
    }

    /// - Parameters:
    ///   - executable: path of `parley-enclave` (read once, here).
    ///   - debug: start without the sandbox; the worker reports it and verifiers refuse it by default.
    ///   - environment: extra variables for the worker (resource limits, test probes).
    public static func launch(executable: String, debug: Bool = false, environment: [String: String] = [:],
                              arguments: [String] = []) throws -> Launched {
        try launch(image: try Image(executable: executable), debug: debug, environment: environment, arguments: arguments)
    }

    /// Launches from an already staged image (a host stages its worker once).
    public static func launch(image: Image, debug: Bool = false, environment: [String: String] = [:],
                              arguments: [String] = []) throws -> Launched {
        let runtime = image.runtime
        let imageFD = image.fd
        var fds: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) == 0 else {
            throw ParleyError(.io, "cannot create the worker channel: \(String(cString: strerror(errno)))")
        }
        // SWIFT_BACKTRACE: a crashing worker dies with its signal at once. The runtime's backtracer
        // would walk /proc and spawn a helper, which the sandbox denies (docs/sandbox.md).
        var env = ["PARLEY_ENCLAVE_FD": "3", "PATH": "/usr/bin:/bin", "SWIFT_BACKTRACE": "enable=no"]
        if debug { env["PARLEY_ENCLAVE_DEBUG"] = "1" }
        for (k, v) in environment { env[k] = v }
        let argv = ["parley-enclave"] + arguments
        let envp = env.map { "\($0.key)=\($0.value)" }.sorted()
        let pid = withCStrings(argv) { a in withCStrings(envp) { e in parley_spawn_image(imageFD, fds[1], a, e) } }
        close(fds[1])
        guard pid > 0 else {
            close(fds[0])
            throw ParleyError(.io, "cannot start the worker: \(String(cString: strerror(errno)))")
        }
        return Launched(pid: pid, channel: FramedChannel(fd: fds[0]), runtime: runtime)
    }

    private static func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
        var ptrs: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
        ptrs.append(nil)
        defer { for p in ptrs { free(p) } }
        return ptrs.withUnsafeBufferPointer { body($0.baseAddress!) }
    }

    /// A person-readable account of a wait status.
    public static func describe(status: Int32) -> String {
        if status & 0x7f == 0 { return "exit status \((status >> 8) & 0xff)" }
        let sig = status & 0x7f
        let names: [Int32: String] = [SIGKILL: "SIGKILL (killed: a memory or process limit, or the host)",
                                      SIGXCPU: "SIGXCPU (its CPU-time limit)", SIGSYS: "SIGSYS (a system call its sandbox forbids)",
                                      SIGSEGV: "SIGSEGV (a crash)", SIGABRT: "SIGABRT (a crash)", SIGTERM: "SIGTERM"]
        return "killed by signal \(sig) \(names[sig] ?? "")".trimmingCharacters(in: .whitespaces)
    }
}
