import ParleyAnalysis

/// Runs checked query plans over loaded datasets, in memory, and bounds every privacy unit's
/// contribution before totals are formed.
///
/// Steps: conditions that read one source are applied to that source's rows; rows are bucketed
/// by privacy unit; for each unit present in every source, the inner join is the product of its
/// rows (all joins are on the unit), each source's rows of the unit first cut to
/// ``ContributionBounds/maxJoinRowsPerUnit``; remaining conditions filter the combinations; each
/// combination adds to the unit's per-group partial results; the unit's groups are cut to
/// ``ContributionBounds/maxGroupsPerUnit`` (keyed pseudo-random choice), its row counts clamped
/// to ``ContributionBounds/maxRowsPerUnit`` and its per-group sums clamped to the column bounds;
/// then its partials join the group totals.
public struct QueryEngine: Sendable {
    /// The loaded datasets by name.
    public let datasets: [String: Table]
    /// Cap on the number of joined row combinations one run may enumerate, past which the run
    /// fails. The worker does not rely on it (a failure would depend on the data): its joins
    /// are bounded per unit by ``ContributionBounds/maxJoinRowsPerUnit``, so their work is at
    /// most the rows times that bound to the power of the sources, and it passes `Int.max`.
    public let maxJoinedRows: Int

    /// Creates an engine over loaded datasets.
    ///
    /// - Parameters:
    ///   - datasets: Loaded tables by dataset name.
    ///   - maxJoinedRows: Cap on joined row combinations per run (default one billion).
    public init(datasets: [String: Table], maxJoinedRows: Int = 1_000_000_000) {
        self.datasets = datasets
        self.maxJoinedRows = maxJoinedRows
    }

    /// Computes the exact bounded totals of a plan.
    ///
    /// - Parameters:
    ///   - plan: A plan from ``QueryCompiler``.
    ///   - bounds: Per-unit contribution limits.
    ///   - key: The worker's secret for choosing which groups a unit keeps.
    /// - Throws: ``EngineError`` if a dataset is missing, the join exceeds ``maxJoinedRows`` or
    ///   a total overflows 64 bits.
    public func run(_ plan: QueryPlan, bounds: ContributionBounds, key: BoundingKey) throws(EngineError) -> GroupedAggregates {
        guard bounds.maxGroupsPerUnit >= 1, bounds.maxRowsPerUnit >= 1 else {
            throw EngineError("contribution bounds must allow at least one group and one row per unit")
        }
        guard plan.parameters.isEmpty else {
            throw EngineError("the plan has unbound parameters (\(plan.parameters.keys.sorted().map { "@" + $0 }.joined(separator: ", "))); bind them first")
        }
        var tables: [Table] = []
        for source in plan.sources {
            var members: [Table] = []
            for name in source.datasets {
                guard let table = datasets[name] else { throw EngineError("dataset '\(name)' has not been uploaded") }
                members.append(table)
            }
            tables.append(try Table.concatenating(members))
        }
        var execution = BoundedAggregation(plan: plan, tables: tables, bounds: bounds, key: key,
                                           maxJoinedRows: maxJoinedRows)
        return try execution.run()
    }
}
