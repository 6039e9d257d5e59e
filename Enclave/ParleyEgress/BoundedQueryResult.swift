import ParleyPrivacy
/// The exact result of one query run, as the query engine hands it to the gate. It never
/// leaves the worker: only what ``EgressGate`` makes of it does.
///
/// The engine's contract, which the gate relies on for its guarantee:
/// 1. Each privacy unit contributes to at most `max_groups_per_unit` groups (the engine drops
///    the excess groups of a unit, chosen without looking at other units).
/// 2. Within a group, each unit's contribution to each aggregate has been clamped to the
///    aggregate's bounds: its rows summed then clamped to `[lower, upper]` for `SUM` and `AVG`,
///    its row count clamped to `0...maxRowsPerUnit` for `COUNT(*)`, exactly 1 for
///    `COUNT(DISTINCT unit)`.
/// 3. A group appears once, and (for ``PartitionSelection/threshold``) only if at least one
///    unit contributes to it.
///
/// The gate checks what it can see (totals within what the bounds allow, `COUNT(DISTINCT)`
/// equal to the distinct-unit count, no duplicate keys) and refuses with
/// ``Refusal/contractViolation(_:)`` otherwise. It cannot see point 1; the engine must hold it.
public struct BoundedQueryResult: Sendable {
    /// The query's aggregate columns, in output order.
    public let aggregates: [AggregateSpec]
    /// The non-empty groups, in any order (the release is sorted by key). With public
    /// partitions an empty group may be given or left out: the gate adds it.
    public let groups: [BoundedGroup]
    /// How the groups are chosen (the query's, as charged).
    public let partitions: PartitionSelection

    /// Creates an engine result.
    public init(aggregates: [AggregateSpec], groups: [BoundedGroup], partitions: PartitionSelection = .threshold) {
        self.aggregates = aggregates
        self.groups = groups
        self.partitions = partitions
    }
}

/// One group of an engine result, with exact (secret) values.
public struct BoundedGroup: Sendable {
    /// The group-by values, opaque to the gate and released as they are.
    public let keys: [String]
    /// The exact number of distinct privacy units in the group (at least 1 for groups from
    /// the data; 0 allowed for a public partition).
    public let distinctUnits: Int64
    /// One exact total per aggregate, in the order of ``BoundedQueryResult/aggregates``:
    /// the clamped row count, the distinct-unit count, or the sum of clamped unit totals
    /// (for `AVG` too: its sum, which the gate divides by the noisy unit count).
    public let totals: [Int64]
    /// What the aggregates that need more than one total read, one entry per aggregate (empty
    /// for the others, or an empty list when the query has none): for a quantile the units'
    /// clamped totals (one per unit, any order); for a variance `[centred sum, centred sum of
    /// squares]`; for a histogram the count of units per bin. Their ``totals`` entry is 0.
    public let details: [[Int64]]

    /// Creates a group.
    public init(keys: [String], distinctUnits: Int64, totals: [Int64], details: [[Int64]] = []) {
        self.keys = keys
        self.distinctUnits = distinctUnits
        self.totals = totals
        self.details = details
    }

    /// The details of aggregate `index` (empty if none were given).
    func detail(_ index: Int) -> [Int64] { index < details.count ? details[index] : [] }
}
