import ParleyPrivacy
/// Exact samples of the discrete Gaussian distribution on the integers,
/// `P(z)` proportional to `exp(-z^2 / (2 sigma^2))`, for a rational variance parameter
/// `sigma^2 = numerator / denominator` (Canonne, Kamath and Steinke 2020, Algorithm 3).
///
/// Rejection sampling from a discrete Laplace with scale `t = floor(sigma) + 1`: a candidate
/// `Y` is kept with probability `exp(-(|Y| - sigma^2 / t)^2 / (2 sigma^2))`, evaluated exactly
/// as the fraction `(|Y| q t - p)^2 / (2 p q t^2)` for `sigma^2 = p / q`.
struct DiscreteGaussianSampler: Sendable {
    /// `p` in `sigma^2 = p / q`.
    let varianceNumerator: UInt64
    /// `q` in `sigma^2 = p / q`.
    let varianceDenominator: UInt64
    /// The Laplace proposal's scale, `floor(sigma) + 1`.
    let proposalScale: UInt64
    /// `2 p q t^2`, the acceptance exponent's denominator.
    private let exponentDenominator: UInt128

    /// Prepares a sampler, refusing variances whose exact evaluation would overflow 128 bits
    /// (the check lives in ``DiscreteGaussianParameters``, which query costing shares).
    /// - Throws: ``Refusal/invalidNumber(_:)`` for a zero variance,
    ///   ``Refusal/parameterOverflow(_:)`` when `2 p q t^2` does not fit in 120 bits.
    init(variance: Rational) throws(EgressError) {
        let parameters = try DiscreteGaussianParameters(variance: variance)
        varianceNumerator = parameters.varianceNumerator
        varianceDenominator = parameters.varianceDenominator
        proposalScale = parameters.proposalScale
        exponentDenominator = parameters.exponentDenominator
    }

    /// One sample.
    /// - Throws: ``Refusal/parameterOverflow(_:)`` if a candidate is so far in the tail that
    ///   its acceptance exponent overflows 128 bits. That needs `|Y| q t >= 2^64`, which the
    ///   Laplace proposal reaches with probability about `exp(-2^64 / (q t^2))`, below
    ///   `exp(-60)` for every variance the gate plans (`p = sigma^2 q <= 2^58`).
    func sample<R: CryptographicRandomNumberGenerator>(using rng: inout R) throws(EgressError) -> Int64 {
        let overflow = EgressError(.parameterOverflow("discrete Gaussian candidate"))
        while true {
            let y = try DiscreteLaplaceSampler.sample(scaleNumerator: proposalScale, scaleDenominator: 1, using: &rng)
            let (scaled, overflowedScale) = UInt128(y.magnitude)
                .multipliedReportingOverflow(by: UInt128(varianceDenominator) * UInt128(proposalScale))
            guard !overflowedScale else { throw overflow }
            let p = UInt128(varianceNumerator)
            let difference = scaled >= p ? scaled - p : p - scaled
            let (square, overflowedSquare) = difference.multipliedReportingOverflow(by: difference)
            guard !overflowedSquare else { throw overflow }
            if try BernoulliExpSampler.sample(exponent: square, over: exponentDenominator, using: &rng) {
                return y
            }
        }
    }
}
