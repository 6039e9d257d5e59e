import ParleyPrivacy
/// The exact integer samplers behind the egress gate, for callers and tests that need them
/// directly. All randomness comes from a ``CryptographicRandomNumberGenerator``; no
/// floating-point number is computed on any sampling path.
public enum ExactNoise {
    /// `true` with probability exactly `exp(-x)`.
    /// - Throws: ``Refusal/parameterOverflow(_:)`` only with negligible probability.
    public static func bernoulliExp<R: CryptographicRandomNumberGenerator>(
        _ x: Rational, using rng: inout R
    ) throws(EgressError) -> Bool {
        try BernoulliExpSampler.sample(exponent: UInt128(x.numerator), over: UInt128(x.denominator), using: &rng)
    }

    /// One draw of discrete Laplace noise, `P(z)` proportional to `exp(-|z| / scale)`.
    /// - Throws: ``Refusal/invalidNumber(_:)`` for a zero scale;
    ///   ``Refusal/parameterOverflow(_:)`` if the draw does not fit in `Int64`.
    public static func discreteLaplace<R: CryptographicRandomNumberGenerator>(
        scale: Rational, using rng: inout R
    ) throws(EgressError) -> Int64 {
        guard !scale.isZero else { throw EgressError(.invalidNumber("the discrete Laplace needs a positive scale")) }
        return try DiscreteLaplaceSampler.sample(
            scaleNumerator: scale.numerator, scaleDenominator: scale.denominator, using: &rng)
    }

    /// One draw of discrete Gaussian noise, `P(z)` proportional to `exp(-z^2 / (2 variance))`.
    /// - Throws: ``Refusal/invalidNumber(_:)`` for a zero variance;
    ///   ``Refusal/parameterOverflow(_:)`` for a variance too large for exact evaluation.
    public static func discreteGaussian<R: CryptographicRandomNumberGenerator>(
        variance: Rational, using rng: inout R
    ) throws(EgressError) -> Int64 {
        try DiscreteGaussianSampler(variance: variance).sample(using: &rng)
    }

    /// A uniformly random integer in `0..<bound`, by rejection from random bits.
    /// - Throws: ``Refusal/invalidNumber(_:)`` for an empty range.
    public static func uniform<R: CryptographicRandomNumberGenerator>(
        below bound: UInt64, using rng: inout R
    ) throws(EgressError) -> UInt64 {
        guard bound > 0 else { throw EgressError(.invalidNumber("a uniform range must not be empty")) }
        return UInt64(UniformSampler.uniform(below: UInt128(bound), using: &rng))
    }

    /// One draw of the exponential-mechanism quantile of `values` (any order) among the
    /// candidates of `bounds`, with epsilon `epsilon` (see ``QuantileCandidates``).
    /// - Throws: ``Refusal/invalidNumber(_:)`` for a zero epsilon or a fraction above 1;
    ///   ``Refusal/parameterOverflow(_:)`` as the sampler.
    public static func quantile<R: CryptographicRandomNumberGenerator>(
        of values: [Int64], bounds: ContributionBounds, fraction: Rational, epsilon: Rational, using rng: inout R
    ) throws(EgressError) -> Int64 {
        guard !epsilon.isZero else { throw EgressError(.invalidNumber("the exponential mechanism needs a positive epsilon")) }
        guard fraction <= .one else { throw EgressError(.invalidNumber("a quantile's fraction must be at most 1")) }
        return try ExponentialQuantileSampler.sample(
            sortedValues: values.sorted(), candidates: QuantileCandidates(bounds: bounds),
            score: QuantileScore(fraction: fraction), epsilon: epsilon, using: &rng)
    }
}
