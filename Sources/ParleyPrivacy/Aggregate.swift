/// The per-unit bounds an aggregate's input was clamped to, in the column's fixed-point units.
///
/// After the query engine's contribution bounding, each privacy unit adds a value in
/// `lower...upper` to each group it appears in (its own rows in the group summed, then
/// clamped). The bounds come from the module, never from the data.
public struct ContributionBounds: Hashable, Sendable, CustomStringConvertible {
    /// Smallest contribution of one unit to one group.
    public let lower: Int64
    /// Largest contribution of one unit to one group.
    public let upper: Int64

    /// Creates bounds.
    /// - Throws: ``Refusal/invalidQuery(_:)`` if `lower > upper`.
    public init(lower: Int64, upper: Int64) throws(EgressError) {
        guard lower <= upper else {
            throw EgressError(.invalidQuery("clamping bounds need lower <= upper"))
        }
        self.lower = lower
        self.upper = upper
    }

    /// The most one unit can move a group's total by joining or leaving it:
    /// `max(|lower|, |upper|)`.
    public var maximumMagnitude: UInt64 { max(lower.magnitude, upper.magnitude) }

    /// `[lower, upper]`.
    public var description: String { "[\(lower), \(upper)]" }
}

/// What an aggregate of a released query computes.
public enum AggregateKind: Hashable, Sendable {
    /// `COUNT(*)`: rows per group, each unit's rows in a group clamped by the engine to
    /// `0...maxRowsPerUnit`.
    case countRows(maxRowsPerUnit: UInt64)
    /// `COUNT(DISTINCT unit)`: privacy units per group; each unit contributes 1.
    case countDistinctUnits
    /// `SUM(column)`: each unit's total in a group clamped to `bounds`.
    case sum(column: String, bounds: ContributionBounds)
    /// `AVG(column)`: the mean over a group's units of their clamped totals, released as
    /// noisy `SUM(column)` divided by the noisy distinct-unit count; it needs both.
    case average(column: String, bounds: ContributionBounds)
    /// `MEDIAN(column)` / `PERCENTILE_CONT(column, p)`: the `fraction`-quantile of the units'
    /// clamped totals in a group, chosen by the exponential mechanism among candidates in
    /// `bounds` (``QuantileCandidates``).
    case quantile(column: String, bounds: ContributionBounds, fraction: Rational)
    /// `VAR_POP(column)` (or, with `standardDeviation`, `STDDEV_POP(column)`): from the noisy
    /// unit count, the noisy centred sum and the noisy centred sum of squares.
    case variance(column: String, moments: MomentBounds, standardDeviation: Bool)
    /// `HISTOGRAM(column, edges...)`: the number of units whose clamped total falls in each bin
    /// `[edges[i], edges[i + 1])` (the last one closed); values outside are not counted.
    case histogram(column: String, edges: [Int64])

    /// Rows a unit may add to one group for `COUNT(*)` unless the module says otherwise.
    public static let defaultMaxRowsPerUnit: UInt64 = 1

    /// `COUNT(*)` with ``defaultMaxRowsPerUnit``.
    public static var countRows: AggregateKind { .countRows(maxRowsPerUnit: defaultMaxRowsPerUnit) }
}

/// One aggregate column of a query, as declared in the sealed module.
public struct AggregateSpec: Hashable, Sendable {
    /// The output column name (the `AS` alias).
    public let name: String
    /// What the column computes.
    public let kind: AggregateKind

    /// Creates an aggregate column.
    public init(name: String, kind: AggregateKind) {
        self.name = name
        self.kind = kind
    }

    /// The noisy measurements this aggregate is computed from, and so charged for.
    /// `AVG` charges both its `SUM` and the distinct-unit count.
    public var measurements: [Measurement] {
        switch kind {
        case let .countRows(maxRowsPerUnit): return [.rowCount(maxRowsPerUnit: maxRowsPerUnit)]
        case .countDistinctUnits: return [.distinctUnits]
        case let .sum(column, bounds): return [.sum(column: column, bounds: bounds)]
        case let .average(column, bounds): return [.sum(column: column, bounds: bounds), .distinctUnits]
        case let .quantile(column, bounds, fraction): return [.quantile(column: column, bounds: bounds, fraction: fraction)]
        case let .variance(column, moments, _):
            return [.distinctUnits, .centredSum(column: column, moments: moments), .centredSquares(column: column, moments: moments)]
        case let .histogram(column, edges): return [.histogram(column: column, edges: edges)]
        }
    }
}

/// The bounds of a `VAR_POP` / `STDDEV_POP` column as the gate needs them: each unit's clamped
/// total `v` is measured as `v - centre` (at most ``halfWidth`` in magnitude) and as its
/// square divided by ``squareUnit`` and rounded (at most ``maxSquare``). The engine computes
/// the same numbers from the same bounds (`VarianceCentering` in ParleyAnalysis).
public struct MomentBounds: Hashable, Sendable, CustomStringConvertible {
    /// The clamping bounds of each unit's total.
    public let bounds: ContributionBounds
    /// Squares are divided by this and rounded half up (the module's choice: a power of ten, at
    /// least the column's fixed-point unit).
    public let squareUnit: Int64
    /// The middle of the bounds, rounded down.
    public let centre: Int64
    /// The largest `|v - centre|` within the bounds.
    public let halfWidth: UInt64
    /// The largest rounded square one unit contributes.
    public let maxSquare: UInt64

    /// Derives the centring of `bounds`.
    /// - Throws: ``Refusal/invalidQuery(_:)`` for a non-positive `squareUnit` or bounds of one
    ///   value; ``Refusal/parameterOverflow(_:)`` if the largest square does not fit 63 bits.
    public init(bounds: ContributionBounds, squareUnit: Int64) throws(EgressError) {
        guard squareUnit > 0 else { throw EgressError(.invalidQuery("a square unit must be positive")) }
        guard bounds.lower < bounds.upper else {
            throw EgressError(.invalidQuery("a variance over bounds of one value is constant; widen the bounds"))
        }
        let lower = Int128(bounds.lower), upper = Int128(bounds.upper)
        let middle = lower + (upper - lower) / 2
        let half = UInt64(max(upper - middle, middle - lower))
        let square = UInt128(half) * UInt128(half)
        let unit = UInt128(squareUnit)
        let rounded = square / unit + (square % unit >= (unit + 1) / 2 ? 1 : 0)
        guard rounded <= UInt128(Int64.max) else {
            throw EgressError(.parameterOverflow("the square of the bounds \(bounds); narrow them"))
        }
        self.bounds = bounds
        self.squareUnit = squareUnit
        self.centre = Int64(middle)
        self.halfWidth = half
        self.maxSquare = UInt64(rounded)
    }

    /// `[lower, upper]` (centre c).
    public var description: String { "\(bounds) (centred on \(centre))" }
}
