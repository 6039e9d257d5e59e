import Foundation
@testable import ParleyEgress
@testable import ParleyPrivacy
import XCTest

extension Fixtures {
    static func quantile(_ column: String, _ lower: Int64, _ upper: Int64, p: Rational = Rational(reducing: 1, 2),
                         name: String? = nil) throws -> AggregateSpec {
        AggregateSpec(name: name ?? "q_\(column)",
                      kind: .quantile(column: column, bounds: try ContributionBounds(lower: lower, upper: upper), fraction: p))
    }

    static func variance(_ column: String, _ lower: Int64, _ upper: Int64, squareUnit: Int64 = 1,
                         standardDeviation: Bool = false) throws -> AggregateSpec {
        let moments = try MomentBounds(bounds: try ContributionBounds(lower: lower, upper: upper), squareUnit: squareUnit)
        return AggregateSpec(name: standardDeviation ? "sd_\(column)" : "var_\(column)",
                             kind: .variance(column: column, moments: moments, standardDeviation: standardDeviation))
    }

    static func histogram(_ column: String, _ edges: [Int64]) -> AggregateSpec {
        AggregateSpec(name: "h_\(column)", kind: .histogram(column: column, edges: edges))
    }
}

/// Cost, release and contract of MEDIAN / PERCENTILE_CONT, VAR_POP / STDDEV_POP and HISTOGRAM.
final class StatisticsGateTests: XCTestCase {
    /// epsilon 100000: Laplace noise is 0 with overwhelming probability, and the exponential
    /// mechanism never picks a candidate whose score is worse by 1 (probability below e^-10000).
    private func nearlyExactGate(minGroupSize: Int = 2) throws -> (EgressGate, PrivacyBudget) {
        let policy = try Fixtures.policy(minGroupSize: minGroupSize, epsilon: "100000", budget: "100000000")
        return (EgressGate(policy: policy), PrivacyBudget(policy: policy))
    }

    // MARK: cost

    func testQuantileCostsOneShareAsAnExponentialMechanismPerGroup() throws {
        let median = try Fixtures.quantile("x", 0, 100)
        let measurement = Measurement.quantile(column: "x", bounds: try ContributionBounds(lower: 0, upper: 100), fraction: Rational(reducing: 1, 2))
        let cost = try QueryCost(aggregates: [Fixtures.distinct, median], policy: try Fixtures.policy(maxGroupsPerUnit: 2))
        XCTAssertEqual(cost.measurements.map(\.measurement), [.distinctUnits, .groupCount, measurement])
        XCTAssertEqual(cost.aggregateCharges[1].measurements, [measurement])
        // epsilon 1 over three measurements, and a unit is in at most two groups: 1/6 per group's draw.
        XCTAssertEqual(cost.noise(for: measurement), .exponentialMechanism(epsilon: try Rational(1, 6)))
        XCTAssertEqual(cost.noise(for: measurement)?.description, "exponential mechanism, epsilon 1/6 per group")
        XCTAssertEqual(cost.measurements[2].sensitivity, Sensitivity(l1: 2, l2Squared: 2))
        // Two medians of one column are one measurement; a different fraction is another.
        let twice = try QueryCost(aggregates: [median, try Fixtures.quantile("x", 0, 100, name: "again"),
                                               try Fixtures.quantile("x", 0, 100, p: Rational(reducing: 9, 10))],
                                  policy: try Fixtures.policy())
        XCTAssertEqual(twice.measurements.count, 4)
    }

    func testQuantileUnderAGaussianPolicyUsesTheZCDPConversion() throws {
        let policy = try Fixtures.policy(delta: "0.00001", maxGroupsPerUnit: 3)
        let median = try Fixtures.quantile("x", 0, 100)
        let cost = try QueryCost(aggregates: [median], policy: policy, partitions: .whole)
        guard case let .exponentialMechanism(epsilon)? = cost.noise(for: median.measurements[0]), let rho = cost.zeroConcentratedRho else {
            return XCTFail("expected an exponential mechanism and a rho")
        }
        // Two measurements (unit count and quantile), three groups per unit: 3 * eps^2 / 2 <= rho / 2.
        let exact = (2 * rho / 6).squareRoot()
        XCTAssertLessThanOrEqual(epsilon.approximateDouble, exact)
        XCTAssertGreaterThan(epsilon.approximateDouble, exact * (1 - 1e-8))
        XCTAssertEqual(epsilon.denominator & (epsilon.denominator - 1), 0, "rounded to a power-of-two denominator")
    }

    func testVarianceChargesCountCentredSumAndSquares() throws {
        let variance = try Fixtures.variance("x", 0, 100)
        guard case let .variance(_, moments, _) = variance.kind else { return XCTFail() }
        XCTAssertEqual([moments.centre, Int64(moments.halfWidth), Int64(moments.maxSquare)], [50, 50, 2500])
        let cost = try QueryCost(aggregates: [variance, try Fixtures.variance("x", 0, 100, standardDeviation: true)],
                                 policy: try Fixtures.policy(maxGroupsPerUnit: 2))
        let sum = Measurement.centredSum(column: "x", moments: moments), squares = Measurement.centredSquares(column: "x", moments: moments)
        XCTAssertEqual(cost.aggregateCharges[0].measurements, [.distinctUnits, sum, squares])
        XCTAssertEqual(cost.measurements.map(\.measurement), [.distinctUnits, .groupCount, sum, squares],
                       "VAR_POP and STDDEV_POP of one column share their measurements")
        XCTAssertEqual(cost.measurements.map(\.sensitivity.l1), [2, 2, 100, 5000])
        XCTAssertEqual(cost.noise(for: squares), .discreteLaplace(scale: Rational(20_000)))  // 5000 * 4 / 1
        // Decimal squares are in ten-thousandths: a half width of 5.0000 squares to 25.0000.
        let decimal = try MomentBounds(bounds: try ContributionBounds(lower: 0, upper: 100_000), squareUnit: 10_000)
        XCTAssertEqual(decimal.maxSquare, 250_000)
    }

    func testMomentBoundsRefusals() throws {
        XCTAssertThrowsError(try MomentBounds(bounds: try ContributionBounds(lower: 4, upper: 4), squareUnit: 1)) {
            guard case .invalidQuery(let why)? = ($0 as? EgressError)?.refusal else { return XCTFail("\($0)") }
            XCTAssertTrue(why.contains("constant"), why)
        }
        XCTAssertThrowsError(try MomentBounds(bounds: try ContributionBounds(lower: .min, upper: .max), squareUnit: 1)) {
            guard case .parameterOverflow? = ($0 as? EgressError)?.refusal else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try MomentBounds(bounds: try ContributionBounds(lower: 0, upper: 1), squareUnit: 0))
    }

    func testHistogramIsOneCountMeasurementOverItsBins() throws {
        let histogram = Fixtures.histogram("x", [0, 10, 20, 30])
        let cost = try QueryCost(aggregates: [histogram], policy: try Fixtures.policy(maxGroupsPerUnit: 3), partitions: .whole)
        XCTAssertEqual(cost.measurements.map(\.measurement), [.distinctUnits, .histogram(column: "x", edges: [0, 10, 20, 30])])
        // A unit is in one bin of each of its (at most 3) groups: L1 3, scale 3 * 2 / 1.
        XCTAssertEqual(cost.measurements[1].sensitivity, Sensitivity(l1: 3, l2Squared: 3))
        XCTAssertEqual(cost.measurements[1].noise, .discreteLaplace(scale: Rational(6)))
        XCTAssertEqual(cost.measurements[1].measurement.description, "histogram of x per group, 3 bins")
    }

    // MARK: release

    func testNearlyExactReleaseOfEveryStatistic() throws {
        var (gate, budget) = try nearlyExactGate()
        var generator = SeededGenerator(seed: 1_800)
        let aggregates = [Fixtures.distinct, try Fixtures.quantile("x", 0, 100), try Fixtures.quantile("x", 0, 100, p: Rational(reducing: 9, 10), name: "p90"),
                          try Fixtures.variance("x", 0, 100), try Fixtures.variance("x", 0, 100, standardDeviation: true),
                          Fixtures.histogram("x", [0, 25, 50, 100])]
        // Values 10, 20, 30, 40, 90: centred -40, -30, -20, -10, 40 -> sum -60, squares 4600.
        // Variance 4600/5 - (60/5)^2 = 920 - 144 = 776 (mean 38: (28^2+18^2+8^2+2^2+52^2)/5); root 27.856777
        let values: [Int64] = [30, 90, 10, 40, 20]
        let result = BoundedQueryResult(aggregates: aggregates, groups: [
            BoundedGroup(keys: ["g"], distinctUnits: 5, totals: [5, 0, 0, 0, 0, 0],
                         details: [[], values, values, [-60, 4600], [-60, 4600], [2, 2, 1]]),
        ])
        let release = try gate.release(result, budget: &budget, using: &generator)
        XCTAssertEqual(release.rows.count, 1)
        // The median 30 is the only candidate with as many values below as above. For p = 0.9 the
        // score |0.1 * below - 0.9 * above| is lowest (0.4) at 90 itself.
        XCTAssertEqual(release.rows[0].values.map(\.description), ["5", "30", "90", "776.000000", "27.856777", "[2,2,1]"])
    }

    func testAnEvenMedianIsUniformBetweenTheMiddleValues() throws {
        var (gate, budget) = try nearlyExactGate()
        var generator = SeededGenerator(seed: 1_801)
        let result = BoundedQueryResult(aggregates: [try Fixtures.quantile("x", 0, 100)], groups: [
            BoundedGroup(keys: [], distinctUnits: 4, totals: [0], details: [[10, 20, 30, 40]]),
        ], partitions: .whole)
        var seen: [Int64: Int] = [:]
        for _ in 0..<900 {
            guard case let .integer(value)? = try gate.release(result, budget: &budget, using: &generator).rows.first?.values.first else {
                return XCTFail("no value")
            }
            seen[value, default: 0] += 1
        }
        // Every candidate strictly between 20 and 30 has score 0, the values themselves score 1.
        XCTAssertEqual(Set(seen.keys), Set(21...29))
        XCTAssertTrue(seen.values.allSatisfy { $0 > 50 }, "\(seen)")
    }

    func testAPublicPartitionWithoutRowsReleasesNoisyEmptyStatistics() throws {
        var (gate, budget) = try nearlyExactGate()
        var generator = SeededGenerator(seed: 1_802)
        let aggregates = [try Fixtures.quantile("x", 0, 10), try Fixtures.variance("x", 0, 10), Fixtures.histogram("x", [0, 5, 10])]
        let keys = [["a"], ["b"]]
        let result = BoundedQueryResult(aggregates: aggregates, groups: [
            BoundedGroup(keys: ["a"], distinctUnits: 2, totals: [0, 0, 0], details: [[4, 6], [0, 2], [1, 1]]),
        ], partitions: .declared(keys: keys))
        let release = try gate.release(result, budget: &budget, using: &generator)
        XCTAssertEqual(release.rows.map(\.keys), keys)
        XCTAssertEqual(release.rows[0].values.map(\.description), ["5", "1.000000", "[1,1]"])
        // b has no units: its quantile is uniform over the candidates, its variance 0, its bins noisy zeros.
        XCTAssertEqual(release.rows[1].values.map(\.description).dropFirst(), ["0.000000", "[0,0]"])
    }

    func testVarianceIsClampedToWhatTheBoundsAllow() throws {
        let moments = try MomentBounds(bounds: try ContributionBounds(lower: 0, upper: 10), squareUnit: 1)
        XCTAssertEqual(NoisyVariance(count: 3, centredSum: 0, centredSquares: 1_000, moments: moments, standardDeviation: false).value, 25)
        XCTAssertEqual(NoisyVariance(count: 3, centredSum: 30, centredSquares: -5, moments: moments, standardDeviation: false).value, 0)
        XCTAssertEqual(NoisyVariance(count: -4, centredSum: 0, centredSquares: 9, moments: moments, standardDeviation: true).value, 3)
        // A decimal column (ten-thousandths) with squares in 1/10^4: two squares of 2.2500 sum to
        // 45000, a variance of 2.25 in 10^-8 units.
        let decimal = try MomentBounds(bounds: try ContributionBounds(lower: 0, upper: 100_000), squareUnit: 10_000)
        let spread = NoisyVariance(count: 2, centredSum: 0, centredSquares: 45_000, moments: decimal, standardDeviation: false)
        XCTAssertEqual(spread.value, 225_000_000)
        XCTAssertEqual(NoisyVariance(count: 2, centredSum: 0, centredSquares: 45_000, moments: decimal, standardDeviation: true).value, 15_000)
    }

    func testContractViolationsOfTheNewAggregates() throws {
        var (gate, budget) = try nearlyExactGate()
        var generator = SeededGenerator(seed: 1_803)
        let median = try Fixtures.quantile("x", 0, 100), variance = try Fixtures.variance("x", 0, 100)
        let histogram = Fixtures.histogram("x", [0, 50, 100])
        func group(_ totals: [Int64], _ details: [[Int64]]) -> BoundedGroup {
            BoundedGroup(keys: ["a"], distinctUnits: 3, totals: totals, details: details)
        }
        let cases: [(String, AggregateSpec, BoundedGroup)] = [
            ("a quantile with fewer values than units", median, group([0], [[1, 2]])),
            ("a quantile value outside its bounds", median, group([0], [[1, 2, 101]])),
            ("a quantile with a total", median, group([3], [[1, 2, 3]])),
            ("no details at all", median, group([0], [])),
            ("a variance with one sum", variance, group([0], [[0]])),
            ("a centred sum beyond units * half width", variance, group([0], [[151, 10]])),
            ("negative squares", variance, group([0], [[0, -1]])),
            ("squares beyond units * max square", variance, group([0], [[0, 7_501]])),
            ("a histogram with the wrong number of bins", histogram, group([0], [[1, 1, 1]])),
            ("a histogram counting more than the units", histogram, group([0], [[2, 2]])),
            ("a negative bin", histogram, group([0], [[-1, 2]])),
            ("details on a count", Fixtures.distinct, group([3], [[1]])),
        ]
        for (label, aggregate, bad) in cases {
            XCTAssertThrowsError(try gate.release(BoundedQueryResult(aggregates: [aggregate], groups: [bad]), budget: &budget, using: &generator),
                                 label) { error in
                guard case .contractViolation(let why)? = (error as? EgressError)?.refusal else { return XCTFail("\(label): \(error)") }
                XCTAssertFalse(why.contains("101") || why.contains("7501"), "\(label): a refusal must not carry data values")
            }
        }
        XCTAssertEqual(budget.runs, UInt64(cases.count), "refused after the charge: every run stays charged")
    }

    // MARK: distributions

    /// The exact probability of each candidate index under the exponential mechanism, in
    /// `Double`, for comparison only.
    private func mechanismPMF(values: [Int64], candidates: QuantileCandidates, fraction: Rational, epsilon: Double) -> [Double] {
        let score = QuantileScore(fraction: fraction)
        let scores = (0..<candidates.count).map { index -> Double in
            let y = candidates.value(at: index)
            return Double(score.score(below: UInt64(values.filter { $0 < y }.count), above: UInt64(values.filter { $0 > y }.count)))
        }
        let minimum = scores.min() ?? 0
        let weights = scores.map { exp(-epsilon * ($0 - minimum) / (2 * Double(score.sensitivity))) }
        let total = weights.reduce(0, +)
        return weights.map { $0 / total }
    }

    private func index(of value: Int64, in candidates: QuantileCandidates) -> Int64 {
        Int64((0..<candidates.count).first { candidates.value(at: $0) == value } ?? .max)
    }

    /// The sampler's draws match the exponential mechanism's exact distribution: chi-square at
    /// significance 1e-4 with fixed seeds (deterministic; a fresh seed would fail a correct
    /// sampler about once in 10,000 runs), for a median, a high and a low percentile, over every
    /// integer of small bounds and over the 1001-point grid of wide ones.
    func testExponentialMechanismMatchesItsDistribution() throws {
        let cases: [(values: [Int64], lower: Int64, upper: Int64, p: Rational, epsilon: Rational, draws: Int)] = [
            ([3, 7, 7, 12, 15], 0, 20, Rational(reducing: 1, 2), .one, 20_000),
            ([3, 7, 7, 12, 15, 15, 18], 0, 20, Rational(reducing: 9, 10), Rational(2), 20_000),
            ([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], -5, 30, Rational(reducing: 1, 4), Rational(reducing: 1, 2), 20_000),
            ([100_000, 250_000, 260_000, 900_000], 0, 1_000_000, Rational(reducing: 1, 2), Rational(3), 3_000),
        ]
        for (offset, c) in cases.enumerated() {
            let bounds = try ContributionBounds(lower: c.lower, upper: c.upper)
            let candidates = QuantileCandidates(bounds: bounds)
            var generator = SeededGenerator(seed: 1_810 + UInt64(offset))
            var samples: [Int64] = []
            let lookup = Dictionary(uniqueKeysWithValues: candidates.values.enumerated().map { ($1, Int64($0)) })
            for _ in 0..<c.draws {
                let value = try ExactNoise.quantile(of: c.values, bounds: bounds, fraction: c.p, epsilon: c.epsilon, using: &generator)
                samples.append(lookup[value] ?? -1)
            }
            XCTAssertFalse(samples.contains(-1), "case \(offset): a draw that is not a candidate")
            let pmf = mechanismPMF(values: c.values, candidates: candidates, fraction: c.p, epsilon: c.epsilon.approximateDouble)
            let test = ChiSquareTest(samples: samples, pmf: { pmf[Int($0)] }, range: 0...Int64(candidates.count - 1))
            XCTAssertTrue(test.passes, "case \(offset): chi-square \(test.statistic) > \(test.criticalValue) (df \(test.degreesOfFreedom))")
            XCTAssertGreaterThanOrEqual(test.degreesOfFreedom, 3, "case \(offset): too few bins")
        }
        XCTAssertEqual(QuantileCandidates(bounds: try ContributionBounds(lower: 0, upper: 1_000_000)).count, 1001)
        XCTAssertEqual(QuantileCandidates(bounds: try ContributionBounds(lower: 0, upper: 1_000_000)).resolution, 1000)
        for bounds in [try ContributionBounds(lower: .min, upper: .max), try ContributionBounds(lower: -7, upper: 12_345),
                       try ContributionBounds(lower: 3, upper: 3), try ContributionBounds(lower: 0, upper: 999)] {
            let candidates = QuantileCandidates(bounds: bounds)
            XCTAssertEqual(candidates.values, (0..<candidates.count).map { candidates.value(at: $0) }, "\(bounds)")
            XCTAssertEqual(candidates.values.last, bounds.upper)
        }
    }

    /// Power check: the same test tells epsilon 1 from epsilon 1.3, so passing above means something.
    func testChiSquareTellsAWrongEpsilon() throws {
        let bounds = try ContributionBounds(lower: 0, upper: 20)
        let values: [Int64] = [3, 7, 7, 12, 15]
        var generator = SeededGenerator(seed: 1_820)
        let samples = try (0..<20_000).map { _ in
            try ExactNoise.quantile(of: values, bounds: bounds, fraction: Rational(reducing: 1, 2), epsilon: .one, using: &generator)
        }
        let pmf = mechanismPMF(values: values, candidates: QuantileCandidates(bounds: bounds), fraction: Rational(reducing: 1, 2), epsilon: 1.3)
        XCTAssertFalse(ChiSquareTest(samples: samples, pmf: { pmf[Int($0)] }, range: 0...20).passes)
    }

    /// Through the gate, a released median follows the mechanism with the planned epsilon, and
    /// a variance's centred sum and sum of squares and a histogram's bin get the planned Laplace
    /// noise (chi-square, significance 1e-4, fixed seed: deterministic).
    func testGateDrawsFollowThePlannedDistributions() throws {
        let policy = try Fixtures.policy(minGroupSize: 2, epsilon: "1.0", budget: "1000000")
        let gate = EgressGate(policy: policy)
        var budget = PrivacyBudget(policy: policy)
        var generator = SeededGenerator(seed: 1_830)
        let median = try Fixtures.quantile("x", 0, 20), variance = try Fixtures.variance("x", 0, 20)
        let histogram = Fixtures.histogram("x", [0, 10, 20])
        let aggregates = [median, variance, histogram]
        let values: [Int64] = [3, 7, 7, 12, 15]
        let cost = try gate.cost(of: aggregates, partitions: .whole)
        // Measurements: unit count, quantile, centred sum, centred squares, histogram: 1/5 each.
        XCTAssertEqual(cost.measurements.count, 5)
        XCTAssertEqual(cost.noise(for: median.measurements[0]), .exponentialMechanism(epsilon: try Rational(1, 5)))
        let result = BoundedQueryResult(aggregates: aggregates, groups: [
            BoundedGroup(keys: [], distinctUnits: 5, totals: [0, 0, 0], details: [values, [-6, 96], [3, 2]]),
        ], partitions: .whole)
        var medians: [Int64] = [], sums: [Int64] = [], squares: [Int64] = [], bins: [Int64] = []
        var released = 0
        for _ in 0..<6_000 {
            guard let row = try gate.release(result, budget: &budget, using: &generator).rows.first else { continue }
            released += 1
            guard case let .integer(m) = row.values[0], case let .variance(v) = row.values[1], case let .counts(c) = row.values[2] else {
                return XCTFail("unexpected value kinds")
            }
            medians.append(m)
            sums.append(v.centredSum + 6)
            squares.append(v.centredSquares - 96)
            bins.append(c[1])
        }
        XCTAssertGreaterThan(released, 1_000)
        let pmf = mechanismPMF(values: values, candidates: QuantileCandidates(bounds: try ContributionBounds(lower: 0, upper: 20)),
                               fraction: Rational(reducing: 1, 2), epsilon: 0.2)
        let medianTest = ChiSquareTest(samples: medians, pmf: { pmf[Int($0)] }, range: 0...20)
        XCTAssertTrue(medianTest.passes, "median: chi-square \(medianTest.statistic) > \(medianTest.criticalValue)")
        /// `P(Z / width = k)` (division towards zero) for discrete Laplace noise `Z` of `scale`.
        func bucketed(scale: Double, width: Int64) -> (Int64) -> Double {
            let pmf = ExactPMF.discreteLaplace(scale: scale)
            return { k in
                let range: ClosedRange<Int64> = k == 0 ? -(width - 1)...(width - 1)
                    : (k > 0 ? k * width...k * width + width - 1 : k * width - width + 1...k * width)
                return range.reduce(0) { $0 + pmf($1) }
            }
        }
        // Centred sum: sensitivity 10 (half width), five shares, scale 50. Centred squares:
        // sensitivity 100, scale 500. Bucketed by a fifth of the scale.
        let sumsTest = ChiSquareTest(samples: sums.map { $0 / 10 }, pmf: bucketed(scale: 50, width: 10), range: -25...25)
        XCTAssertTrue(sumsTest.passes, "centred sum: chi-square \(sumsTest.statistic) > \(sumsTest.criticalValue)")
        let squaresTest = ChiSquareTest(samples: squares.map { $0 / 100 }, pmf: bucketed(scale: 500, width: 100), range: -25...25)
        XCTAssertTrue(squaresTest.passes, "squares: chi-square \(squaresTest.statistic) > \(squaresTest.criticalValue)")
        // Histogram bin 1 (exact count 2): discrete Laplace scale 5, then clamped at 0, so
        // P(0) = P(Z <= -2) = q^2 / (1 + q) and P(k) = P(Z = k - 2) above.
        let q = exp(-1.0 / 5)
        let laplace = ExactPMF.discreteLaplace(scale: 5)
        let binTest = ChiSquareTest(samples: bins, pmf: { $0 == 0 ? q * q / (1 + q) : laplace($0 - 2) }, range: 0...40)
        XCTAssertTrue(binTest.passes, "histogram bin: chi-square \(binTest.statistic) > \(binTest.criticalValue)")
    }
}
