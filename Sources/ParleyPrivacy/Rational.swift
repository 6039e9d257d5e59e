/// An exact, non-negative rational number `numerator / denominator`, always in lowest terms.
///
/// Privacy parameters (epsilon, delta, budgets, noise scales and variances) are `Rational`s so
/// that charging a budget a thousand times loses nothing to floating-point rounding: after
/// ten runs of epsilon `0.1` exactly `1` has been spent. Both parts fit in `UInt64`; any
/// operation whose exact result would not fit refuses with ``Refusal/parameterOverflow(_:)``
/// rather than rounding.
public struct Rational: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The numerator, in lowest terms.
    public let numerator: UInt64
    /// The denominator, in lowest terms; never zero.
    public let denominator: UInt64

    /// Zero.
    public static let zero = Rational(reducing: 0, 1)
    /// One.
    public static let one = Rational(reducing: 1, 1)

    /// Creates `numerator / denominator` in lowest terms.
    /// - Throws: ``Refusal/invalidNumber(_:)`` if `denominator` is zero.
    public init(_ numerator: UInt64, _ denominator: UInt64 = 1) throws(EgressError) {
        guard denominator != 0 else {
            throw EgressError(.invalidNumber("a fraction's denominator must not be zero"))
        }
        self.init(reducing: numerator, denominator)
    }

    /// Creates a whole number.
    public init(_ integer: UInt64) {
        self.init(reducing: integer, 1)
    }

    /// Reduces a fraction whose denominator the caller knows is non-zero.
    init(reducing numerator: UInt64, _ denominator: UInt64) {
        let divisor = greatestCommonDivisor(numerator, denominator)
        self.numerator = numerator / divisor
        self.denominator = denominator / divisor
    }

    /// Reduces a 128-bit fraction, refusing if the reduced parts do not fit in 64 bits.
    /// - Parameter what: names the quantity in the overflow refusal.
    init(reducingWide numerator: UInt128, _ denominator: UInt128, what: String) throws(EgressError) {
        precondition(denominator != 0, "internal: zero denominator")
        let divisor = greatestCommonDivisor(numerator, denominator)
        let reducedNumerator = numerator / divisor
        let reducedDenominator = denominator / divisor
        guard let n = UInt64(exactly: reducedNumerator), let d = UInt64(exactly: reducedDenominator) else {
            throw EgressError(.parameterOverflow(what))
        }
        self.init(reducing: n, d)
    }

    /// Whether the value is zero.
    public var isZero: Bool { numerator == 0 }

    /// The largest integer not above the value.
    public var floor: UInt64 { numerator / denominator }

    /// The nearest `Double`, for reporting and for calibration steps that are rounded
    /// conservatively afterwards; never used to sample or to charge a budget.
    public var approximateDouble: Double { Double(numerator) / Double(denominator) }

    /// The exact sum.
    /// - Throws: ``Refusal/parameterOverflow(_:)`` if it does not fit.
    public func adding(_ other: Rational) throws(EgressError) -> Rational {
        let n = UInt128(numerator) * UInt128(other.denominator) + UInt128(other.numerator) * UInt128(denominator)
        let d = UInt128(denominator) * UInt128(other.denominator)
        return try Rational(reducingWide: n, d, what: "sum of privacy parameters")
    }

    /// The exact difference `self - other`.
    /// - Throws: ``Refusal/invalidNumber(_:)`` if `other` is larger (the result would be
    ///   negative), ``Refusal/parameterOverflow(_:)`` if it does not fit.
    public func subtracting(_ other: Rational) throws(EgressError) -> Rational {
        guard other <= self else {
            throw EgressError(.invalidNumber("a privacy parameter cannot become negative"))
        }
        let n = UInt128(numerator) * UInt128(other.denominator) - UInt128(other.numerator) * UInt128(denominator)
        let d = UInt128(denominator) * UInt128(other.denominator)
        return try Rational(reducingWide: n, d, what: "difference of privacy parameters")
    }

    /// The exact product with a whole number.
    /// - Throws: ``Refusal/parameterOverflow(_:)`` if it does not fit.
    public func multiplied(by factor: UInt64) throws(EgressError) -> Rational {
        try Rational(reducingWide: UInt128(numerator) * UInt128(factor), UInt128(denominator), what: "scaled privacy parameter")
    }

    /// The exact quotient by a positive whole number.
    /// - Throws: ``Refusal/invalidNumber(_:)`` for division by zero,
    ///   ``Refusal/parameterOverflow(_:)`` if it does not fit.
    public func divided(by divisor: UInt64) throws(EgressError) -> Rational {
        guard divisor != 0 else { throw EgressError(.invalidNumber("division by zero")) }
        return try Rational(reducingWide: UInt128(numerator), UInt128(denominator) * UInt128(divisor), what: "divided privacy parameter")
    }

    /// Orders by exact value (cross-multiplication in 128 bits cannot overflow).
    public static func < (lhs: Rational, rhs: Rational) -> Bool {
        UInt128(lhs.numerator) * UInt128(rhs.denominator) < UInt128(rhs.numerator) * UInt128(lhs.denominator)
    }

    /// An exact decimal (`"0.25"`) when the denominator has no prime factor but 2 and 5,
    /// otherwise the fraction (`"1/3"`).
    public var description: String {
        if denominator == 1 { return String(numerator) }
        var twos = 0, fives = 0, rest = denominator
        while rest % 2 == 0 { rest /= 2; twos += 1 }
        while rest % 5 == 0 { rest /= 5; fives += 1 }
        let digits = max(twos, fives)
        guard rest == 1, digits <= 38 else { return "\(numerator)/\(denominator)" }
        // Long division terminates after `digits` steps because 10^digits is a multiple of
        // the denominator.
        var integerPart = String(numerator / denominator)
        var remainder = UInt128(numerator % denominator)
        var fraction = ""
        for _ in 0..<digits {
            remainder *= 10
            fraction.append(String(remainder / UInt128(denominator)))
            remainder %= UInt128(denominator)
        }
        integerPart.append(".")
        return integerPart + fraction
    }
}

/// Euclid's algorithm; `gcd(0, 0)` is taken as 1 so that callers may always divide by it.
package func greatestCommonDivisor<T: FixedWidthInteger & UnsignedInteger>(_ a: T, _ b: T) -> T {
    var (x, y) = (a, b)
    while y != 0 { (x, y) = (y, x % y) }
    return x == 0 ? 1 : x
}
