import ParleyAnalysis

/// How much one privacy unit may contribute; applied by the engine before any noise.
public struct ContributionBounds: Hashable, Sendable {
    /// At most this many groups per unit; when a unit falls in more, a keyed pseudo-random
    /// choice (see ``BoundingKey``) keeps this many.
    public var maxGroupsPerUnit: Int
    /// A unit's `COUNT(*)` within one group (and the row count behind its AVG) is clamped to this.
    public var maxRowsPerUnit: Int64
    /// In a join, a unit's rows in each source (those passing the conditions on that source)
    /// are cut to their first this many, in upload order, before the join, so its combinations are at most this to the power of the sources.
    /// The choice depends on the unit's own rows only.
    public var maxJoinRowsPerUnit: Int

    /// Creates bounds.
    public init(maxGroupsPerUnit: Int, maxRowsPerUnit: Int64,
                maxJoinRowsPerUnit: Int = ExecutionBounds.defaultMaxJoinRowsPerUnit) {
        self.maxGroupsPerUnit = maxGroupsPerUnit
        self.maxRowsPerUnit = maxRowsPerUnit
        self.maxJoinRowsPerUnit = maxJoinRowsPerUnit
    }
}

/// The exact, noise-free total of one aggregate in one group, after contribution bounding.
public enum AggregateTotal: Hashable, Sendable {
    /// `COUNT(*)` (sum of per-unit clamped row counts) or `COUNT(DISTINCT unit)`.
    case count(Int64)
    /// `SUM`: sum of per-unit contributions, each clamped to the column's bounds, in the
    /// column's storage unit (decimals scaled by ``DecimalValue/unit``).
    case sum(Int64)
    /// `AVG` as its two parts: the clamped sum (as for `.sum`) and the clamped row count.
    case average(sum: Int64, count: Int64)
    /// `MEDIAN` / `PERCENTILE_CONT`: each unit's clamped total, ascending (one per unit).
    case values([Int64])
    /// `VAR_POP` / `STDDEV_POP`: the sum of the units' clamped totals minus the bounds' centre,
    /// and of their rounded squares (``VarianceCentering``).
    case moments(centredSum: Int64, centredSquares: Int64)
    /// `HISTOGRAM`: the number of units whose clamped total is in each bin.
    case bins([Int64])
}

/// One group of the result: its key and exact totals.
public struct AggregatedGroup: Hashable, Sendable {
    /// The values of the GROUP BY columns, in ``QueryPlan/groupBy`` order.
    public let key: [ScalarValue]
    /// Distinct privacy units that contributed to the group (after bounding): what
    /// `min_group_size` is checked against.
    public let distinctUnits: Int64
    /// One total per ``QueryPlan/aggregates`` entry, same order.
    public let totals: [AggregateTotal]
}

/// The engine's output for one plan: exact bounded totals per group, ready for the egress gate
/// (which adds noise, suppresses small groups and charges the budget). Never released as is.
public struct GroupedAggregates: Hashable, Sendable {
    /// The aggregates, as in the plan.
    public let aggregates: [AggregateSpec]
    /// The GROUP BY columns, as in the plan.
    public let groupBy: [ColumnReference]
    /// The groups, sorted by key. With no GROUP BY there is exactly one group (empty key).
    public let groups: [AggregatedGroup]
}
