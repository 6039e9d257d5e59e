import Foundation

/// The worker's memory, as datasets may use it. An upload has no fixed size cap: it may take
/// what the operator gave the worker (`parley serve --worker-memory`, the worker's address-space
/// limit) less what the worker itself takes at start, and less a share kept back for queries
/// (their join indexes and group tables) and for normalising identifier columns.
public struct WorkerMemory: Sendable, Equatable {
    /// The worker's address-space limit (bytes).
    public let limitBytes: Int
    /// What the accepted tables and the uploads under way together may hold (bytes).
    public let datasetBytes: Int

    /// The share of the memory left after start that datasets may take.
    public static let datasetShare = 0.6

    /// - Parameters:
    ///   - limitBytes: The address-space limit.
    ///   - baselineBytes: The address space the worker took before reading any input.
    public init(limitBytes: Int, baselineBytes: Int) {
        self.limitBytes = limitBytes
        datasetBytes = max(0, Int(Double(max(0, limitBytes - baselineBytes)) * Self.datasetShare))
    }

    /// No limit (tests that exercise other things).
    public static let unlimited = WorkerMemory(unlimited: ())

    private init(unlimited: Void) {
        limitBytes = .max
        datasetBytes = .max / 4
    }

    /// The address space this process takes now (`VmSize` of /proc/self/status), read before
    /// lock-down (afterwards /proc is out of reach); nil if it cannot be read.
    public static func currentAddressSpace() -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("VmSize:") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if fields.count >= 2, let kib = Int(fields[1]) { return kib << 10 }
        }
        return nil
    }

    /// Bytes as whole MiB, rounded up (for messages).
    public static func mib(_ bytes: Int) -> Int { bytes >> 20 + (bytes & ((1 << 20) - 1) == 0 ? 0 : 1) }
}
