import ParleyAnalysis
import ParleyCore
import ParleyEgress
import ParleyPrivacy
@testable import ParleyWorker
import XCTest

/// How the worker writes the new statistics into a result's cells: quantiles in the column's
/// units, variances scaled back from storage units squared, histograms as one text cell.
final class ResultCellTests: XCTestCase {
    func testStatisticsCellsAreInTheColumnsUnits() throws {
        let schema = try DatasetSchema(
            name: "visits", provider: "clinic",
            columns: [ColumnSchema(name: "patient", type: .text),
                      ColumnSchema(name: "minutes", type: .int, bounds: ClampBounds(lower: 0, upper: 100)),
                      ColumnSchema(name: "fee", type: .decimal, bounds: ClampBounds(lower: 0, upper: 10 * DecimalValue.unit))],
            privacyUnit: "patient")
        let plan = try QueryCompiler.compile("""
            SELECT MEDIAN(minutes), MEDIAN(fee), VAR_POP(fee), STDDEV_POP(fee), HISTOGRAM(fee, 0, 5, 10)
            FROM visits
            """, catalog: try DatasetCatalog([schema]))
        let minutes = try ContributionBounds(lower: 0, upper: 100), fee = try ContributionBounds(lower: 0, upper: 100_000)
        let moments = try MomentBounds(bounds: fee, squareUnit: try XCTUnwrap(plan.aggregates[2].centering?.squareUnit))
        let aggregates = [
            AggregateSpec(name: "m", kind: .quantile(column: "visits.minutes", bounds: minutes, fraction: try Rational(1, 2))),
            AggregateSpec(name: "f", kind: .quantile(column: "visits.fee", bounds: fee, fraction: try Rational(1, 2))),
            AggregateSpec(name: "v", kind: .variance(column: "visits.fee", moments: moments, standardDeviation: false)),
            AggregateSpec(name: "s", kind: .variance(column: "visits.fee", moments: moments, standardDeviation: true)),
            AggregateSpec(name: "h", kind: .histogram(column: "visits.fee", edges: [0, 50_000, 100_000])),
        ]
        // Fees 1.0000 and 4.0000 (centred on 5.0000: -4 and -1, squares 16 and 1 in units of
        // 10^-4 squared: 160000 and 10000): variance 2.25, standard deviation 1.5.
        let result = BoundedQueryResult(aggregates: aggregates, groups: [
            BoundedGroup(keys: [], distinctUnits: 2, totals: [0, 0, 0, 0, 0],
                         details: [[20, 40], [10_000, 40_000], [-50_000, 170_000], [-50_000, 170_000], [2, 0]]),
        ], partitions: .whole)
        let policy = try PrivacyPolicy(minGroupSize: 2, epsilonPerQuery: Rational(1_000_000_000), budgetEpsilon: Rational(1_000_000_000),
                                       maxGroupsPerUnit: 1)
        var budget = PrivacyBudget(policy: policy)
        let release = try EgressGate(policy: policy).release(result, budget: &budget)
        let row = try XCTUnwrap(release.rows.first)
        let cells = WorkerRuntime.resultRow(row, plan: plan)
        XCTAssertTrue((21...39).map { CBOR.int($0) }.contains(cells[0]), "a median of 20 and 40 lies between them: \(cells[0])")
        guard case .text(let median) = cells[1], let value = Double(median) else { return XCTFail("\(cells[1])") }
        XCTAssertTrue(value > 1 && value < 4, "a median fee between the two fees: \(median)")
        XCTAssertEqual(Array(cells[2...]), [.text("2.2500"), .text("1.5000"), .text("[2,0]")])
    }
}
