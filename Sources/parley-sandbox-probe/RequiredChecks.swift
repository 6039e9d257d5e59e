import CSeccomp
import Dispatch
import Foundation
import Glibc

/// Operations the worker needs, which must still work under the sandbox. Each returns nil when
/// it worked, or a reason.
enum RequiredChecks {
    static let expectedInput = "parley-probe-input"

    static var all: [(String, () -> String?)] { [
        ("allocate-memory", allocateMemory),
        ("dispatch-threads", dispatchThreads),
        ("swift-concurrency", swiftConcurrency),
        ("foundation-json", foundationJSON),
        ("foundation-misc", foundationMisc),
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
        return sample == 0xA5 ? nil : "memory did not hold its value"
    }

    private static func dispatchThreads() -> String? {
        let counter = Counter()
        DispatchQueue.concurrentPerform(iterations: 16) { _ in counter.add(1) }
        let group = DispatchGroup()
        for _ in 0..<8 {
            DispatchQueue.global().async(group: group) { counter.add(1) }
        }
        guard group.wait(timeout: .now() + 10) == .success else { return "dispatch group timed out" }
        let thread = Thread { counter.add(1) }
        thread.start()
        let deadline = Date().addingTimeInterval(10)
        while counter.value < 25 && Date() < deadline { usleep(1000) }
        return counter.value == 25 ? nil : "only \(counter.value) of 25 work items ran"
    }

    private static func swiftConcurrency() -> String? {
        let done = DispatchSemaphore(value: 0)
        let box = Counter()
        Task.detached {
            let values = await withTaskGroup(of: Int.self) { group in
                for index in 1...10 { group.addTask { index } }
                return await group.reduce(0, +)
            }
            box.add(values)
            done.signal()
        }
        guard done.wait(timeout: .now() + 10) == .success else { return "task group timed out" }
        return box.value == 55 ? nil : "task group summed to \(box.value)"
    }

    private struct Sample: Codable, Equatable {
        var name: String
        var values: [Double]
        var data: Data
    }

    private static func foundationJSON() -> String? {
        let sample = Sample(name: "grün", values: [1.5, -2, 1e9], data: Data([1, 2, 3]))
        do {
            let encoded = try JSONEncoder().encode(sample)
            let decoded = try JSONDecoder().decode(Sample.self, from: encoded)
            _ = try JSONSerialization.jsonObject(with: encoded)
            return decoded == sample ? nil : "round trip changed the value"
        } catch {
            return "JSON failed: \(error)"
        }
    }

    private static func foundationMisc() -> String? {
        let formatted = String(format: "%.2f-%@", 3.14159, "x")
        let timestamp = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: 0))
        let base64 = Data("parley".utf8).base64EncodedString()
        let cpus = ProcessInfo.processInfo.activeProcessorCount
        let memory = ProcessInfo.processInfo.physicalMemory
        guard formatted == "3.14-x", timestamp == "1970-01-01T00:00:00Z", base64 == "cGFybGV5",
              cpus > 0, memory > 0 else {
            return "unexpected: \(formatted) \(timestamp) \(base64) \(cpus) \(memory)"
        }
        return nil
    }

    private static func readStandardInput() -> String? {
        let data = FileHandle.standardInput.readDataToEndOfFile()
        let text = String(decoding: data, as: UTF8.self)
        return text.contains(expectedInput) ? nil : "stdin did not contain \(expectedInput) (\(data.count) bytes)"
    }

    private static func randomBytes() -> String? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let count = getrandom(&buffer, buffer.count, 0)
        guard count == buffer.count else { return "getrandom returned \(count): \(SandboxErrnoText.current)" }
        var generator = SystemRandomNumberGenerator()
        _ = generator.next()
        _ = UUID()
        return nil
    }

    private static func clock() -> String? {
        var time = timespec()
        guard clock_gettime(CLOCK_MONOTONIC, &time) == 0 else { return "clock_gettime failed" }
        usleep(1000)
        return Date().timeIntervalSince1970 > 1_600_000_000 ? nil : "wall clock is before 2020"
    }

    private static func readLimit() -> String? {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_AS.rawValue), &limit) == 0 else {
            return "getrlimit failed: \(SandboxErrnoText.current)"
        }
        return nil
    }
}

/// A thread-safe counter for the thread checks.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var total = 0

    func add(_ amount: Int) {
        lock.lock()
        total += amount
        lock.unlock()
    }

    var value: Int {
        lock.lock()
        defer { lock.unlock() }
        return total
    }
}

/// The text of the current errno.
enum SandboxErrnoText {
    static var current: String { String(cString: strerror(errno)) }
}
