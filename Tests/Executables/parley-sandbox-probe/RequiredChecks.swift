import CSeccomp
import Glibc

/// Operations the worker needs, which must still work under the sandbox. Each returns nil when
/// it worked, or a reason. They are what the real worker does after lock-down (the allow-list is
/// derived from it, Scripts/derive-syscalls.sh): allocate, read its channel, draw random bytes,
/// read the clock. No threads, no files: the worker has neither.
enum RequiredChecks {
    static let expectedInput = "parley-probe-input"

    static var all: [(String, () -> String?)] { [
        ("allocate-memory", allocateMemory),
        ("read-inherited-fd", readStandardInput),
        ("getrandom", randomBytes),
        ("clock", clock),
        ("read-rlimit", readLimit),
    ] }

    private static func allocateMemory() -> String? {
        let size = 64 << 20
        guard let block = malloc(size) else { return "malloc(64 MiB) returned NULL" }
        memset(block, 0xA5, size)
        let sample = block.load(fromByteOffset: size - 1, as: UInt8.self)
        free(block)
        var small: [[UInt8]] = []
        for i in 0..<1000 { small.append([UInt8](repeating: UInt8(i & 0xff), count: 100 + i)) }
        return sample == 0xA5 && small[999].count == 1099 ? nil : "memory did not hold its value"
    }

    /// Plain read(2) to end of file, as the worker reads its channel (no fstat, no Foundation).
    private static func readStandardInput() -> String? {
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(0, &buffer, buffer.count)
            if n < 0 { return "read(0) failed: \(SandboxErrnoText.current)" }
            if n == 0 { break }
            data += buffer[0..<n]
        }
        let text = String(decoding: data, as: UTF8.self)
        return text.contains(expectedInput) ? nil : "stdin did not contain \(expectedInput) (\(data.count) bytes)"
    }

    private static func randomBytes() -> String? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let count = getrandom(&buffer, buffer.count, 0)
        guard count == buffer.count else { return "getrandom returned \(count): \(SandboxErrnoText.current)" }
        var generator = SystemRandomNumberGenerator()
        _ = generator.next()
        return nil
    }

    private static func clock() -> String? {
        var time = timespec()
        guard clock_gettime(CLOCK_MONOTONIC, &time) == 0 else { return "clock_gettime failed" }
        var wall = timespec()
        guard clock_gettime(CLOCK_REALTIME, &wall) == 0 else { return "clock_gettime(CLOCK_REALTIME) failed" }
        return wall.tv_sec > 1_600_000_000 ? nil : "wall clock is before 2020"
    }

    private static func readLimit() -> String? {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_AS.rawValue), &limit) == 0 else {
            return "getrlimit failed: \(SandboxErrnoText.current)"
        }
        return nil
    }
}

/// The text of the current errno.
enum SandboxErrnoText {
    static var current: String { String(cString: strerror(errno)) }
}
