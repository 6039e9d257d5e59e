/// The public limits the worker's engine runs within, and the seal-time proof built on them
/// that a query can always be computed: no accumulator overflows and no join grows without
/// bound, whatever the data. A module that fails the proof is refused at seal time, so a
/// computation failure can never depend on (and so reveal) what was uploaded.
public enum ExecutionBounds {
    /// Most data rows one uploaded dataset may have; the worker's CSV loader refuses more.
    public static let maxRowsPerDataset = 50_000_000
    /// Most joined row combinations one privacy unit may produce, after its rows in each joined
    /// source are cut to `max_join_rows_per_unit`.
    public static let maxJoinCombinationsPerUnit = 1_000_000
    /// `max_join_rows_per_unit` when a module does not set it.
    public static let defaultMaxJoinRowsPerUnit = 100

    /// Most distinct privacy units a query can see: every unit is in every source (inner joins
    /// on the unit), so at most the rows of the smallest source's datasets.
    public static func maxUnits(of plan: QueryPlan) -> Int64 {
        let perSource = plan.sources.map { Int64($0.datasets.count) * Int64(maxRowsPerDataset) }
        return perSource.min() ?? Int64(maxRowsPerDataset)
    }

    /// Why a plan might not be computable within 64-bit accumulators and the join cap, or
    /// `nil` when it always is.
    ///
    /// - A join's combinations per unit are at most `max_join_rows_per_unit ^ sources`, which
    ///   must not exceed ``maxJoinCombinationsPerUnit``.
    /// - A group's `SUM`/`AVG` total is at most `units × max(|lower|, |upper|)` and its
    ///   `COUNT(*)` at most `units × max_rows_per_unit`; both must fit in `Int64`.
    /// - Parameters:
    ///   - maxRowsPerUnit: the policy's `max_rows_per_unit`.
    ///   - maxJoinRowsPerUnit: the policy's `max_join_rows_per_unit`.
    public static func problem(with plan: QueryPlan, maxRowsPerUnit: Int, maxJoinRowsPerUnit: Int) -> String? {
        if plan.sources.count > 1 {
            var product: Int64 = 1
            for _ in plan.sources {
                let (next, overflow) = product.multipliedReportingOverflow(by: Int64(maxJoinRowsPerUnit))
                product = overflow ? .max : next
            }
            if product > Int64(maxJoinCombinationsPerUnit) {
                return "the join of \(plan.sources.count) sources can give one privacy unit \(maxJoinRowsPerUnit)^\(plan.sources.count) "
                    + "row combinations, above the engine's cap of \(maxJoinCombinationsPerUnit); lower max_join_rows_per_unit in [policy]"
            }
        }
        let units = maxUnits(of: plan)
        for aggregate in plan.aggregates {
            var perUnit: UInt64
            switch aggregate.kind {
            case .countRows: perUnit = UInt64(max(0, maxRowsPerUnit))
            case .countDistinctUnits, .quantile, .histogram: perUnit = 1
            case .sum, .avg:
                guard let bounds = aggregate.bounds else { continue }
                perUnit = max(bounds.lower.magnitude, bounds.upper.magnitude)
            case .variance, .standardDeviation:
                // The centred sum of squares is the larger of its two accumulators.
                guard let centering = aggregate.centering else { continue }
                perUnit = max(centering.halfWidth, centering.maxSquare ?? .max)
            }
            let (total, overflow) = UInt64(units).multipliedReportingOverflow(by: perUnit)
            if overflow || total > UInt64(Int64.max) {
                let function: String = switch aggregate.kind {
                case .avg: "AVG"
                case .variance: "VAR_POP"
                case .standardDeviation: "STDDEV_POP"
                default: "SUM"
                }
                let what = aggregate.column.map { "\(function)(\($0))" } ?? "COUNT(*)"
                return "\(what) could overflow a 64-bit total: up to \(units) privacy units (\(maxRowsPerDataset) rows per dataset) "
                    + "times \(perUnit) per unit exceeds 2^63-1; narrow the column's clamping bounds"
                    + (aggregate.kind == .countRows ? " (here: max_rows_per_unit)" : "")
            }
        }
        return nil
    }
}
