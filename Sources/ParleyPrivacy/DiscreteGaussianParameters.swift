/// The exact integer parameters of a discrete Gaussian with rational variance `sigma^2 = p / q`
/// (Canonne, Kamath and Steinke 2020, Algorithm 3): the Laplace proposal's scale
/// `t = floor(sigma) + 1` and the acceptance exponent's denominator `2 p q t^2`.
///
/// Shared by query costing (a party's `parley query cost` and seal-time checks refuse a variance
/// the worker could not sample) and the worker's sampler, so both refuse exactly the same inputs.
public struct DiscreteGaussianParameters: Sendable, Equatable {
    /// `p` in `sigma^2 = p / q`.
    public let varianceNumerator: UInt64
    /// `q` in `sigma^2 = p / q`.
    public let varianceDenominator: UInt64
    /// The Laplace proposal's scale, `floor(sigma) + 1`.
    public let proposalScale: UInt64
    /// `2 p q t^2`.
    public let exponentDenominator: UInt128

    /// - Throws: ``Refusal/invalidNumber(_:)`` for a zero variance,
    ///   ``Refusal/parameterOverflow(_:)`` when `2 p q t^2` does not fit in 120 bits (the
    ///   margin keeps the per-candidate arithmetic exact except with negligible probability).
    public init(variance: Rational) throws(EgressError) {
        guard !variance.isZero else {
            throw EgressError(.invalidNumber("the discrete Gaussian needs a positive variance"))
        }
        let p = variance.numerator, q = variance.denominator
        let t = integerSquareRoot(p / q) + 1
        let overflow = EgressError(.parameterOverflow("discrete Gaussian variance"))
        var product = UInt128(2) * UInt128(p)
        for factor in [q, t, t] {
            let (next, overflowed) = product.multipliedReportingOverflow(by: UInt128(factor))
            guard !overflowed else { throw overflow }
            product = next
        }
        guard product.leadingZeroBitCount >= 8 else { throw overflow }
        varianceNumerator = p
        varianceDenominator = q
        proposalScale = t
        exponentDenominator = product
    }
}

/// `floor(sqrt(n))`, exact: a floating-point estimate corrected with integer arithmetic.
package func integerSquareRoot(_ n: UInt64) -> UInt64 {
    var root = UInt64(Double(n).squareRoot().rounded(.down))
    while UInt128(root) * UInt128(root) > UInt128(n) { root -= 1 }
    while UInt128(root + 1) * UInt128(root + 1) <= UInt128(n) { root += 1 }
    return root
}
