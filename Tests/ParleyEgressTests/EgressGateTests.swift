@testable import ParleyEgress
@testable import ParleyPrivacy
import XCTest

final class EgressGateTests: XCTestCase {
    /// epsilon 100000 over at most four measurements gives discrete Laplace scales of at most
    /// 0.004 (for a SUM bounded by 100): the noise is non-zero with probability about
    /// 2 exp(-250), so released values equal exact ones and the threshold can be tested at
    /// its edge.
    private func nearlyExactGate(minGroupSize: Int = 5) throws -> (EgressGate, PrivacyBudget) {
        let policy = try Fixtures.policy(minGroupSize: minGroupSize, epsilon: "100000", budget: "10000000")
        return (EgressGate(policy: policy), PrivacyBudget(policy: policy))
    }

    private func refusal(_ body: () throws -> Release) -> Refusal? {
        do { _ = try body(); return nil } catch let error as EgressError { return error.refusal } catch { return nil }
    }

    func testGroupWithOneUnitTooFewIsSuppressed() throws {
        var (gate, budget) = try nearlyExactGate(minGroupSize: 5)
        var generator = SeededGenerator(seed: 7)
        let result = BoundedQueryResult(aggregates: [Fixtures.distinct], groups: [
            BoundedGroup(keys: ["k-1"], distinctUnits: 4, totals: [4]),
            BoundedGroup(keys: ["exactly-k"], distinctUnits: 5, totals: [5]),
            BoundedGroup(keys: ["many"], distinctUnits: 100, totals: [100]),
        ])
        let release = try gate.release(result, budget: &budget, using: &generator)
        XCTAssertEqual(release.rows.map(\.keys), [["exactly-k"], ["many"]])
        XCTAssertEqual(release.rows.map(\.values), [[.integer(5)], [.integer(100)]])
        XCTAssertEqual(release.suppressedGroupCount, 1)
        XCTAssertEqual(release.columns, ["units"])
    }

    func testThresholdAppliesWithoutCountDistinctColumn() throws {
        var (gate, budget) = try nearlyExactGate(minGroupSize: 3)
        var generator = SeededGenerator(seed: 8)
        let result = BoundedQueryResult(aggregates: [Fixtures.rows], groups: [
            BoundedGroup(keys: ["small"], distinctUnits: 2, totals: [2]),
            BoundedGroup(keys: ["big"], distinctUnits: 3, totals: [3]),
        ])
        let release = try gate.release(result, budget: &budget, using: &generator)
        XCTAssertEqual(release.rows.map(\.keys), [["big"]])
        XCTAssertEqual(release.suppressedGroupCount, 1)
    }

    func testReleaseCarriesAggregatesAccountingAndSortedKeys() throws {
        var (gate, budget) = try nearlyExactGate(minGroupSize: 2)
        var generator = SeededGenerator(seed: 9)
        let aggregates = [Fixtures.distinct, try Fixtures.sum("amount", 0, 100), try Fixtures.average("amount", 0, 100), Fixtures.rows]
        let result = BoundedQueryResult(aggregates: aggregates, groups: [
            BoundedGroup(keys: ["soda", "b"], distinctUnits: 3, totals: [3, 70, 70, 3]),
            BoundedGroup(keys: ["juice", "a"], distinctUnits: 4, totals: [4, 50, 50, 4]),
        ])
        let release = try gate.release(result, budget: &budget, using: &generator)
        XCTAssertEqual(release.rows.map(\.keys), [["juice", "a"], ["soda", "b"]], "rows must be sorted by key")
        XCTAssertEqual(release.rows[0].values.map(\.description), ["4", "50", "12.500000", "4"])
        XCTAssertEqual(release.rows[1].values.map(\.description), ["3", "70", "23.333333", "3"])
        XCTAssertEqual(release.mechanism, .discreteLaplace)
        XCTAssertEqual(release.epsilonCharged, Rational(100_000))
        XCTAssertEqual(release.deltaCharged, .zero)
        XCTAssertEqual(release.budgetRemaining, Rational(9_900_000))
        XCTAssertEqual(release.suppressedGroupCount, 0)
        XCTAssertEqual(budget.runs, 1)
    }

    func testEveryRunIsChargedEvenWhenNothingIsReleased() throws {
        var (gate, budget) = try nearlyExactGate()
        var generator = SeededGenerator(seed: 10)
        let release = try gate.release(BoundedQueryResult(aggregates: [Fixtures.distinct], groups: []), budget: &budget, using: &generator)
        XCTAssertTrue(release.rows.isEmpty)
        XCTAssertEqual(budget.epsilonSpent, Rational(100_000))
    }

    func testBudgetExhaustionThroughTheGate() throws {
        let policy = try Fixtures.policy(epsilon: "0.75", budget: "2.0")
        let gate = EgressGate(policy: policy)
        var budget = PrivacyBudget(policy: policy)
        var generator = SeededGenerator(seed: 11)
        let result = BoundedQueryResult(aggregates: [Fixtures.distinct], groups: [BoundedGroup(keys: ["a"], distinctUnits: 50, totals: [50])])
        XCTAssertEqual(try gate.release(result, budget: &budget, using: &generator).budgetRemaining, try Rational(decimal: "1.25"))
        XCTAssertEqual(try gate.release(result, budget: &budget, using: &generator).budgetRemaining, try Rational(decimal: "0.5"))
        XCTAssertEqual(refusal { try gate.release(result, budget: &budget, using: &generator) },
                       .budgetExceeded(remaining: try Rational(decimal: "0.5"), requested: try Rational(decimal: "0.75")))
        XCTAssertEqual(budget.runs, 2)

        let otherPolicy = try Fixtures.policy(epsilon: "0.75", budget: "3.0")
        var foreign = PrivacyBudget(policy: otherPolicy)
        guard case .invalidPolicy? = refusal({ try gate.release(result, budget: &foreign, using: &generator) }) else {
            return XCTFail("a budget of another policy must be refused")
        }
        XCTAssertEqual(foreign.runs, 0)
    }

    func testBoundsAreEnforcedOnEngineTotals() throws {
        var (gate, budget) = try nearlyExactGate()
        var generator = SeededGenerator(seed: 12)
        let sum = try Fixtures.sum("amount", -10, 100)
        let cases: [(String, BoundedQueryResult)] = [
            ("sum above units * upper", BoundedQueryResult(aggregates: [sum], groups: [BoundedGroup(keys: ["a"], distinctUnits: 5, totals: [123_457])])),
            ("sum below units * lower", BoundedQueryResult(aggregates: [sum], groups: [BoundedGroup(keys: ["a"], distinctUnits: 5, totals: [-51])])),
            ("row count above bound", BoundedQueryResult(aggregates: [Fixtures.rows], groups: [BoundedGroup(keys: ["a"], distinctUnits: 5, totals: [6])])),
            ("distinct count mismatch", BoundedQueryResult(aggregates: [Fixtures.distinct], groups: [BoundedGroup(keys: ["a"], distinctUnits: 5, totals: [6])])),
            ("missing total", BoundedQueryResult(aggregates: [Fixtures.distinct, sum], groups: [BoundedGroup(keys: ["a"], distinctUnits: 5, totals: [5])])),
            ("empty group", BoundedQueryResult(aggregates: [Fixtures.distinct], groups: [BoundedGroup(keys: ["a"], distinctUnits: 0, totals: [0])])),
            ("duplicate keys", BoundedQueryResult(aggregates: [Fixtures.distinct], groups: [
                BoundedGroup(keys: ["a"], distinctUnits: 5, totals: [5]), BoundedGroup(keys: ["a"], distinctUnits: 6, totals: [6]),
            ])),
            ("SUM and AVG disagree", BoundedQueryResult(aggregates: [sum, try Fixtures.average("amount", -10, 100)], groups: [
                BoundedGroup(keys: ["a"], distinctUnits: 5, totals: [50, 60]),
            ])),
        ]
        for (label, result) in cases {
            do {
                _ = try gate.release(result, budget: &budget, using: &generator)
                XCTFail("\(label): released")
            } catch {
                guard case .contractViolation = error.refusal else { XCTFail("\(label): \(error.refusal)"); continue }
                XCTAssertFalse(error.reason.contains("123457"), "\(label): a refusal must not carry data values")
            }
        }
        XCTAssertEqual(budget.runs, UInt64(cases.count), "the charge comes first: a run refused after it stays charged")

        // Within bounds (including negative per-unit totals) is accepted.
        let fine = BoundedQueryResult(aggregates: [sum], groups: [BoundedGroup(keys: ["a"], distinctUnits: 5, totals: [-50])])
        XCTAssertEqual(try gate.release(fine, budget: &budget, using: &generator).rows.first?.values, [.integer(-50)])
    }

    func testAverageIsClampedToBoundsAndRenderedDeterministically() throws {
        let bounds = try ContributionBounds(lower: 0, upper: 10)
        XCTAssertEqual(NoisyAverage(sum: 7, count: 3, clampedTo: bounds).decimalString(), "2.333333")
        XCTAssertEqual(NoisyAverage(sum: 500, count: 3, clampedTo: bounds).decimalString(), "10.000000")
        XCTAssertEqual(NoisyAverage(sum: -4, count: 3, clampedTo: bounds).decimalString(), "0.000000")
        let signed = try ContributionBounds(lower: -10, upper: 10)
        XCTAssertEqual(NoisyAverage(sum: -7, count: 3, clampedTo: signed).decimalString(), "-2.333333")
        XCTAssertEqual(NoisyAverage(sum: -1, count: 8, clampedTo: signed).decimalString(fractionDigits: 2), "-0.13")
        XCTAssertEqual(NoisyAverage(sum: 1, count: 8, clampedTo: signed).decimalString(fractionDigits: 0), "0")
        XCTAssertEqual(NoisyAverage(sum: -1, count: 1000, clampedTo: signed).decimalString(fractionDigits: 2), "0.00")
        let reduced = NoisyAverage(sum: 6, count: 4, clampedTo: signed)
        XCTAssertEqual([reduced.numerator, reduced.denominator], [3, 2])
    }

    func testGaussianRelease() throws {
        let policy = try Fixtures.policy(minGroupSize: 2, epsilon: "1.0", budget: "5", delta: "1e-9")
        let gate = EgressGate(policy: policy)
        var budget = PrivacyBudget(policy: policy)
        var generator = SeededGenerator(seed: 13)
        let result = BoundedQueryResult(aggregates: [Fixtures.distinct], groups: [BoundedGroup(keys: ["a"], distinctUnits: 10_000, totals: [10_000])])
        let release = try gate.release(result, budget: &budget, using: &generator)
        XCTAssertEqual(release.mechanism, .discreteGaussian)
        XCTAssertEqual(release.deltaCharged, try Rational(decimal: "1e-9"))
        XCTAssertEqual(release.rows.count, 1)
        XCTAssertEqual(budget.deltaSpent, try Rational(decimal: "1e-9"))
    }

    /// The noise the gate adds to a released count follows the planned distribution.
    /// Chi-square at significance 1e-4, fixed seed (deterministic).
    func testGateNoiseFollowsPlannedDistribution() throws {
        let policy = try Fixtures.policy(minGroupSize: 2, epsilon: "1.0", budget: "100000", maxGroupsPerUnit: 1)
        let gate = EgressGate(policy: policy)
        var budget = PrivacyBudget(policy: policy)
        var generator = SeededGenerator(seed: 14)
        let result = BoundedQueryResult(aggregates: [Fixtures.distinct], groups: [BoundedGroup(keys: ["a"], distinctUnits: 1_000, totals: [1_000])])
        guard case let .discreteLaplace(scale)? = try gate.cost(of: [Fixtures.distinct]).noise(for: .distinctUnits) else {
            return XCTFail("expected Laplace noise")
        }
        XCTAssertEqual(scale, Rational(2))
        var noise: [Int64] = []
        for _ in 0..<5_000 {
            let release = try gate.release(result, budget: &budget, using: &generator)
            guard case let .integer(value)? = release.rows.first?.values.first else { return XCTFail("group suppressed") }
            noise.append(value - 1_000)
        }
        let test = ChiSquareTest(samples: noise, pmf: ExactPMF.discreteLaplace(scale: 2), range: -60...60)
        XCTAssertTrue(test.passes, "chi-square \(test.statistic) > \(test.criticalValue)")
        XCTAssertEqual(budget.epsilonSpent, Rational(5_000))
    }

    func testAverageIsNoisySumOverNoisyUnitCount() throws {
        let policy = try Fixtures.policy(minGroupSize: 2, epsilon: "1.0", budget: "100")
        let gate = EgressGate(policy: policy)
        var budget = PrivacyBudget(policy: policy)
        var generator = SeededGenerator(seed: 15)
        let aggregates = [Fixtures.distinct, try Fixtures.sum("x", 0, 10), try Fixtures.average("x", 0, 10)]
        let result = BoundedQueryResult(aggregates: aggregates, groups: [BoundedGroup(keys: ["a"], distinctUnits: 400, totals: [400, 2_000, 2_000])])
        var sawNoise = false
        for _ in 0..<20 {
            let values = try XCTUnwrap(gate.release(result, budget: &budget, using: &generator).rows.first?.values)
            guard case let .integer(count) = values[0], case let .integer(sum) = values[1], case let .average(average) = values[2] else {
                return XCTFail("unexpected value kinds")
            }
            XCTAssertEqual(Int128(average.numerator) * Int128(count), Int128(sum) * Int128(average.denominator))
            if count != 400 || sum != 2_000 { sawNoise = true }
        }
        XCTAssertTrue(sawNoise, "epsilon 1 must add visible noise")
    }

    func testProductionGeneratorPath() throws {
        let policy = try Fixtures.policy(minGroupSize: 2, epsilon: "1.0", budget: "1.0")
        var budget = PrivacyBudget(policy: policy)
        let result = BoundedQueryResult(aggregates: [Fixtures.rows], groups: [BoundedGroup(keys: ["a"], distinctUnits: 1_000, totals: [1_000])])
        let release = try EgressGate(policy: policy).release(result, budget: &budget)
        XCTAssertEqual(release.budgetRemaining, .zero)
        XCTAssertEqual(release.rows.count, 1)
    }
}
