/// One noisy quantity the gate computes per run. Aggregates are post-processing of
/// measurements; each distinct measurement is noised (and charged) once per run however many
/// aggregates use it.
public enum Measurement: Hashable, Sendable, CustomStringConvertible {
    /// Each group's distinct privacy-unit count. Always measured: it decides which groups pass
    /// `min_group_size`, and is what `COUNT(DISTINCT unit)` and `AVG`'s denominator release.
    case distinctUnits
    /// Each group's number of non-empty groups in the input: one scalar, from which the
    /// suppressed-group count is estimated. Always measured.
    case groupCount
    /// Each group's `COUNT(*)` with rows per unit and group clamped to `0...maxRowsPerUnit`.
    case rowCount(maxRowsPerUnit: UInt64)
    /// Each group's `SUM(column)` with unit totals clamped to `bounds`.
    case sum(column: String, bounds: ContributionBounds)
    /// Each group's `fraction`-quantile of the units' clamped totals, by the exponential
    /// mechanism (one draw per group, not additive noise).
    case quantile(column: String, bounds: ContributionBounds, fraction: Rational)
    /// Each group's sum of the units' clamped totals minus the bounds' centre.
    case centredSum(column: String, moments: MomentBounds)
    /// Each group's sum of the squares of the units' centred totals (rounded in the square unit).
    case centredSquares(column: String, moments: MomentBounds)
    /// Each group's count of units per bin (a vector; a unit is in at most one bin).
    case histogram(column: String, edges: [Int64])

    /// A short name for cost previews.
    public var description: String {
        switch self {
        case .distinctUnits: return "distinct-unit count per group"
        case .groupCount: return "number of groups (for the suppressed count)"
        case let .rowCount(maxRows): return "row count per group (at most \(maxRows) per unit)"
        case let .sum(column, bounds): return "sum of \(column) per group, bounds \(bounds)"
        case let .quantile(column, bounds, fraction):
            let candidates = QuantileCandidates(bounds: bounds)
            return "quantile \(fraction) of \(column) per group (exponential mechanism), bounds \(bounds), "
                + "\(candidates.count) candidates \(candidates.resolution <= 1 ? "(every value)" : "at most \(candidates.resolution) apart")"
        case let .centredSum(column, moments): return "centred sum of \(column) per group, bounds \(moments)"
        case let .centredSquares(column, moments):
            return "centred sum of squares of \(column) per group, bounds \(moments), squares in 1/\(moments.squareUnit)"
        case let .histogram(column, edges): return "histogram of \(column) per group, \(edges.count - 1) bins"
        }
    }

    /// How much adding or removing one privacy unit can change this measurement, given that a
    /// unit appears in at most `maxGroupsPerUnit` groups.
    ///
    /// For a per-group measurement where one unit moves one group's value by at most `c`:
    /// L1 = `maxGroupsPerUnit * c` and L2 = `sqrt(maxGroupsPerUnit) * c` (kept squared, so
    /// exact). The group count is one number that a unit moves by at most `maxGroupsPerUnit`.
    /// - Throws: ``Refusal/parameterOverflow(_:)`` if the L1 sensitivity does not fit in 64
    ///   bits (the squared L2 saturates at `UInt64.max`).
    public func sensitivity(maxGroupsPerUnit: UInt64) throws(EgressError) -> Sensitivity {
        let perGroup: UInt64
        switch self {
        case .groupCount:
            let (squared, overflowed) = maxGroupsPerUnit.multipliedReportingOverflow(by: maxGroupsPerUnit)
            return Sensitivity(l1: maxGroupsPerUnit, l2Squared: overflowed ? .max : squared)
        // A quantile's utility (a weighted rank) and a histogram's vector move by at most 1
        // (in the utility's own scale, or in one bin) per group a unit is in.
        case .distinctUnits, .quantile, .histogram: perGroup = 1
        case let .rowCount(maxRows): perGroup = maxRows
        case let .sum(_, bounds): perGroup = bounds.maximumMagnitude
        case let .centredSum(_, moments): perGroup = moments.halfWidth
        case let .centredSquares(_, moments): perGroup = moments.maxSquare
        }
        let (l1, overflowL1) = maxGroupsPerUnit.multipliedReportingOverflow(by: perGroup)
        guard !overflowL1 else {
            throw EgressError(.parameterOverflow("sensitivity of \(self); narrow the bounds or max_groups_per_unit"))
        }
        // L2 squared saturates: only Gaussian noise reads it, and its calibration refuses a
        // variance that large. A Laplace policy with wide bounds (a SUM of amounts up to 10^6
        // in ten-thousandths has L2 squared 10^20) stays usable.
        let (square, overflowSquare) = perGroup.multipliedReportingOverflow(by: perGroup)
        let (l2Squared, overflowL2) = square.multipliedReportingOverflow(by: maxGroupsPerUnit)
        return Sensitivity(l1: l1, l2Squared: overflowSquare || overflowL2 ? .max : l2Squared)
    }
}

/// The sensitivity of a measurement to one privacy unit (add/remove neighbours).
public struct Sensitivity: Hashable, Sendable {
    /// L1 sensitivity, which calibrates discrete Laplace noise.
    public let l1: UInt64
    /// The square of the L2 sensitivity, which calibrates discrete Gaussian noise.
    public let l2Squared: UInt64
}
