/// How `VAR_POP` and `STDDEV_POP` measure a column: each unit's clamped total `v` is centred on
/// the middle of the column's bounds, and the engine sums the centred values `v - centre` and
/// their squares. Centring is free (variance does not depend on it) and halves the magnitudes,
/// so the sums' sensitivities are smaller and fit 64 bits for wider bounds.
///
/// Squares are divided by ``squareUnit`` and rounded half up: the smallest power of ten, at
/// least the column's own fixed-point unit (1 for `int`, `10^4` for `decimal`, whose values
/// are in ten-thousandths), that keeps the largest square at most ``maxSquareTarget``. So the
/// sum of squares of 50,000,000 units fits 64 bits for any bounds, at a rounding error (at most
/// half a square unit per unit) far below the noise. The rounding is a function of one unit's
/// value, so it does not change the sensitivity argument.
public struct VarianceCentering: Hashable, Sendable {
    /// The middle of the bounds, rounded down.
    public let centre: Int64
    /// The largest `|v - centre|` for `v` within the bounds.
    public let halfWidth: UInt64
    /// Squares are divided by this (1 for `int`, ``DecimalValue/unit`` for `decimal`).
    public let squareUnit: Int64

    /// The centring of a column with these bounds and type.
    public init(bounds: ClampBounds, type: ColumnType) {
        let lower = Int128(bounds.lower), upper = Int128(bounds.upper)
        let middle = lower + (upper - lower) / 2
        centre = Int64(middle)
        let half = UInt64(max(upper - middle, middle - lower))
        halfWidth = half
        var unit: Int64 = type == .decimal ? DecimalValue.unit : 1
        while UInt128(half) * UInt128(half) / UInt128(unit) > UInt128(Self.maxSquareTarget), unit <= Int64.max / 10 {
            unit *= 10
        }
        squareUnit = unit
    }

    /// The largest rounded square the square unit is chosen to allow (`10^10`).
    public static let maxSquareTarget: UInt64 = 10_000_000_000

    /// The largest square one unit contributes, or `nil` if it does not fit 63 bits.
    public var maxSquare: UInt64? {
        let square = UInt128(halfWidth) * UInt128(halfWidth)
        let unit = UInt128(squareUnit)
        let rounded = square / unit + (square % unit >= (unit + 1) / 2 ? 1 : 0)
        return rounded <= UInt128(Int64.max) ? UInt64(rounded) : nil
    }

    /// `v - centre` for a value already clamped to the bounds.
    public func centred(_ value: Int64) -> Int64 { value &- centre }

    /// The rounded square of a centred value; callers have checked ``maxSquare`` is not `nil`.
    public func square(_ centred: Int64) -> Int64 {
        let magnitude = centred.magnitude
        let (square, _) = magnitude.multipliedReportingOverflow(by: magnitude)
        let unit = UInt64(squareUnit)
        return Int64(square / unit + (square % unit >= (unit + 1) / 2 ? 1 : 0))
    }
}

extension AggregateSpec {
    /// The centring of a `VAR_POP` or `STDDEV_POP` aggregate (`nil` for the others).
    public var centering: VarianceCentering? {
        guard kind == .variance || kind == .standardDeviation, let bounds, let column else { return nil }
        return VarianceCentering(bounds: bounds, type: column.type)
    }
}
