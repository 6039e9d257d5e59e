/// The public values a quantile can be released as: every integer of the bounds when there are
/// at most ``maximumCount`` of them, else ``maximumCount`` evenly spaced points from `lower` to
/// `upper` (both included; point `g` is `lower + floor(g * (upper - lower) / (count - 1))`).
///
/// They depend only on the module's bounds, never on the data, so choosing among them is an
/// exponential mechanism over a fixed, finite range. Their number caps the sampler's work: the
/// exact rejection sampler (``QuantileCandidates`` with `ExponentialQuantileSampler`) needs at
/// most `count` tries on average.
public struct QuantileCandidates: Hashable, Sendable {
    /// The most candidates a quantile has.
    public static let maximumCount: UInt64 = 1001

    /// The bounds the candidates span.
    public let bounds: ContributionBounds
    /// How many candidates there are (at least 1).
    public let count: UInt64

    /// The candidates of `bounds`.
    public init(bounds: ContributionBounds) {
        self.bounds = bounds
        let width = UInt128(Int128(bounds.upper) - Int128(bounds.lower)) + 1
        count = UInt64(min(width, UInt128(Self.maximumCount)))
    }

    /// Candidate `index`, for `index < count`.
    public func value(at index: UInt64) -> Int64 {
        precondition(index < count, "internal: candidate out of range")
        if count == 1 { return bounds.lower }
        let span = Int128(bounds.upper) - Int128(bounds.lower)
        return Int64(Int128(bounds.lower) + Int128(index) * span / Int128(count - 1))
    }

    /// Every candidate, ascending: ``value(at:)`` for each index, computed by exact stepping
    /// (`floor(g * span / (count - 1))` grows by `span / (count - 1)` and a carried remainder).
    public var values: [Int64] {
        guard count > 1 else { return [bounds.lower] }
        let span = UInt128(Int128(bounds.upper) - Int128(bounds.lower))
        let steps = UInt128(count - 1)
        let (quotient, remainder) = span.quotientAndRemainder(dividingBy: steps)
        var out: [Int64] = []
        out.reserveCapacity(Int(count))
        var offset: UInt128 = 0, carried: UInt128 = 0
        for _ in 0..<count {
            out.append(Int64(Int128(bounds.lower) + Int128(offset)))
            offset += quotient
            carried += remainder
            if carried >= steps { carried -= steps; offset += 1 }
        }
        return out
    }

    /// The largest gap between neighbouring candidates (1 when every integer is one): the
    /// release's resolution, in the column's storage units.
    public var resolution: UInt64 {
        guard count > 1 else { return 0 }
        let span = UInt128(Int128(bounds.upper) - Int128(bounds.lower))
        return UInt64((span + UInt128(count - 2)) / UInt128(count - 1))
    }
}

/// The exponential mechanism's utility for the `p`-quantile (`p = pn / pd`) at a candidate `y`,
/// scaled to an integer: `score(y) = |(pd - pn) * below(y) - pn * above(y)|`, where `below` and
/// `above` count the units' values strictly below and above `y`. The true quantile has the
/// lowest score. Adding or removing one unit changes `below` or `above` (not both) by 1, so the
/// score moves by at most ``sensitivity`` `= max(pn, pd - pn)`; the mechanism divides by it.
public struct QuantileScore: Hashable, Sendable {
    /// `pn`.
    public let fractionNumerator: UInt64
    /// `pd`.
    public let fractionDenominator: UInt64

    /// The score of the fraction `p` (at most 1).
    public init(fraction: Rational) {
        fractionNumerator = min(fraction.numerator, fraction.denominator)
        fractionDenominator = fraction.denominator
    }

    /// `max(pn, pd - pn)`: how much one unit moves a score.
    public var sensitivity: UInt64 { max(fractionNumerator, fractionDenominator - fractionNumerator) }

    /// The score with `below` values under the candidate and `above` values over it.
    public func score(below: UInt64, above: UInt64) -> UInt128 {
        let left = UInt128(fractionDenominator - fractionNumerator) * UInt128(below)
        let right = UInt128(fractionNumerator) * UInt128(above)
        return left >= right ? left - right : right - left
    }
}
