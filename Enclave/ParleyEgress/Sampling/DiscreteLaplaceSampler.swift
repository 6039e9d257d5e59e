import ParleyPrivacy
/// Exact samples of the discrete Laplace distribution on the integers,
/// `P(z) = (1 - q) / (1 + q) * q^|z|` with `q = exp(-1 / scale)`, i.e. proportional to
/// `exp(-|z| / scale)` (Canonne, Kamath and Steinke 2020, Algorithm 2).
///
/// The scale is the rational `numerator / denominator` (the paper's `t / s`). No
/// floating-point number is involved: only uniform integers and ``BernoulliExpSampler``.
enum DiscreteLaplaceSampler {
    /// One sample with scale `numerator / denominator`.
    /// - Precondition: both parts positive (the gate's calibration guarantees it).
    /// - Throws: ``Refusal/parameterOverflow(_:)`` if the sample does not fit in `Int64`
    ///   (probability below `exp(-2^62 / scale)`).
    static func sample<R: CryptographicRandomNumberGenerator>(
        scaleNumerator t: UInt64, scaleDenominator s: UInt64, using rng: inout R
    ) throws(EgressError) -> Int64 {
        precondition(t > 0 && s > 0, "internal: scale must be positive")
        let wideT = UInt128(t)
        while true {
            let u = UniformSampler.uniform(below: wideT, using: &rng)
            guard try BernoulliExpSampler.sample(exponent: u, over: wideT, using: &rng) else { continue }
            var v: UInt128 = 0
            while try BernoulliExpSampler.sample(exponent: 1, over: 1, using: &rng) { v += 1 }
            let (tv, overflowed) = wideT.multipliedReportingOverflow(by: v)
            guard !overflowed, tv <= UInt128.max - u else {
                throw EgressError(.parameterOverflow("discrete Laplace sample"))
            }
            let y = (u + tv) / UInt128(s)
            let negative = UniformSampler.bernoulli(1, over: 2, using: &rng)
            if negative && y == 0 { continue }
            guard let magnitude = Int64(exactly: y) else {
                throw EgressError(.parameterOverflow("discrete Laplace sample"))
            }
            return negative ? -magnitude : magnitude
        }
    }
}
