import Foundation
import ParleyEgress
import ParleyPrivacy
import XCTest

final class SensitivityAndCostTests: XCTestCase {
    func testSensitivityFollowsBoundsAndMaxGroups() throws {
        let bounds = try ContributionBounds(lower: -5, upper: 3)
        XCTAssertEqual(bounds.maximumMagnitude, 5)
        func pair(_ sensitivity: Sensitivity) -> [UInt64] { [sensitivity.l1, sensitivity.l2Squared] }
        XCTAssertEqual(pair(try Measurement.sum(column: "x", bounds: bounds).sensitivity(maxGroupsPerUnit: 4)), [20, 100])
        XCTAssertEqual(pair(try Measurement.distinctUnits.sensitivity(maxGroupsPerUnit: 4)), [4, 4])
        XCTAssertEqual(pair(try Measurement.rowCount(maxRowsPerUnit: 3).sensitivity(maxGroupsPerUnit: 2)), [6, 18])
        // The group count is one number: L2 equals L1.
        XCTAssertEqual(pair(try Measurement.groupCount.sensitivity(maxGroupsPerUnit: 4)), [4, 16])
    }

    func testLaplaceCostSplitsEpsilonEqually() throws {
        let policy = try Fixtures.policy(maxGroupsPerUnit: 4)
        let cost = try QueryCost(aggregates: [Fixtures.distinct, Fixtures.sum("x", -5, 3)], policy: policy)
        XCTAssertEqual(cost.mechanism, .discreteLaplace)
        XCTAssertEqual(cost.epsilon, .one)
        XCTAssertEqual(cost.delta, .zero)
        XCTAssertNil(cost.zeroConcentratedRho)
        XCTAssertEqual(cost.measurements.map(\.measurement),
                       [.distinctUnits, .groupCount, .sum(column: "x", bounds: try ContributionBounds(lower: -5, upper: 3))])
        XCTAssertTrue(cost.measurements.allSatisfy { $0.share == (try? Rational(1, 3)) })
        // scale = L1 * shares / epsilon
        XCTAssertEqual(cost.measurements.map(\.noise), [
            .discreteLaplace(scale: Rational(12)), .discreteLaplace(scale: Rational(12)), .discreteLaplace(scale: Rational(60)),
        ])
        let fractional = try QueryCost(aggregates: [Fixtures.rows], policy: try Fixtures.policy(epsilon: "0.7"))
        XCTAssertEqual(fractional.noise(for: .rowCount(maxRowsPerUnit: 1)), .discreteLaplace(scale: try Rational(30, 7)))
    }

    func testAverageChargesSumAndCount() throws {
        let policy = try Fixtures.policy()
        let averageOnly = try QueryCost(aggregates: [Fixtures.average("x", 0, 100)], policy: policy)
        let sumMeasurement = Measurement.sum(column: "x", bounds: try ContributionBounds(lower: 0, upper: 100))
        XCTAssertEqual(averageOnly.aggregateCharges[0].measurements, [sumMeasurement, .distinctUnits])
        XCTAssertEqual(averageOnly.measurements.map(\.measurement), [.distinctUnits, .groupCount, sumMeasurement])

        // Two averages: each charges its own SUM; the unit count is measured once.
        let twoAverages = try QueryCost(aggregates: [Fixtures.average("x", 0, 100), Fixtures.average("y", 0, 10)], policy: policy)
        XCTAssertEqual(twoAverages.measurements.count, 4)
        XCTAssertEqual(twoAverages.measurements[0].share, try Rational(1, 4))

        // A SUM and an AVG of the same column share one noisy SUM: no double charge.
        let shared = try QueryCost(aggregates: [Fixtures.sum("x", 0, 100), Fixtures.average("x", 0, 100)], policy: policy)
        XCTAssertEqual(shared.measurements.count, 3)
        XCTAssertEqual(shared.epsilon, .one)
    }

    func testGaussianCalibrationUsesZCDPConversion() throws {
        let policy = try Fixtures.policy(delta: "1e-6", maxGroupsPerUnit: 4)
        let cost = try QueryCost(aggregates: [Fixtures.sum("x", -5, 3)], policy: policy)
        XCTAssertEqual(cost.mechanism, .discreteGaussian)
        XCTAssertEqual(cost.delta, try Rational(decimal: "1e-6"))
        let rho = try XCTUnwrap(cost.zeroConcentratedRho)
        // epsilon = rho + 2 sqrt(rho ln(1/delta)) recovers epsilon_per_query.
        XCTAssertEqual(rho + 2 * (rho * log(1e6)).squareRoot(), 1.0, accuracy: 1e-12)
        for charge in cost.measurements {
            guard case let .discreteGaussian(variance) = charge.noise else { return XCTFail("expected Gaussian noise") }
            let needed = Double(charge.sensitivity.l2Squared) * 3 / (2 * rho)
            XCTAssertGreaterThanOrEqual(variance.approximateDouble, needed, "\(charge.measurement) under-noised")
            XCTAssertLessThanOrEqual(variance.approximateDouble, needed * (1 + 1e-4) + 1.0 / 65_536)
        }
    }

    func testPartitionSelectionDelta() throws {
        let policy = try Fixtures.policy(minGroupSize: 20, maxGroupsPerUnit: 2)
        let cost = try QueryCost(aggregates: [Fixtures.distinct], policy: policy)
        // Distinct-count noise: scale = L1 * shares / epsilon = 2 * 2 / 1 = 4.
        XCTAssertEqual(cost.noise(for: .distinctUnits), .discreteLaplace(scale: Rational(4)))
        let expected = 2 * exp(-19.0 / 4) / (1 + exp(-1.0 / 4))
        XCTAssertEqual(cost.partitionSelectionDelta, expected, accuracy: expected * 1e-6)
        XCTAssertGreaterThanOrEqual(cost.partitionSelectionDelta, expected)

        // The smallest threshold allowed, 2: a lone unit's group passes if its noise is >= 1.
        let trivial = try QueryCost(aggregates: [Fixtures.distinct], policy: try Fixtures.policy(minGroupSize: 2))
        let lone = exp(-1.0 / 2) / (1 + exp(-1.0 / 2))
        XCTAssertEqual(trivial.partitionSelectionDelta, lone, accuracy: lone * 1e-6)

        let gaussian = try QueryCost(aggregates: [Fixtures.distinct], policy: try Fixtures.policy(minGroupSize: 50, delta: "1e-9"))
        guard case let .discreteGaussian(variance)? = gaussian.noise(for: .distinctUnits) else { return XCTFail("expected Gaussian") }
        let pmf = ExactPMF.discreteGaussian(variance: variance.approximateDouble)
        let exactTail = (Int64(49)...Int64(2_000)).reduce(0.0) { $0 + pmf($1) }
        XCTAssertGreaterThanOrEqual(gaussian.partitionSelectionDelta, exactTail)
        XCTAssertLessThanOrEqual(gaussian.partitionSelectionDelta, exactTail * 1.001)
        XCTAssertLessThan(gaussian.partitionSelectionDelta, 1e-6)
    }

    func testRefusesAbsurdParameters() throws {
        func refusal(_ aggregates: [AggregateSpec], _ policy: PrivacyPolicy) -> Refusal? {
            do { _ = try QueryCost(aggregates: aggregates, policy: policy); return nil } catch { return error.refusal }
        }
        let wide = try Fixtures.sum("x", Int64.min, Int64.max)
        guard case .parameterOverflow? = refusal([wide], try Fixtures.policy(maxGroupsPerUnit: 2)) else {
            return XCTFail("2^63 * 2 groups must overflow")
        }
        guard case .parameterOverflow? = refusal([try Fixtures.sum("x", 0, 1 << 40)], try Fixtures.policy(epsilon: "0.001", budget: "1", delta: "1e-9")) else {
            return XCTFail("an enormous Gaussian variance must be refused")
        }
        guard case .parameterOverflow? = refusal([try Fixtures.sum("x", 0, 1 << 40)], try Fixtures.policy(epsilon: "1e-19", budget: "1")) else {
            return XCTFail("an enormous Laplace scale must be refused")
        }
        guard case .invalidQuery? = refusal([], try Fixtures.policy()) else { return XCTFail("empty query accepted") }
        guard case .invalidQuery? = refusal([try Fixtures.sum("x", 0, 0)], try Fixtures.policy()) else {
            return XCTFail("constant aggregate accepted")
        }
        XCTAssertThrowsError(try ContributionBounds(lower: 3, upper: 2))
    }

    func testGateCostPreviewMatches() throws {
        let policy = try Fixtures.policy()
        let gate = EgressGate(policy: policy)
        let aggregates = [Fixtures.distinct, Fixtures.rows]
        XCTAssertEqual(try gate.cost(of: aggregates), try QueryCost(aggregates: aggregates, policy: policy))
    }
}
