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
        }
    }
}
