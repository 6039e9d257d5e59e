/// Which descriptors the worker keeps: everything else it inherited is closed (`close_range`).
///
/// A worker's stdout and stderr would otherwise be whatever its launcher had, typically the
/// host's own log file: a way out of the sandbox. With ``StandardStreams/nullDevice`` they are
/// /dev/null, so nothing the worker writes there reaches anyone.
public struct DescriptorPolicy: Sendable, Hashable {
    /// What descriptors 0, 1 and 2 become.
    public enum StandardStreams: String, Sendable, Hashable {
        /// /dev/null, opened read-write: reads see end of file, writes vanish. The worker's setting.
        case nullDevice = "null-device"
        /// Kept as inherited. Only for the sandbox probe, which reports on stdout and reads stdin.
        case inherited
    }

    /// What 0, 1 and 2 become.
    public var standardStreams: StandardStreams
    /// Descriptors above 2 to keep open (the worker's channel to the host); all others are closed.
    public var keep: Set<Int32>

    /// Creates a descriptor policy.
    /// - Parameters:
    ///   - standardStreams: ``StandardStreams/nullDevice`` by default.
    ///   - keep: descriptors above 2 to keep; none by default.
    public init(standardStreams: StandardStreams = .nullDevice, keep: Set<Int32> = []) {
        self.standardStreams = standardStreams
        self.keep = keep
    }

    /// The worker's: 0-2 on /dev/null, only `channel` kept.
    public static func worker(channel: Int32) -> DescriptorPolicy {
        DescriptorPolicy(standardStreams: .nullDevice, keep: [channel])
    }
}
