import Foundation
import ParleyAnalysis
@testable import ParleyEgress
@testable import ParleyPrivacy
import ParleyEngine
import XCTest

/// The membership probe of issue #13, run in process through the real CSV loader, engine and
/// gate: bank A uploads only the target and asks, without GROUP BY, how many counterparties
/// both banks flagged. Whether bank B's list holds the target must show only through the noise.
final class MembershipProbeTests: XCTestCase {
    static let target = "acme-holdings-7f3a"
    static let catalog: DatasetCatalog = {
        // Force-try is fine in tests: the schemas are constants.
        let a = try! DatasetSchema(name: "flags_a", provider: "bank_a", columns: [
            ColumnSchema(name: "counterparty", type: .text), ColumnSchema(name: "sector", type: .text),
        ], privacyUnit: "counterparty")
        let b = try! DatasetSchema(name: "flags_b", provider: "bank_b", columns: [
            ColumnSchema(name: "counterparty", type: .text), ColumnSchema(name: "reason", type: .text),
        ], privacyUnit: "counterparty")
        return try! DatasetCatalog([a, b])
    }()
    static let key = try! BoundingKey(Array(repeating: 7, count: 32))
    static let plan = try! QueryCompiler.compile(sql, catalog: catalog)
    static let sql = "SELECT COUNT(DISTINCT a.counterparty) AS flagged_by_both FROM flags_a a JOIN flags_b b ON a.counterparty = b.counterparty"

    /// Bank A's upload (the target only) and bank B's list (50 others, with or without it).
    func tables(bHasTarget: Bool) throws -> [String: Table] {
        let a = try CSVLoader.load(Array("counterparty,sector\n\(Self.target),energy\n".utf8), schema: Self.catalog.datasets["flags_a"]!)
        var list = "counterparty,reason\n"
        for i in 0..<50 { list += "other-\(i),sanctions\n" }
        if bHasTarget { list += "\(Self.target),sanctions\n" }
        let b = try CSVLoader.load(Array(list.utf8), schema: Self.catalog.datasets["flags_b"]!)
        return ["flags_a": a, "flags_b": b]
    }

    /// One run as the worker makes it: charge, engine, release. Returns the released value, or
    /// nil when the one partition is shown as suppressed.
    func probe(_ tables: [String: Table], gate: EgressGate, budget: inout PrivacyBudget,
               generator: inout SeededGenerator) throws -> (value: Int64?, release: Release) {
        let aggregates = [ParleyPrivacy.AggregateSpec(name: "flagged_by_both", kind: .countDistinctUnits)]
        let run = try gate.charge(aggregates, partitions: .whole, budget: &budget)
        let grouped = try QueryEngine(datasets: tables, maxJoinedRows: .max)
            .run(Self.plan, bounds: ParleyEngine.ContributionBounds(maxGroupsPerUnit: 1, maxRowsPerUnit: 1), key: Self.key)
        let groups = grouped.groups.map { g in
            BoundedGroup(keys: [], distinctUnits: g.distinctUnits, totals: g.totals.map { t -> Int64 in
                if case .count(let c) = t { return c }
                return 0
            })
        }
        let release = try gate.release(BoundedQueryResult(aggregates: aggregates, groups: groups, partitions: .whole), for: run, using: &generator)
        guard let row = release.rows.first else { return (nil, release) }
        guard case .integer(let value) = row.values[0] else { throw EgressError(.contractViolation("not an integer")) }
        return (value, release)
    }

    /// Every run of both cases is a release with the same charge and the same accounting (no
    /// refusal, no free answer), and each case's outcomes follow exactly the distribution the
    /// noise predicts for its true count (0 or 1): Pearson's chi-square at alpha = 1e-4 per case,
    /// fixed seeds (deterministic), 4,000 runs each. epsilon 1 per run gives a visible
    /// difference (28% vs 10% released) for the test to measure.
    func testProbeOutcomesDifferOnlyAsTheNoiseAllows() throws {
        let policy = try PrivacyPolicy(minGroupSize: 2, epsilonPerQuery: "1.0", budgetEpsilon: "100000", maxGroupsPerUnit: 1)
        let gate = EgressGate(policy: policy)
        let runs = 4_000
        // Discrete Laplace, one measurement (the unit count), L1 = 1: scale 1.
        XCTAssertEqual(try gate.cost(of: [ParleyPrivacy.AggregateSpec(name: "n", kind: .countDistinctUnits)], partitions: .whole).noise(for: .distinctUnits),
                       .discreteLaplace(scale: .one))
        let q = exp(-1.0)
        func noise(_ z: Int64) -> Double { (1 - q) / (1 + q) * pow(q, Double(z.magnitude)) }
        for (bHasTarget, seed) in [(false, UInt64(131)), (true, UInt64(132))] {
            let exact: Int64 = bHasTarget ? 1 : 0
            let tables = try tables(bHasTarget: bHasTarget)
            var budget = PrivacyBudget(policy: policy)
            var generator = SeededGenerator(seed: seed)
            var outcomes: [Int64] = []
            for _ in 0..<runs {
                let (value, release) = try probe(tables, gate: gate, budget: &budget, generator: &generator)
                XCTAssertEqual(release.epsilonCharged, .one)
                XCTAssertEqual(release.partitionSelectionDelta, 0)
                XCTAssertEqual(release.suppressedGroupCount, value == nil ? 1 : 0)
                outcomes.append(value ?? 1)   // 1 stands for "suppressed" (the noisy count was below 2)
            }
            XCTAssertEqual(budget.runs, UInt64(runs), "every run is charged, in both cases")
            XCTAssertEqual(budget.epsilonSpent, Rational(UInt64(runs)))
            // P(suppressed) = P(exact + Z <= 1) = 1 - q^(2 - exact) / (1 + q); P(v) = P(Z = v - exact), v >= 2.
            let pmf: (Int64) -> Double = { v in
                if v == 1 { return 1 - pow(q, Double(2 - exact)) / (1 + q) }
                return v >= 2 ? noise(v - exact) : 0
            }
            let test = ChiSquareTest(samples: outcomes, pmf: pmf, range: 1...20)
            XCTAssertTrue(test.passes, "target in B's list: \(bHasTarget): chi-square \(test.statistic) > \(test.criticalValue)")
            XCTAssertGreaterThanOrEqual(test.degreesOfFreedom, 3)
        }
    }
}
