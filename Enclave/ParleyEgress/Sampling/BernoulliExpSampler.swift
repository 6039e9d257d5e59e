import ParleyPrivacy
/// Exact coin flips with probability `exp(-x)` for a rational `x >= 0`, using only uniform
/// integers (Canonne, Kamath and Steinke 2020, "The Discrete Gaussian for Differential
/// Privacy", Algorithm 1).
///
/// For `x <= 1`: flip coins `A_k ~ Bernoulli(x / k)` for `k = 1, 2, ...` until one is 0; the
/// first failing index `K` is odd with probability exactly `exp(-x)`. For `x > 1`, the flip is
/// the conjunction of `floor(x)` flips with probability `exp(-1)` and one with
/// `exp(-(x - floor(x)))`, stopping at the first failure.
enum BernoulliExpSampler {
    /// `true` with probability exactly `exp(-numerator / denominator)`.
    /// - Throws: ``Refusal/parameterOverflow(_:)`` if `denominator * k` overflows 128 bits,
    ///   which needs `k` in the thousands and has probability below `1 / k!`.
    static func sample<R: CryptographicRandomNumberGenerator>(
        exponent numerator: UInt128, over denominator: UInt128, using rng: inout R
    ) throws(EgressError) -> Bool {
        precondition(denominator > 0, "internal: zero denominator")
        var wholePart = numerator / denominator
        while wholePart > 0 {
            guard try sampleAtMostOne(1, over: 1, using: &rng) else { return false }
            wholePart -= 1
        }
        return try sampleAtMostOne(numerator % denominator, over: denominator, using: &rng)
    }

    /// Algorithm 1 for `0 <= numerator / denominator <= 1`.
    private static func sampleAtMostOne<R: CryptographicRandomNumberGenerator>(
        _ numerator: UInt128, over denominator: UInt128, using rng: inout R
    ) throws(EgressError) -> Bool {
        var k: UInt128 = 1
        while true {
            let (scaled, overflowed) = denominator.multipliedReportingOverflow(by: k)
            guard !overflowed else {
                throw EgressError(.parameterOverflow("Bernoulli(exp(-x)) sampler denominator"))
            }
            guard UniformSampler.bernoulli(numerator, over: scaled, using: &rng) else { break }
            k += 1
        }
        return k % 2 == 1
    }
}
