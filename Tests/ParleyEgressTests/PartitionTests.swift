@testable import ParleyEgress
@testable import ParleyPrivacy
import XCTest

/// Public partitions (no GROUP BY, declared keys) and the charge-first order of a run.
final class PartitionTests: XCTestCase {
    /// epsilon 100000: the noise is 0 with overwhelming probability, so values are exact.
    private func nearlyExact(minGroupSize: Int = 5) throws -> (EgressGate, PrivacyBudget) {
        let policy = try Fixtures.policy(minGroupSize: minGroupSize, epsilon: "100000", budget: "10000000")
        return (EgressGate(policy: policy), PrivacyBudget(policy: policy))
    }

    func testWholeInputIsAlwaysComputedAndChargedEvenWithNoUnits() throws {
        var (gate, budget) = try nearlyExact()
        var generator = SeededGenerator(seed: 21)
        // The engine may hand over the one partition with no unit, or no group at all: both are a
        // release (suppressed by the noisy count), never a refusal.
        for groups in [[], [BoundedGroup(keys: [], distinctUnits: 0, totals: [0])]] {
            let result = BoundedQueryResult(aggregates: [Fixtures.distinct], groups: groups, partitions: .whole)
            let release = try gate.release(result, budget: &budget, using: &generator)
            XCTAssertTrue(release.rows.isEmpty)
            XCTAssertEqual(release.suppressedGroupCount, 1, "the one public partition shows as suppressed")
            XCTAssertEqual(release.partitionSelectionDelta, 0)
        }
        let big = BoundedQueryResult(aggregates: [Fixtures.distinct], groups: [BoundedGroup(keys: [], distinctUnits: 40, totals: [40])],
                                     partitions: .whole)
        let release = try gate.release(big, budget: &budget, using: &generator)
        XCTAssertEqual(release.rows.map(\.values), [[.integer(40)]])
        XCTAssertEqual(release.suppressedGroupCount, 0)
        XCTAssertEqual(budget.runs, 3)
    }

    func testDeclaredKeysReleaseEveryKeyIncludingEmptyOnesAndDropOthers() throws {
        var (gate, budget) = try nearlyExact()
        var generator = SeededGenerator(seed: 22)
        let keys = [["energy"], ["retail"], ["shipping"]]
        let aggregates = [Fixtures.distinct, try Fixtures.sum("x", 0, 10), try Fixtures.average("x", 0, 10)]
        let result = BoundedQueryResult(aggregates: aggregates, groups: [
            BoundedGroup(keys: ["energy"], distinctUnits: 3, totals: [3, 12, 12]),
            BoundedGroup(keys: ["undeclared"], distinctUnits: 50, totals: [50, 100, 100]),
        ], partitions: .declared(keys: keys))
        let release = try gate.release(result, budget: &budget, using: &generator)
        XCTAssertEqual(release.rows.map(\.keys), keys, "every declared key, sorted; the undeclared group is dropped")
        XCTAssertEqual(release.rows[0].values.map(\.description), ["3", "12", "4.000000"], "below min_group_size, still released")
        XCTAssertEqual(release.rows[1].values.map(\.description), ["0", "0", "0.000000"], "an empty key is a noisy zero")
        XCTAssertEqual(release.suppressedGroupCount, 0)
        XCTAssertEqual(release.partitionSelectionDelta, 0)
        let cost = try gate.cost(of: aggregates, partitions: .declared(keys: keys))
        XCTAssertEqual(cost.measurements.map(\.measurement), [.distinctUnits, .sum(column: "x", bounds: try ContributionBounds(lower: 0, upper: 10))],
                       "no group-count measurement for public partitions")
        XCTAssertEqual(try gate.cost(of: aggregates).measurements.count, 3)
    }

    /// With low epsilon, declared empty keys get visible noise (a noisy zero, not a constant),
    /// and an AVG over a noisy count of 0 or less divides by 1 and stays within its bounds.
    func testEmptyDeclaredKeyIsANoisyZero() throws {
        let policy = try Fixtures.policy(minGroupSize: 10, epsilon: "0.5", budget: "100000")
        let gate = EgressGate(policy: policy)
        var budget = PrivacyBudget(policy: policy)
        var generator = SeededGenerator(seed: 23)
        let aggregates = [Fixtures.distinct, try Fixtures.average("x", 0, 10)]
        let result = BoundedQueryResult(aggregates: aggregates, groups: [], partitions: .declared(keys: [["empty"]]))
        var counts: [Int64] = []
        for _ in 0..<400 {
            let row = try XCTUnwrap(gate.release(result, budget: &budget, using: &generator).rows.first)
            XCTAssertEqual(row.keys, ["empty"])
            guard case let .integer(count) = row.values[0], case let .average(average) = row.values[1] else { return XCTFail("kinds") }
            XCTAssertGreaterThanOrEqual(count, 0, "a released count is clamped at 0")
            XCTAssertTrue((0...10).contains(Double(average.numerator) / Double(average.denominator)))
            counts.append(count)
        }
        XCTAssertEqual(Set(counts).count > 3, true, "the zero is noised: \(Set(counts).sorted())")
    }

    func testChargeComesBeforeAnyCheckOfTheData() throws {
        var (gate, budget) = try nearlyExact()
        var generator = SeededGenerator(seed: 24)
        let broken = BoundedQueryResult(aggregates: [Fixtures.distinct], groups: [BoundedGroup(keys: ["a"], distinctUnits: 5, totals: [6])])
        XCTAssertThrowsError(try gate.release(broken, budget: &budget, using: &generator))
        XCTAssertEqual(budget.runs, 1, "a failure after the charge keeps the charge")

        // The two-step API: the charge is made from the aggregate list alone.
        let run = try gate.charge([Fixtures.distinct], partitions: .whole, budget: &budget)
        XCTAssertEqual(budget.runs, 2)
        XCTAssertEqual(run.budgetRemaining, budget.remaining)
        let other = BoundedQueryResult(aggregates: [Fixtures.rows], groups: [], partitions: .whole)
        XCTAssertThrowsError(try gate.release(other, for: run, using: &generator), "a result of another query than the one charged") { error in
            guard case .contractViolation = (error as? EgressError)?.refusal else { return XCTFail("\(error)") }
        }
        let wrongPartitions = BoundedQueryResult(aggregates: [Fixtures.distinct], groups: [], partitions: .threshold)
        XCTAssertThrowsError(try gate.release(wrongPartitions, for: run, using: &generator))
        let twoGroups = BoundedQueryResult(aggregates: [Fixtures.distinct], groups: [
            BoundedGroup(keys: [], distinctUnits: 1, totals: [1]), BoundedGroup(keys: ["x"], distinctUnits: 1, totals: [1]),
        ], partitions: .whole)
        XCTAssertThrowsError(try gate.release(twoGroups, for: run, using: &generator))
        XCTAssertEqual(budget.runs, 2)
    }

    func testInvalidDeclaredKeysAreRefusedBeforeTheCharge() throws {
        var (gate, budget) = try nearlyExact()
        for keys in [[], [["a"], ["a"]]] as [[[String]]] {
            XCTAssertThrowsError(try gate.charge([Fixtures.distinct], partitions: .declared(keys: keys), budget: &budget)) { error in
                guard case .invalidQuery = (error as? EgressError)?.refusal else { return XCTFail("\(error)") }
            }
        }
        XCTAssertEqual(budget.runs, 0)
    }

    func testNoisyTotalsSaturateInsteadOfFailing() {
        XCTAssertEqual(NoiseDraw.add(5, to: .max), .max)
        XCTAssertEqual(NoiseDraw.add(-5, to: .min), .min)
        XCTAssertEqual(NoiseDraw.add(-5, to: 7), 2)
    }

    func testWeakThresholdsAndDeltasAreFlagged() throws {
        let weak = try Fixtures.policy(minGroupSize: 5, epsilon: "1.0")
        let cost = try QueryCost(aggregates: [Fixtures.distinct], policy: weak)
        let flags = cost.weaknesses(under: weak)
        XCTAssertEqual(flags.count, 2, "\(flags)")
        XCTAssertTrue(flags[0].contains("min_group_size 5 is below 10"), flags[0])
        XCTAssertTrue(flags[1].contains("partition-selection delta"), flags[1])
        XCTAssertEqual(try QueryCost(aggregates: [Fixtures.distinct], policy: weak, partitions: .declared(keys: [["a"]])).weaknesses(under: weak), [],
                       "declared keys have neither a threshold nor a selection delta")
        let strong = try Fixtures.policy(minGroupSize: 100, epsilon: "1.0")
        XCTAssertEqual(try QueryCost(aggregates: [Fixtures.distinct], policy: strong).weaknesses(under: strong), [])
    }
}

/// The release quantum: answers leave only at whole multiples of it.
final class ReleaseTimingTests: XCTestCase {
    func testAnswersLeaveAtWholeQuanta() {
        let q = Duration.milliseconds(20)
        XCTAssertEqual(ReleaseTiming.releaseAfter(elapsed: .zero, quantum: q), q, "at least one quantum")
        XCTAssertEqual(ReleaseTiming.releaseAfter(elapsed: .microseconds(30), quantum: q), q)
        XCTAssertEqual(ReleaseTiming.releaseAfter(elapsed: .milliseconds(19), quantum: q), q,
                       "a fast run and a slow one within the quantum are indistinguishable")
        XCTAssertEqual(ReleaseTiming.releaseAfter(elapsed: .milliseconds(20), quantum: q), q)
        XCTAssertEqual(ReleaseTiming.releaseAfter(elapsed: .milliseconds(21), quantum: q), .milliseconds(40))
        XCTAssertEqual(ReleaseTiming.releaseAfter(elapsed: .milliseconds(7), quantum: .zero), .milliseconds(7), "no quantum, no wait")
    }
}
