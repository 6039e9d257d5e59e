import Foundation

/// Pearson's chi-square goodness-of-fit test of integer samples against an exact PMF.
///
/// Bins are single integers, merged left to right until each expects at least 5 samples; the
/// two tails beyond the tabulated range are folded into the end bins. The critical value is
/// the upper `significance` quantile of chi-square with `bins - 1` degrees of freedom, by the
/// Wilson-Hilferty approximation (accurate to well under 1% for the degrees of freedom here).
///
/// False-failure rate: with a fresh random seed a correct sampler would fail with probability
/// about `significance` (1e-4 by default) per test. The tests use fixed seeds, so each result
/// is deterministic: it either always passes or always fails for a given implementation.
struct ChiSquareTest {
    /// Upper-tail standard normal quantiles for the supported significance levels.
    static let normalQuantiles: [Double: Double] = [1e-3: 3.090232, 1e-4: 3.719016, 1e-5: 4.264891]

    let statistic: Double
    let degreesOfFreedom: Int
    let criticalValue: Double

    var passes: Bool { statistic <= criticalValue }

    /// - Parameters:
    ///   - samples: the draws.
    ///   - pmf: the exact probability of each integer.
    ///   - range: the integers tabulated individually; outside mass is folded into the ends.
    init(samples: [Int64], pmf: (Int64) -> Double, range: ClosedRange<Int64>, significance: Double = 1e-4) {
        let n = Double(samples.count)
        var observed = [Int64: Int]()
        for sample in samples { observed[min(max(sample, range.lowerBound), range.upperBound), default: 0] += 1 }
        var expectedInRange = [Double]()
        var total = 0.0
        for x in range { let p = pmf(x); expectedInRange.append(p); total += p }
        let outside = max(0, 1 - total) / 2
        expectedInRange[0] += outside
        expectedInRange[expectedInRange.count - 1] += outside

        var bins: [(expected: Double, observed: Double)] = []
        var accumulated = (expected: 0.0, observed: 0.0)
        for (offset, x) in range.enumerated() {
            accumulated.expected += expectedInRange[offset] * n
            accumulated.observed += Double(observed[x, default: 0])
            if accumulated.expected >= 5 {
                bins.append(accumulated)
                accumulated = (0, 0)
            }
        }
        if accumulated.expected > 0 || accumulated.observed > 0 {
            if bins.isEmpty { bins.append(accumulated) } else {
                bins[bins.count - 1].expected += accumulated.expected
                bins[bins.count - 1].observed += accumulated.observed
            }
        }
        statistic = bins.reduce(0) { $0 + ($1.observed - $1.expected) * ($1.observed - $1.expected) / $1.expected }
        degreesOfFreedom = max(1, bins.count - 1)
        let z = Self.normalQuantiles[significance] ?? 3.719016
        let k = Double(degreesOfFreedom)
        let h = 2 / (9 * k)
        criticalValue = k * pow(1 - h + z * h.squareRoot(), 3)
    }
}

/// Exact PMFs in `Double`, for comparison only.
enum ExactPMF {
    /// Discrete Laplace: `(1 - q) / (1 + q) * q^|x|`, `q = exp(-1/scale)`.
    static func discreteLaplace(scale: Double) -> (Int64) -> Double {
        let q = exp(-1 / scale)
        return { x in (1 - q) / (1 + q) * pow(q, Double(x.magnitude)) }
    }

    /// Discrete Gaussian: `exp(-x^2 / (2 sigma^2))` normalised by a sum over a wide range.
    static func discreteGaussian(variance: Double) -> (Int64) -> Double {
        let width = Int64((variance.squareRoot() * 40).rounded(.up)) + 10
        var normaliser = 0.0
        for x in -width...width { normaliser += exp(-Double(x * x) / (2 * variance)) }
        return { x in exp(-Double(x) * Double(x) / (2 * variance)) / normaliser }
    }
}
