import Foundation

/// Which family of noise a run uses.
public enum NoiseMechanism: String, Hashable, Sendable {
    /// Discrete Laplace noise: pure epsilon-DP for each measurement (policy without `delta`).
    case discreteLaplace = "discrete-laplace"
    /// Discrete Gaussian noise: rho-zCDP, converted to (epsilon, delta)-DP (policy with `delta`).
    case discreteGaussian = "discrete-gaussian"
}

/// The exact noise distribution added to one measurement.
public enum NoiseDistribution: Hashable, Sendable {
    /// `P(z)` proportional to `exp(-|z| / scale)`.
    case discreteLaplace(scale: Rational)
    /// `P(z)` proportional to `exp(-z^2 / (2 variance))`.
    case discreteGaussian(variance: Rational)
    /// Not additive noise: the exponential mechanism, which picks each group's quantile among
    /// public candidates with probability proportional to `exp(-epsilon * u / 2)` for a utility
    /// `u` of sensitivity 1 (``QuantileCandidates``). `epsilon` is per group: each draw is
    /// `epsilon`-DP.
    case exponentialMechanism(epsilon: Rational)
}

extension NoiseDistribution: CustomStringConvertible {
    /// `discrete Laplace, scale 3`, `discrete Gaussian, variance 4.5`, `exponential mechanism,
    /// epsilon 1/4 per group`: what `parley query cost` shows.
    public var description: String {
        switch self {
        case let .discreteLaplace(scale): return "discrete Laplace, scale \(scale)"
        case let .discreteGaussian(variance): return "discrete Gaussian, variance \(variance)"
        case let .exponentialMechanism(epsilon): return "exponential mechanism, epsilon \(epsilon) per group"
        }
    }
}

/// Turns privacy parameters and sensitivities into noise parameters.
///
/// The exact parts (Laplace scales) are computed in rationals. The Gaussian calibration needs
/// a logarithm and a square root, so it is computed in `Double`, inflated by a relative
/// ``safetyMargin`` far above any rounding error, and rounded *up* to a rational: the noise is
/// never smaller than the guarantee needs. Sampling itself never uses floating point.
enum NoiseCalibration {
    /// Relative inflation of Gaussian variances and of reported tail bounds (1e-9, against
    /// `Double` errors around 1e-15).
    static let safetyMargin = 1e-9
    /// Variances below this are rounded up to a multiple of `1 / varianceGranularity`.
    static let varianceGranularity: Double = 65_536
    /// Largest variance accepted (sigma about 5.4e8), so that the discrete Gaussian sampler's
    /// exact arithmetic (`2 p q t^2`) stays within 120 bits.
    static let maximumVariance: Double = 0x1p58
    /// Terms summed explicitly when bounding a discrete Gaussian tail.
    static let tailTerms = 4096

    /// Discrete Laplace scale for epsilon-DP of one of `shares` equal parts of `epsilon`:
    /// `scale = l1 / (epsilon / shares) = l1 * shares / epsilon`, exactly.
    static func laplaceScale(l1: UInt64, epsilon: Rational, shares: UInt64) throws(EgressError) -> Rational {
        let (l1Shares, overflowed) = UInt128(l1).multipliedReportingOverflow(by: UInt128(shares))
        guard !overflowed else { throw EgressError(.parameterOverflow("discrete Laplace scale")) }
        let (numerator, overflowedAgain) = l1Shares.multipliedReportingOverflow(by: UInt128(epsilon.denominator))
        guard !overflowedAgain else { throw EgressError(.parameterOverflow("discrete Laplace scale")) }
        return try Rational(reducingWide: numerator, UInt128(epsilon.numerator), what: "discrete Laplace scale")
    }

    /// The largest rho such that rho-zCDP implies (epsilon, delta)-DP by Bun and Steinke 2016,
    /// Proposition 1.3: `epsilon = rho + 2 sqrt(rho ln(1/delta))`, solved as
    /// `rho = epsilon^2 / (sqrt(ln(1/delta) + epsilon) + sqrt(ln(1/delta)))^2`
    /// (written without a subtraction, so without cancellation).
    static func zeroConcentratedRho(epsilon: Rational, delta: Rational) -> Double {
        let eps = epsilon.approximateDouble
        let logInverseDelta = log(Double(delta.denominator)) - log(Double(delta.numerator))
        let root = (logInverseDelta + eps).squareRoot() + logInverseDelta.squareRoot()
        return eps * eps / (root * root)
    }

    /// Discrete Gaussian variance for rho-zCDP of one of `shares` equal parts of `rho`:
    /// adding independent discrete Gaussian noise with variance parameter `sigma^2` to each
    /// coordinate is `l2^2 / (2 sigma^2)`-zCDP (Canonne, Kamath and Steinke 2020, section 2;
    /// Renyi divergences of independent coordinates add), so
    /// `sigma^2 = l2^2 * shares / (2 rho)`, inflated and rounded up.
    static func gaussianVariance(l2Squared: UInt64, rho: Double, shares: UInt64) throws(EgressError) -> Rational {
        let overflow = EgressError(.parameterOverflow("discrete Gaussian variance; widen epsilon or narrow the bounds"))
        // A saturated L2 squared (see Measurement.sensitivity) is not the true value: refuse.
        guard l2Squared < .max else { throw overflow }
        let exact = Double(l2Squared) * Double(shares) / (2 * rho)
        let inflated = exact * (1 + safetyMargin)
        guard inflated.isFinite, inflated > 0, inflated <= maximumVariance else { throw overflow }
        let granularity: Double = inflated < varianceGranularity ? varianceGranularity : 1
        let scaled = (inflated * granularity).rounded(.up)
        guard scaled >= 1, let numerator = UInt64(exactly: scaled) else { throw overflow }
        return Rational(reducing: numerator, UInt64(granularity))
    }

    /// The exponential mechanism's epsilon per group under a Gaussian (zCDP) policy: an
    /// `epsilon`-DP mechanism is `epsilon^2 / 2`-zCDP (Bun and Steinke 2016, Proposition 1.4),
    /// and a unit is in at most `groups` groups, so one of `shares` equal parts of `rho` allows
    /// `epsilon = sqrt(2 rho / (shares * groups))`, deflated by ``safetyMargin`` and rounded
    /// *down* to a multiple of `2^-32`.
    /// - Throws: ``Refusal/parameterOverflow(_:)`` when it rounds to zero.
    static func exponentialEpsilon(rho: Double, shares: UInt64, groups: UInt64) throws(EgressError) -> Rational {
        let exact = (2 * rho / (Double(shares) * Double(groups))).squareRoot()
        let scaled = (exact * (1 - safetyMargin) * 0x1p32).rounded(.down)
        guard scaled.isFinite, scaled >= 1, let numerator = UInt64(exactly: scaled) else {
            throw EgressError(.parameterOverflow("exponential mechanism epsilon; widen epsilon or lower max_groups_per_unit"))
        }
        return Rational(reducing: numerator, 1 << 32)
    }

    /// An upper bound on `P(Z >= threshold)` for noise `Z` of the given distribution.
    ///
    /// Discrete Laplace with `q = exp(-1/scale)`: exactly `q^m / (1 + q)` for `m >= 1`.
    /// Discrete Gaussian with `f(x) = exp(-x^2 / (2 sigma^2))`: the tail is summed for
    /// ``tailTerms`` terms and the rest bounded by `f(n) / (1 - exp(-n / sigma^2))` (as
    /// `x^2 >= n^2 + 2n(x - n)`); the normaliser is bounded below by the larger of its partial
    /// sum over `|x| <= tailTerms` and `sqrt(2 pi) sigma - 1` (sum against integral of a
    /// unimodal function). Inflated by ``safetyMargin``; thresholds `<= 0` give 1.
    static func upperTailBound(of noise: NoiseDistribution, atLeast threshold: Int64) -> Double {
        guard threshold >= 1 else { return 1 }
        let m = Double(threshold)
        let bound: Double
        switch noise {
        case let .discreteLaplace(scale):
            let inverseScale = Double(scale.denominator) / Double(scale.numerator)
            bound = exp(-m * inverseScale) / (1 + exp(-inverseScale))
        case let .discreteGaussian(variance):
            let sigmaSquared = variance.approximateDouble
            func density(_ x: Double) -> Double { exp(-x * x / (2 * sigmaSquared)) }
            var tail = 0.0
            var partialNormaliser = 1.0
            for i in 0..<tailTerms {
                tail += density(m + Double(i))
                partialNormaliser += 2 * density(Double(i + 1))
            }
            let rest = m + Double(tailTerms)
            tail += density(rest) / -expm1(-rest / sigmaSquared)
            let normaliser = max(partialNormaliser, (2 * Double.pi * sigmaSquared).squareRoot() - 1)
            bound = tail / normaliser
        case .exponentialMechanism:
            bound = 1
        }
        return min(1, bound * (1 + safetyMargin))
    }
}
