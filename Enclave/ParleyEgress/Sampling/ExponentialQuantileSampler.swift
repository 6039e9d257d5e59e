import ParleyPrivacy
/// The exponential mechanism for a quantile, sampled exactly.
///
/// Candidate `y` (``QuantileCandidates``, public) is chosen with probability proportional to
/// `exp(-epsilon * (score(y) - minScore) / (2 * sensitivity))` (``QuantileScore``): McSherry
/// and Talwar's exponential mechanism, `epsilon`-DP for one group. Subtracting the smallest
/// score only normalises.
///
/// Sampling is rejection from the uniform distribution over the candidates: draw a candidate
/// uniformly (``UniformSampler``), keep it with probability exactly
/// `exp(-epsilon * (score - minScore) / (2 * sensitivity))` (``BernoulliExpSampler``, a rational
/// exponent), else draw again. The kept candidate has exactly the mechanism's distribution. The
/// best candidate is always kept, so a try succeeds with probability at least `1 / count` and
/// the expected number of tries is at most `count` (``QuantileCandidates/maximumCount``). No
/// floating-point number is computed: scores are 128-bit integers, exponents fractions of them.
enum ExponentialQuantileSampler {
    /// One draw.
    /// - Parameters:
    ///   - sortedValues: the units' clamped totals in the group, ascending.
    ///   - candidates: the public candidates.
    ///   - score: the quantile's score.
    ///   - epsilon: the mechanism's epsilon for this group.
    /// - Throws: ``Refusal/parameterOverflow(_:)`` if an exponent does not fit 128 bits
    ///   (refused for every group alike: it depends on the group's size only through a bound
    ///   the gate checks first), or from the Bernoulli sampler.
    static func sample<R: CryptographicRandomNumberGenerator>(
        sortedValues: [Int64], candidates: QuantileCandidates, score: QuantileScore, epsilon: Rational,
        using rng: inout R
    ) throws(EgressError) -> Int64 {
        let overflow = EgressError(.parameterOverflow("exponential mechanism exponent"))
        let values = candidates.values
        var scores: [UInt128] = []
        scores.reserveCapacity(values.count)
        var below = 0
        var notAbove = 0
        // Candidates ascend, so both counts only grow: one merge pass over the values.
        for y in values {
            while below < sortedValues.count, sortedValues[below] < y { below += 1 }
            if notAbove < below { notAbove = below }
            while notAbove < sortedValues.count, sortedValues[notAbove] <= y { notAbove += 1 }
            scores.append(score.score(below: UInt64(below), above: UInt64(sortedValues.count - notAbove)))
        }
        let minimum = scores.min() ?? 0
        let (denominator, overflowed) = UInt128(epsilon.denominator).multipliedReportingOverflow(by: 2 * UInt128(score.sensitivity))
        guard !overflowed else { throw overflow }
        while true {
            let index = UniformSampler.uniform(below: UInt128(candidates.count), using: &rng)
            let (numerator, overflowedNumerator) = UInt128(epsilon.numerator).multipliedReportingOverflow(by: scores[Int(index)] - minimum)
            guard !overflowedNumerator else { throw overflow }
            if try BernoulliExpSampler.sample(exponent: numerator, over: denominator, using: &rng) {
                return values[Int(index)]
            }
        }
    }
}
