import XCTest
@testable import ParleyAnalysis

/// MEDIAN, PERCENTILE_CONT, VAR_POP, STDDEV_POP and HISTOGRAM (issue #18): what compiles, into
/// what, and every refusal with its reason.
final class StatisticsTests: XCTestCase {
    func testQuantilesCompileWithTheirFractionAndBounds() throws {
        let plan = try XCTUnwrap(compile("""
            SELECT category, MEDIAN(amount), PERCENTILE_CONT(amount, 0.9) AS p90, PERCENTILE_CONT(amount, 0) AS low,
                   PERCENTILE_CONT(amount, 1) AS high
            FROM purchases GROUP BY category
            """))
        XCTAssertEqual(plan.aggregates.map(\.kind), [.quantile, .quantile, .quantile, .quantile])
        XCTAssertEqual(plan.aggregates.map(\.outputName), ["median_amount", "p90", "low", "high"])
        XCTAssertEqual(plan.aggregates.map { $0.fraction.map { "\($0.numerator)/\($0.denominator)" } },
                       ["1/2", "9/10", "0/1", "1/1"])
        XCTAssertEqual(plan.aggregates[0].bounds, TestCatalog.decimalBounds("0", "500"))
    }

    func testVarianceAndStandardDeviationCompileWithTheirCentring() throws {
        let plan = try XCTUnwrap(compile("SELECT VAR_POP(age) AS v, STDDEV_POP(cost) FROM hospital_a"))
        XCTAssertEqual(plan.aggregates.map(\.kind), [.variance, .standardDeviation])
        XCTAssertEqual(plan.aggregates.map(\.outputName), ["v", "stddev_pop_cost"])
        let age = try XCTUnwrap(plan.aggregates[0].centering)
        XCTAssertEqual(age.centre, 60)
        XCTAssertEqual(age.halfWidth, 60)
        XCTAssertEqual(age.squareUnit, 1)
        XCTAssertEqual(age.maxSquare, 3600)
        // cost in [0, 10000.0000]: half width 5e7 ten-thousandths, whose square 2.5e15 needs a
        // square unit of 10^6 to stay under 10^10.
        let cost = try XCTUnwrap(plan.aggregates[1].centering)
        XCTAssertEqual(cost.centre, 50_000_000)
        XCTAssertEqual(cost.squareUnit, 1_000_000)
        XCTAssertEqual(cost.maxSquare, 2_500_000_000)
        // amount in [0, 500.0000]: half width 2.5e6, square 6.25e12 / 10^4 fits.
        let amount = try XCTUnwrap(compile("SELECT VAR_POP(amount) FROM purchases")?.aggregates[0].centering)
        XCTAssertEqual(amount.squareUnit, DecimalValue.unit)
        XCTAssertEqual(amount.maxSquare, 625_000_000)
        XCTAssertEqual(amount.square(amount.centred(0)), 625_000_000)
        XCTAssertEqual(amount.square(15_000), 22_500)  // 1.5^2 = 2.25
        XCTAssertEqual(amount.square(50), 0)  // 0.005^2 rounds to 0.0000
        XCTAssertEqual(amount.square(-71), 1)  // 0.0071^2 = 0.00005041 rounds half up
    }

    func testHistogramCompilesItsEdgesInTheColumnsUnits() throws {
        let plan = try XCTUnwrap(compile("SELECT HISTOGRAM(amount, 0, 10, 50.5, 500) AS spend, HISTOGRAM(quantity, -5, 0, 5) FROM purchases"))
        XCTAssertEqual(plan.aggregates.map(\.kind), [.histogram, .histogram])
        XCTAssertEqual(plan.aggregates[0].binEdges, [0, 100_000, 505_000, 5_000_000])
        XCTAssertEqual(plan.aggregates[1].binEdges, [-5, 0, 5])
        XCTAssertNil(plan.aggregates[1].bounds, "a histogram needs no clamping bounds")
        XCTAssertEqual(plan.aggregates[1].outputName, "histogram_quantity")
    }

    func testBadFractionIsRefused() {
        assertRefused("SELECT PERCENTILE_CONT(amount, 1.5) FROM purchases", .invalidAggregation, at: "1.5", mentions: "between 0 and 1")
        assertRefused("SELECT PERCENTILE_CONT(amount, -0.1) FROM purchases", .invalidAggregation, at: "-0.1", mentions: "between 0 and 1")
        assertRefused("SELECT PERCENTILE_CONT(amount, 0.12345) FROM purchases", .invalidAggregation, at: "0.12345",
                      mentions: "at most 4 digits")
        assertRefused("SELECT PERCENTILE_CONT(amount, quantity) FROM purchases", .unsupported, at: "quantity",
                      mentions: "must be a constant")
        assertRefused("SELECT PERCENTILE_CONT(amount, '0.5') FROM purchases", .unsupported, at: "'0.5'", mentions: "constant")
        assertRefused("SELECT PERCENTILE_CONT(amount) FROM purchases", .syntax, at: ")", mentions: "fraction p")
        assertRefused("SELECT PERCENTILE_CONT(amount, 0.5) WITHIN GROUP (ORDER BY amount) FROM purchases", .unsupported,
                      at: "WITHIN", mentions: "PERCENTILE_CONT(column, p)")
        assertRefused("SELECT MEDIAN(amount, 0.5) FROM purchases", .unsupported, at: ", 0.5", mentions: "takes one column")
    }

    func testStatisticsNeedBoundsAndAMeasuredNumericColumn() {
        assertRefused("SELECT MEDIAN(quantity) FROM purchases", .missingBounds, at: "quantity", mentions: "MEDIAN(purchases.quantity) needs clamping bounds")
        assertRefused("SELECT PERCENTILE_CONT(quantity, 0.5) FROM purchases", .missingBounds, at: "quantity")
        assertRefused("SELECT VAR_POP(quantity) FROM purchases", .missingBounds, at: "quantity", mentions: "VAR_POP")
        assertRefused("SELECT STDDEV_POP(quantity) FROM purchases", .missingBounds, at: "quantity", mentions: "STDDEV_POP")
        assertRefused("SELECT MEDIAN(category) FROM purchases", .typeMismatch, at: "category", mentions: "int or decimal")
        assertRefused("SELECT HISTOGRAM(category, 0, 1) FROM purchases", .typeMismatch, at: "category")
        assertRefused("SELECT MEDIAN(member_id) FROM members", .privacyUnitExposed, at: "member_id)")
        assertRefused("SELECT HISTOGRAM(member_id, 0, 10) FROM members", .privacyUnitExposed, at: "member_id,")
        assertRefused("SELECT VAR_POP(DISTINCT age) FROM hospital_a", .unsupported, at: "DISTINCT")
    }

    func testVarianceOverBoundsOfOneValueIsRefused() throws {
        let catalog = try DatasetCatalog([try DatasetSchema(
            name: "d", provider: "p",
            columns: [ColumnSchema(name: "id", type: .text), ColumnSchema(name: "x", type: .int, bounds: ClampBounds(lower: 7, upper: 7))],
            privacyUnit: "id")])
        XCTAssertThrowsError(try QueryCompiler.compile("SELECT VAR_POP(x) FROM d", catalog: catalog)) { error in
            XCTAssertEqual((error as? AnalysisError)?.code, .invalidAggregation)
            XCTAssertTrue("\(error)".contains("always 0"), "\(error)")
        }
    }

    func testBadBinsAreRefused() {
        assertRefused("SELECT HISTOGRAM(amount, 0, 10, 10, 20) FROM purchases", .invalidAggregation, at: "10, 20",
                      mentions: "increase strictly")
        assertRefused("SELECT HISTOGRAM(amount, 50, 10) FROM purchases", .invalidAggregation, at: "10)", mentions: "increase strictly")
        assertRefused("SELECT HISTOGRAM(amount, 5) FROM purchases", .invalidAggregation, at: "HISTOGRAM", mentions: "at least two bin edges")
        assertRefused("SELECT HISTOGRAM(amount) FROM purchases", .unsupported, at: ")", mentions: "needs its bin edges")
        assertRefused("SELECT HISTOGRAM(quantity, 0, 1.5) FROM purchases", .typeMismatch, at: "1.5", mentions: "an integer")
        assertRefused("SELECT HISTOGRAM(amount, 0, 0.00001) FROM purchases", .typeMismatch, at: "0.00001", mentions: "a decimal")
        assertRefused("SELECT HISTOGRAM(amount, 0, quantity) FROM purchases", .unsupported, at: "quantity", mentions: "constant")
        let tooMany = (0...101).map(String.init).joined(separator: ", ")
        assertRefused("SELECT HISTOGRAM(quantity, \(tooMany)) FROM purchases", .limitExceeded, at: "101", mentions: "at most 100 bins")
    }

    func testOtherStatisticsNamesPointToTheSupportedOnes() {
        assertRefused("SELECT STDDEV(age) FROM hospital_a", .unsupported, at: "STDDEV", mentions: "STDDEV_POP(column)")
        assertRefused("SELECT VAR_SAMP(age) FROM hospital_a", .unsupported, at: "VAR_SAMP", mentions: "VAR_POP(column)")
        assertRefused("SELECT PERCENTILE_DISC(age, 0.5) FROM hospital_a", .unsupported, at: "PERCENTILE_DISC", mentions: "PERCENTILE_CONT(column, p)")
        assertRefused("SELECT MAX(age) FROM hospital_a", .unsupported, at: "MAX", mentions: "one person's")
    }

    func testSealTimeOverflowProofCoversTheVarianceSums() throws {
        let wide = try DatasetCatalog([try DatasetSchema(
            name: "d", provider: "p",
            columns: [ColumnSchema(name: "id", type: .text),
                      ColumnSchema(name: "x", type: .int, bounds: ClampBounds(lower: 0, upper: 2_000_000_000_000_000))],
            privacyUnit: "id")])
        // The centred sum: 5e7 units times a half width of 1e15 exceeds 2^63 (and the square unit
        // stops at 10^18, the largest power of ten in 64 bits).
        let variance = try QueryCompiler.compile("SELECT VAR_POP(x) FROM d", catalog: wide)
        XCTAssertEqual(variance.aggregates[0].centering?.squareUnit, 1_000_000_000_000_000_000)
        let problem = try XCTUnwrap(ExecutionBounds.problem(with: variance, maxRowsPerUnit: 1, maxJoinRowsPerUnit: 100))
        XCTAssertTrue(problem.contains("VAR_POP(d.x) could overflow"), problem)
        // The same bounds are fine for a median and a histogram, and a narrower variance passes.
        XCTAssertNil(ExecutionBounds.problem(with: try QueryCompiler.compile("SELECT MEDIAN(x), HISTOGRAM(x, 0, 10) FROM d", catalog: wide),
                                             maxRowsPerUnit: 1, maxJoinRowsPerUnit: 100))
        let plan = try XCTUnwrap(compile("SELECT VAR_POP(cost), STDDEV_POP(age) FROM hospital_a"))
        XCTAssertNil(ExecutionBounds.problem(with: plan, maxRowsPerUnit: 1, maxJoinRowsPerUnit: 100))
    }
}
