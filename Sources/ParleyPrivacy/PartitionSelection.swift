/// How a query's groups (partitions) are chosen, which decides what is released and what a run
/// costs. See docs/privacy.md, "Partitions".
///
/// - ``threshold``: `GROUP BY` without declared keys. Groups come from the data, so a group's
///   very presence depends on it: a group is released only if its noisy distinct-unit count
///   reaches `min_group_size`, which costs a partition-selection delta, and the number of groups
///   is measured (with noise) for the suppressed count.
/// - ``declared(keys:)``: `GROUP BY` over public keys declared in the module (Tumult's KeySet,
///   AWS Clean Rooms' declared values). Every declared key is released, an empty one as a noisy
///   zero; groups whose key is not declared are dropped. No threshold, no partition-selection
///   delta, no group-count measurement.
/// - ``whole``: no `GROUP BY`. One public partition (the empty key) that is always computed,
///   charged and passed through the gate; it is shown as suppressed when its *noisy*
///   distinct-unit count is below `min_group_size` (post-processing of a noisy value), so
///   nothing about the data decides between a release and a suppression except the noise.
public enum PartitionSelection: Hashable, Sendable {
    /// Groups from the data, released behind the noisy threshold.
    case threshold
    /// Every one of these public keys is released; other groups are dropped.
    case declared(keys: [[String]])
    /// One public partition: the whole input.
    case whole

    /// Whether the groups are known before the data is (no partition-selection delta).
    public var isPublic: Bool {
        if case .threshold = self { return false }
        return true
    }

    /// A short description for `module inspect` and `query cost`.
    public var summary: String {
        switch self {
        case .threshold: return "groups from the data, released behind the noisy min_group_size threshold"
        case .declared(let keys): return "declared public keys (\(keys.count)), each released, empty ones as a noisy zero"
        case .whole: return "one public partition (no GROUP BY), always computed and charged"
        }
    }
}

extension PartitionSelection {
    /// True for partitions the module declares (a public key set), false for keys found in data.
    package var isDeclared: Bool {
        if case .declared = self { return true }
        return false
    }
}
