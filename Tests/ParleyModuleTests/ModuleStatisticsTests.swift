import Foundation
import ParleyAnalysis
import ParleyEgress
import ParleyEngine
import ParleyModule
import ParleyPrivacy
import XCTest

/// A module query with MEDIAN, PERCENTILE_CONT, VAR_POP, STDDEV_POP and HISTOGRAM, end to end
/// through the module's own functions: load (seal-time checks), cost, the engine on uploaded CSV,
/// and the egress gate's release.
final class ModuleStatisticsTests: ModuleFixtureCase {
    static let query = """

        [queries.stay_distribution]
        receivers = ["registry"]
        sql = \"\"\"
        SELECT r.cohort, MEDIAN(r.stay_days) AS median_stay, PERCENTILE_CONT(r.stay_days, 0.9) AS p90_stay,
               VAR_POP(r.stay_days) AS var_stay, STDDEV_POP(r.stay_days) AS sd_stay,
               HISTOGRAM(r.stay_days, 0, 7, 14, 30, 60) AS stays
        FROM (SELECT * FROM north_records UNION ALL SELECT * FROM south_records) AS r
        GROUP BY r.cohort
        \"\"\"

        """

    func withQuery(_ text: String, epsilon: String? = nil) -> String {
        var edited = text + Self.query
        if let epsilon {
            edited = edited.replacingOccurrences(of: "epsilon_per_query = 0.5", with: "epsilon_per_query = \(epsilon)")
                .replacingOccurrences(of: "budget_epsilon = 5.0", with: "budget_epsilon = 100000000000")
        }
        return edited
    }

    func write(_ text: String) throws -> ModuleDefinition {
        let path = "\(dir)/stats.toml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return try ModuleDefinition.load(source: path, author: authorDER)
    }

    func testTheQueryCostsEachStatisticUnderTheModulesGaussianPolicy() throws {
        let module = try write(withQuery(try String(contentsOfFile: "\(dir)/hospital-outcomes.toml", encoding: .utf8)))
        let cost = try module.cost(ofQuery: "stay_distribution")
        XCTAssertEqual(cost.mechanism, .discreteGaussian)
        // Unit count, group count, two quantiles, centred sum and squares (shared by VAR_POP and
        // STDDEV_POP), histogram: seven equal shares of the run's rho.
        XCTAssertEqual(cost.measurements.count, 7)
        XCTAssertEqual(cost.aggregateCharges.map(\.measurements.count), [1, 1, 3, 3, 1])
        let quantiles = cost.measurements.filter { if case .quantile = $0.measurement { true } else { false } }
        XCTAssertEqual(quantiles.count, 2)
        for charge in quantiles {
            guard case let .exponentialMechanism(epsilon) = charge.noise, let rho = cost.zeroConcentratedRho else {
                return XCTFail("a quantile is an exponential mechanism")
            }
            XCTAssertLessThanOrEqual(epsilon.approximateDouble, (2 * rho / 7).squareRoot())
        }
        guard case .discreteGaussian? = cost.noise(for: .histogram(column: "r.stay_days", edges: [0, 7, 14, 30, 60])) else {
            return XCTFail("the histogram's bins get the policy's noise")
        }
    }

    func testAModuleWithABadStatisticIsRefusedWithItsPosition() throws {
        let reason = try refusal("hospital-outcomes") {
            self.withQuery($0).replacingOccurrences(of: "PERCENTILE_CONT(r.stay_days, 0.9)", with: "PERCENTILE_CONT(r.stay_days, 9)")
        }
        XCTAssertTrue(reason.contains("between 0 and 1"), reason)
        XCTAssertTrue(reason.contains(":47:"), "the refusal names the line in the module source: \(reason)")
        let bins = try refusal("hospital-outcomes") {
            self.withQuery($0).replacingOccurrences(of: "0, 7, 14, 30, 60", with: "0, 14, 7")
        }
        XCTAssertTrue(bins.contains("increase strictly"), bins)
    }

    func testReleaseOnUploadedRows() throws {
        let module = try write(withQuery(try String(contentsOfFile: "\(dir)/hospital-outcomes.toml", encoding: .utf8), epsilon: "1000000000"))
        let catalog = try module.catalog()
        // Cohort a: 30 patients staying 0...29 days, split between the hospitals; cohort b: 25
        // patients staying 5 days.
        var north = "patient_id,cohort,treatment,stay_days,readmitted\n", south = north
        for i in 0..<30 { (i % 2 == 0 ? { north += $0 } : { south += $0 })("a\(i),a,x,\(i),0\n") }
        for i in 0..<25 { (i % 2 == 0 ? { north += $0 } : { south += $0 })("b\(i),b,x,5,1\n") }
        let tables = ["north_records": try CSVLoader.load(Array(north.utf8), schema: try XCTUnwrap(catalog["north_records"])),
                      "south_records": try CSVLoader.load(Array(south.utf8), schema: try XCTUnwrap(catalog["south_records"]))]
        let plan = try XCTUnwrap(try module.compiledQueries()["stay_distribution"])
        let grouped = try QueryEngine(datasets: tables).run(plan, bounds: ContributionBounds(maxGroupsPerUnit: 1, maxRowsPerUnit: 1),
                                                            key: BoundingKey(Array(repeating: 3, count: 32)))
        // What the worker hands the gate (WorkerRuntime.compute): totals, and details for these.
        let groups = grouped.groups.map { g in
            BoundedGroup(keys: g.key.map(\.description), distinctUnits: g.distinctUnits, totals: g.totals.map { _ in 0 },
                         details: g.totals.map { total -> [Int64] in
                             switch total {
                             case .values(let values): return values
                             case .moments(let sum, let squares): return [sum, squares]
                             case .bins(let counts): return counts
                             case .count, .sum, .average: return []
                             }
                         })
        }
        let gate = EgressGate(policy: try module.privacyPolicy())
        var budget = PrivacyBudget(policy: try module.privacyPolicy())
        let run = try gate.charge(try module.egressAggregates(of: plan), partitions: try module.partitions(of: plan, query: try XCTUnwrap(module.queries["stay_distribution"])), budget: &budget)
        var generator = SystemRandomNumberGenerator()
        let release = try gate.release(BoundedQueryResult(aggregates: run.cost.aggregateCharges.map(\.aggregate), groups: groups,
                                                          partitions: run.cost.partitions), for: run, using: &generator)
        XCTAssertEqual(release.rows.count, 2)
        let a = release.rows[0].values.map(\.description), b = release.rows[1].values.map(\.description)
        // Median of 0...29: 14 and 15 tie (one more value on one side); p90: 26 (26 below, 3 above).
        XCTAssertTrue(["14", "15"].contains(a[0]), "\(a)")
        // Population variance of 0...29 is (30^2 - 1) / 12 = 74.916667, its root 8.655441.
        XCTAssertEqual(Array(a[1...]), ["26", "74.916667", "8.655441", "[7,7,16,0]"])
        XCTAssertEqual(b, ["5", "5", "0.000000", "0.000000", "[25,0,0,0]"])
    }
}
