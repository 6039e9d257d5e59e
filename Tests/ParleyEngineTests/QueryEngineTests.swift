import XCTest
import ParleyAnalysis
@testable import ParleyEngine

/// Exact answers on small handmade data, worked out by hand in the comments.
final class QueryEngineTests: XCTestCase {
    static let exposures = try! DatasetSchema(
        name: "exposures", provider: "advertiser",
        columns: [ColumnSchema(name: "email_hash", type: .text), ColumnSchema(name: "campaign", type: .text),
                  ColumnSchema(name: "impressions", type: .int, bounds: ClampBounds(lower: 0, upper: 10))],
        privacyUnit: "email_hash")
    static let purchases = try! DatasetSchema(
        name: "purchases", provider: "retailer",
        columns: [ColumnSchema(name: "email_hash", type: .text), ColumnSchema(name: "category", type: .text),
                  ColumnSchema(name: "amount", type: .decimal, bounds: ClampBounds(lower: 0, upper: 100 * DecimalValue.unit)),
                  ColumnSchema(name: "quantity", type: .int), ColumnSchema(name: "day", type: .date)],
        privacyUnit: "email_hash")
    static func hospital(_ name: String, reversed: Bool) -> DatasetSchema {
        let columns = [ColumnSchema(name: "patient", type: .int), ColumnSchema(name: "diagnosis", type: .text),
                       ColumnSchema(name: "age", type: .int, bounds: ClampBounds(lower: 0, upper: 100))]
        return try! DatasetSchema(name: name, provider: name, columns: reversed ? columns.reversed() : columns,
                                  privacyUnit: "patient")
    }
    static let catalog = try! DatasetCatalog([exposures, purchases, hospital("hospital_a", reversed: false),
                                              hospital("hospital_b", reversed: true)])

    static let engine: QueryEngine = {
        func table(_ schema: DatasetSchema, _ csv: String) -> Table {
            try! CSVLoader.load(Array(csv.utf8), schema: schema)
        }
        return QueryEngine(datasets: [
            "exposures": table(exposures, """
                email_hash,campaign,impressions
                a,spring,3
                a,summer,20
                b,spring,1
                c,summer,2
                d,spring,5
                """),
            "purchases": table(purchases, """
                email_hash,category,amount,quantity,day
                a,soda,10.50,1,2024-01-01
                a,soda,95.00,2,2024-01-02
                a,juice,5,1,2024-01-03
                b,soda,2.25,3,2024-01-02
                c,water,7,1,2024-01-04
                e,soda,50,1,2024-01-01
                """),
            "hospital_a": table(hospital("hospital_a", reversed: false), """
                patient,diagnosis,age
                1,flu,30
                2,flu,150
                3,cold,40
                """),
            "hospital_b": table(hospital("hospital_b", reversed: true), """
                age,diagnosis,patient
                50,flu,1
                20,cold,4
                """),
        ])
    }()

    static let key = try! BoundingKey(Array(repeating: 7, count: 32))
    static let loose = ContributionBounds(maxGroupsPerUnit: 100, maxRowsPerUnit: 1000)

    func run(_ sql: String, bounds: ContributionBounds = loose, key: BoundingKey = key) throws -> GroupedAggregates {
        try Self.engine.run(try QueryCompiler.compile(sql, catalog: Self.catalog), bounds: bounds, key: key)
    }

    static let joinQuery = """
        SELECT e.campaign, COUNT(DISTINCT e.email_hash) AS buyers, SUM(p.amount) AS revenue, COUNT(*) AS n
        FROM exposures e JOIN purchases p ON e.email_hash = p.email_hash
        WHERE p.category IN ('soda', 'juice')
        GROUP BY e.campaign
        """

    func testJoinFilterGroupWithClampedSums() throws {
        // a: 2 exposures x 3 soda/juice purchases; per campaign 3 rows summing 110.50, clamped to 100.
        // b: spring x 2.25. c buys only water; d buys nothing; e saw nothing.
        let result = try run(Self.joinQuery)
        XCTAssertEqual(result.groups, [
            AggregatedGroup(key: [.text("spring")], distinctUnits: 2,
                            totals: [.count(2), .sum(1_022_500), .count(4)]),
            AggregatedGroup(key: [.text("summer")], distinctUnits: 1,
                            totals: [.count(1), .sum(1_000_000), .count(3)]),
        ])
    }

    func testJoinedRowsPerUnitAreCutBeforeTheJoin() throws {
        // One row per unit and source: a keeps its first exposure (spring) and its first soda or
        // juice purchase (10.50); b keeps spring x 2.25. Nothing of a reaches summer.
        let result = try run(Self.joinQuery, bounds: ContributionBounds(maxGroupsPerUnit: 100, maxRowsPerUnit: 1000, maxJoinRowsPerUnit: 1))
        XCTAssertEqual(result.groups, [
            AggregatedGroup(key: [.text("spring")], distinctUnits: 2, totals: [.count(2), .sum(127_500), .count(2)]),
        ])
        // Two per source: a gives 2 x 2 combinations, so 2 rows per campaign.
        let two = try run(Self.joinQuery, bounds: ContributionBounds(maxGroupsPerUnit: 100, maxRowsPerUnit: 1000, maxJoinRowsPerUnit: 2))
        XCTAssertEqual(two.groups.map { $0.totals[2] }, [.count(3), .count(2)])
        // A single source is never cut (there is no product to bound).
        let single = try run("SELECT COUNT(*) AS n FROM purchases", bounds: ContributionBounds(maxGroupsPerUnit: 100, maxRowsPerUnit: 1000, maxJoinRowsPerUnit: 1))
        XCTAssertEqual(single.groups.first?.totals, [.count(6)])
    }

    func testRowCountsAreClampedPerUnitAndGroup() throws {
        let result = try run(Self.joinQuery, bounds: ContributionBounds(maxGroupsPerUnit: 100, maxRowsPerUnit: 2))
        XCTAssertEqual(result.groups.map { $0.totals[2] }, [.count(3), .count(2)])
    }

    func testMaxGroupsPerUnitKeepsAKeyedChoice() throws {
        let bounds = ContributionBounds(maxGroupsPerUnit: 1, maxRowsPerUnit: 1000)
        var kept = Set<String>()
        for seed in UInt8(0)..<24 {
            let key = try BoundingKey(Array(repeating: seed, count: 32))
            let result = try run(Self.joinQuery, bounds: bounds, key: key)
            XCTAssertEqual(result, try run(Self.joinQuery, bounds: bounds, key: key), "deterministic for a key")
            // a contributes to exactly one campaign; b always to spring.
            XCTAssertEqual(result.groups.reduce(0) { $0 + $1.distinctUnits }, 2)
            let spring = result.groups.first { $0.key == [.text("spring")] }
            XCTAssertNotNil(spring)
            if spring?.distinctUnits == 2 { kept.insert("spring") } else { kept.insert("summer") }
        }
        XCTAssertEqual(kept, ["spring", "summer"], "different keys choose differently")
    }

    func testAverageAndSumWithoutJoin() throws {
        // spring: 3 + 1 + 5 over 3 rows; summer: 20 clamped to 10, plus 2, over 2 rows.
        let result = try run("SELECT campaign, AVG(impressions) AS mean, SUM(impressions) FROM exposures GROUP BY campaign")
        XCTAssertEqual(result.groups.map(\.totals), [
            [.average(sum: 9, count: 3), .sum(9)],
            [.average(sum: 12, count: 2), .sum(12)],
        ])
    }

    func testNoGroupByGivesOneGroupEvenWhenEmpty() throws {
        // amount > 5 and quantity < 2.5 (int compared as decimal): a 10.50, a 95, c 7, e 50.
        let result = try run("SELECT COUNT(*) AS n, COUNT(DISTINCT email_hash) FROM purchases WHERE amount > 5 AND quantity < 2.5")
        XCTAssertEqual(result.groups, [AggregatedGroup(key: [], distinctUnits: 3, totals: [.count(4), .count(3)])])
        let empty = try run("SELECT COUNT(*) FROM purchases WHERE category = 'none'")
        XCTAssertEqual(empty.groups, [AggregatedGroup(key: [], distinctUnits: 0, totals: [.count(0)])])
    }

    func testConditionAcrossSourcesAppliesAfterTheJoin() throws {
        // a: 3 spring rows; b: 1 spring row; c: summer x water.
        let result = try run("""
            SELECT COUNT(*) FROM exposures e JOIN purchases p ON e.email_hash = p.email_hash
            WHERE e.campaign = 'spring' OR p.category = 'water'
            """)
        XCTAssertEqual(result.groups.first?.totals, [.count(5)])
    }

    func testTextRangesDatesAndNegation() throws {
        func count(_ condition: String) throws -> AggregateTotal? {
            try run("SELECT COUNT(*) FROM purchases WHERE " + condition).groups.first?.totals.first
        }
        XCTAssertEqual(try count("category >= 'soda'"), .count(5))
        XCTAssertEqual(try count("'k' > category"), .count(1))
        XCTAssertEqual(try count("day BETWEEN DATE '2024-01-02' AND DATE '2024-01-03'"), .count(3))
        XCTAssertEqual(try count("NOT category IN ('soda') AND quantity <> 5"), .count(2))
        XCTAssertEqual(try count("category NOT BETWEEN 'k' AND 't'"), .count(2))
        XCTAssertEqual(try count("amount = 10.5"), .count(1))
        XCTAssertEqual(try count("quantity IN (2, 3)"), .count(2))
        XCTAssertEqual(try count("quantity IN (2.0, 3.5)"), .count(1))
    }

    func testGroupByIntDecimalAndDateKeysSorted() throws {
        let result = try run("SELECT day, quantity, COUNT(*) FROM purchases GROUP BY day, quantity")
        XCTAssertEqual(result.groups.map(\.key), [
            [.date(DateValue(parsing: "2024-01-01")!), .int(1)],
            [.date(DateValue(parsing: "2024-01-02")!), .int(2)],
            [.date(DateValue(parsing: "2024-01-02")!), .int(3)],
            [.date(DateValue(parsing: "2024-01-03")!), .int(1)],
            [.date(DateValue(parsing: "2024-01-04")!), .int(1)],
        ])
    }

    func testUnionWithIntegerUnits() throws {
        // flu: patients 1 (in both hospitals, 30 + 50 = 80) and 2 (150 clamped to 100); cold: 3 and 4.
        let result = try run("""
            SELECT r.diagnosis, COUNT(DISTINCT r.patient) AS patients, SUM(r.age) AS years, COUNT(*) AS visits
            FROM (SELECT * FROM hospital_a UNION ALL SELECT * FROM hospital_b) AS r GROUP BY r.diagnosis
            """)
        XCTAssertEqual(result.groups, [
            AggregatedGroup(key: [.text("cold")], distinctUnits: 2, totals: [.count(2), .sum(60), .count(2)]),
            AggregatedGroup(key: [.text("flu")], distinctUnits: 2, totals: [.count(2), .sum(180), .count(3)]),
        ])
    }

    func testMissingDatasetAndBadBounds() throws {
        let plan = try QueryCompiler.compile("SELECT COUNT(*) FROM purchases", catalog: Self.catalog)
        XCTAssertThrowsError(try QueryEngine(datasets: [:]).run(plan, bounds: Self.loose, key: Self.key)) { error in
            XCTAssertTrue("\(error)".contains("not been uploaded"))
        }
        XCTAssertThrowsError(try Self.engine.run(plan, bounds: ContributionBounds(maxGroupsPerUnit: 0, maxRowsPerUnit: 1),
                                                 key: Self.key))
    }

    func testJoinSizeIsCapped() throws {
        // Pushed-down filters leave a: 2 x 3 and b: 1 x 1 combinations (c only bought water).
        let plan = try QueryCompiler.compile(Self.joinQuery, catalog: Self.catalog)
        let capped = QueryEngine(datasets: Self.engine.datasets, maxJoinedRows: 6)
        XCTAssertThrowsError(try capped.run(plan, bounds: Self.loose, key: Self.key)) { error in
            XCTAssertTrue("\(error)".contains("more than 6"))
        }
        XCTAssertNoThrow(try QueryEngine(datasets: Self.engine.datasets, maxJoinedRows: 7).run(plan, bounds: Self.loose, key: Self.key))
    }

    func testSumOverflowIsAnErrorNotAWrap() throws {
        let schema = try DatasetSchema(name: "big", provider: "p",
                                       columns: [ColumnSchema(name: "id", type: .int),
                                                 ColumnSchema(name: "v", type: .int, bounds: ClampBounds(lower: 0, upper: .max))],
                                       privacyUnit: "id")
        let table = try CSVLoader.load(Array("id,v\n1,9223372036854775807\n2,9223372036854775807\n".utf8), schema: schema)
        let plan = try QueryCompiler.compile("SELECT SUM(v) FROM big", catalog: DatasetCatalog([schema]))
        XCTAssertThrowsError(try QueryEngine(datasets: ["big": table]).run(plan, bounds: Self.loose, key: Self.key))
    }
}
