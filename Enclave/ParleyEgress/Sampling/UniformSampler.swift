import ParleyPrivacy
/// Exact uniform integers and rational-probability coin flips, from random bits only.
///
/// Uniform integers use rejection: draw just enough bits to cover the range and retry when the
/// draw falls outside it, so every value is exactly equally likely (no modulo bias, fewer than
/// two draws on average).
enum UniformSampler {
    /// A uniformly random integer in `0..<bound`.
    /// - Precondition: `bound > 0` (callers guarantee it).
    static func uniform<R: CryptographicRandomNumberGenerator>(below bound: UInt128, using rng: inout R) -> UInt128 {
        precondition(bound > 0, "internal: empty range")
        if bound == 1 { return 0 }
        let bits = UInt128.bitWidth - (bound - 1).leadingZeroBitCount
        while true {
            var draw = UInt128(rng.next() as UInt64)
            if bits > 64 {
                draw |= UInt128(rng.next() as UInt64) << 64
            }
            if bits < UInt128.bitWidth {
                draw &= (UInt128(1) << UInt128(bits)) - 1
            }
            if draw < bound { return draw }
        }
    }

    /// `true` with probability exactly `numerator / denominator`.
    /// - Precondition: `0 < denominator` and `numerator <= denominator`.
    static func bernoulli<R: CryptographicRandomNumberGenerator>(
        _ numerator: UInt128, over denominator: UInt128, using rng: inout R
    ) -> Bool {
        precondition(denominator > 0 && numerator <= denominator, "internal: not a probability")
        return uniform(below: denominator, using: &rng) < numerator
    }
}
