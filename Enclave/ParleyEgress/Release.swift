import ParleyPrivacy
/// What leaves the worker for one query run: noisy aggregates of the groups that passed
/// `min_group_size`, and the accounting of the run. Everything in it is differentially
/// private (post-processing of noisy measurements); nothing exact does.
public struct Release: Hashable, Sendable {
    /// The aggregate column names, in query order.
    public let columns: [String]
    /// The released groups, sorted by their keys so that order says nothing about the data.
    public let rows: [ReleasedRow]
    /// An estimate of how many groups were withheld: the noisy number of groups minus the
    /// number released, at least 0. A count only, nothing about which groups.
    public let suppressedGroupCount: UInt64
    /// The noise family used.
    public let mechanism: NoiseMechanism
    /// Epsilon charged for this run.
    public let epsilonCharged: Rational
    /// Delta of the Gaussian noise charged for this run (zero for Laplace).
    public let deltaCharged: Rational
    /// Upper bound on the extra delta of releasing only groups present in the data.
    public let partitionSelectionDelta: Double
    /// Epsilon left in the job's budget after this run.
    public let budgetRemaining: Rational
}

/// One released group.
public struct ReleasedRow: Hashable, Sendable {
    /// The group-by values.
    public let keys: [String]
    /// One noisy value per aggregate column.
    public let values: [ReleasedValue]
}

/// A released aggregate value.
public enum ReleasedValue: Hashable, Sendable, CustomStringConvertible {
    /// A noisy count or sum, in the column's fixed-point units. Counts are at least 0.
    case integer(Int64)
    /// A noisy average.
    case average(NoisyAverage)
    /// A population variance or standard deviation, from noisy moments.
    case variance(NoisyVariance)
    /// A histogram: one noisy count per bin, each at least 0.
    case counts([Int64])

    /// Integers in decimal; averages and variances with six fractional digits; counts as
    /// `[3,0,7]`.
    public var description: String {
        switch self {
        case let .integer(value): return String(value)
        case let .average(average): return average.decimalString()
        case let .variance(variance): return variance.decimalString()
        case let .counts(counts): return "[" + counts.map(String.init).joined(separator: ",") + "]"
        }
    }
}

/// A noisy population variance (or standard deviation), post-processed from three noisy
/// measurements: the distinct-unit count `n`, the centred sum `S` and the centred sum of squares
/// `Q` (each square divided by `squareUnit`). In the column's storage units (squared, for the
/// variance): `variance = Q * squareUnit / n - (S / n)^2`, clamped to `[0, halfWidth^2]` (no
/// set of values within the bounds has a larger variance), and the standard deviation is its
/// square root. Post-processing, so it costs nothing beyond its measurements; it is computed
/// in `Double`, which touches no noise.
public struct NoisyVariance: Hashable, Sendable {
    /// The noisy distinct-unit count, at least 1.
    public let count: Int64
    /// The noisy centred sum.
    public let centredSum: Int64
    /// The noisy centred sum of squares.
    public let centredSquares: Int64
    /// The bounds' centring.
    public let moments: MomentBounds
    /// Whether this is the standard deviation rather than the variance.
    public let standardDeviation: Bool

    /// The value in the column's storage units: the variance in their square (for a `decimal`
    /// column, in 10^-8), the standard deviation in them (10^-4).
    public var value: Double {
        let n = Double(max(1, count))
        let mean = Double(centredSum) / n
        let raw = Double(centredSquares) * Double(moments.squareUnit) / n - mean * mean
        let half = Double(moments.halfWidth)
        let variance = min(max(0, raw), half * half)
        return standardDeviation ? variance.squareRoot() : variance
    }

    /// The value with six fractional digits.
    public func decimalString() -> String {
        let micros = (value * 1_000_000).rounded()
        guard micros.isFinite, micros < 9e18 else { return String(value) }
        let whole = UInt64(micros) / 1_000_000
        let fraction = String(UInt64(micros) % 1_000_000)
        return "\(whole)." + String(repeating: "0", count: 6 - fraction.count) + fraction
    }
}

/// A noisy average kept as an exact fraction, rendered to decimal deterministically.
///
/// It is the noisy sum over the noisy distinct-unit count, clamped to the column's bounds
/// (the true per-unit mean always lies within them, so clamping is free post-processing).
public struct NoisyAverage: Hashable, Sendable {
    /// The numerator, in the column's fixed-point units.
    public let numerator: Int64
    /// The denominator, always positive.
    public let denominator: Int64

    /// `sum / count` clamped to `bounds`; `count` must be positive (released groups have a
    /// noisy count of at least `min_group_size >= 1`).
    init(sum: Int64, count: Int64, clampedTo bounds: ContributionBounds) {
        precondition(count > 0, "internal: average over a non-positive count")
        let wideSum = Int128(sum)
        if wideSum < Int128(bounds.lower) * Int128(count) {
            (numerator, denominator) = (bounds.lower, 1)
        } else if wideSum > Int128(bounds.upper) * Int128(count) {
            (numerator, denominator) = (bounds.upper, 1)
        } else {
            let divisor = Int64(greatestCommonDivisor(sum.magnitude, count.magnitude))
            (numerator, denominator) = (sum / divisor, count / divisor)
        }
    }

    /// The value in decimal with exactly `fractionDigits` digits after the point (none and no
    /// point when zero), rounded half away from zero: `7/3` is `"2.333333"`, `-1/8` with two
    /// digits is `"-0.13"`.
    public func decimalString(fractionDigits: Int = 6) -> String {
        let digits = min(max(fractionDigits, 0), 18)
        var scale: Int128 = 1
        for _ in 0..<digits { scale *= 10 }
        let negative = numerator < 0
        let magnitude = Int128(numerator.magnitude)
        let scaled = (magnitude * scale * 2 + Int128(denominator)) / (Int128(denominator) * 2)
        let integerPart = scaled / scale
        var text = (negative && scaled != 0 ? "-" : "") + String(integerPart)
        if digits > 0 {
            let fraction = String(scaled % scale)
            text += "." + String(repeating: "0", count: digits - fraction.count) + fraction
        }
        return text
    }
}
