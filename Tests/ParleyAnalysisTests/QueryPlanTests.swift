import XCTest
@testable import ParleyAnalysis

/// Queries the subset accepts, and the plans they produce.
final class QueryPlanTests: XCTestCase {
    func testDesignDocumentExample() throws {
        let plan = try XCTUnwrap(compile("""
            SELECT e.campaign, COUNT(DISTINCT e.email_hash) AS buyers, SUM(p.amount) AS revenue
            FROM exposures e JOIN purchases p ON e.email_hash = p.email_hash
            WHERE p.category IN ('soda', 'juice')
            GROUP BY e.campaign
            """))
        XCTAssertEqual(plan.sources.map(\.qualifier), ["e", "p"])
        XCTAssertEqual(plan.datasetNames, ["exposures", "purchases"])
        XCTAssertEqual(plan.joins.count, 1)
        XCTAssertEqual(plan.joins[0].existing.description, "e.email_hash")
        XCTAssertEqual(plan.joins[0].joined.description, "p.email_hash")
        XCTAssertEqual(plan.groupBy.map(\.description), ["e.campaign"])
        XCTAssertEqual(plan.aggregates.map(\.kind), [.countDistinctUnits, .sum])
        XCTAssertEqual(plan.aggregates[1].bounds, ClampBounds(lower: 0, upper: 5_000_000))
        XCTAssertEqual(plan.outputs.map(\.name), ["campaign", "buyers", "revenue"])
        XCTAssertEqual(plan.outputs[0], .groupKey(index: 0, name: "campaign"))
        XCTAssertEqual(plan.privacyUnitType, .text)
        guard case .inList(.column(let column), let values, .text)? = plan.filter else {
            return XCTFail("unexpected filter \(String(describing: plan.filter))")
        }
        XCTAssertEqual(column.name, "category")
        XCTAssertEqual(values, [.text("soda"), .text("juice")])
    }

    func testKeywordsAreCaseInsensitiveAndAliasesOptionalAs() throws {
        let plan = try XCTUnwrap(compile("""
            select campaign, count(*) as n, Avg(impressions) mean_impressions
            from exposures as x where x.exposed_on >= date '2024-01-01' group by campaign;
            """))
        XCTAssertEqual(plan.sources[0].qualifier, "x")
        XCTAssertEqual(plan.outputs.map(\.name), ["campaign", "n", "mean_impressions"])
        XCTAssertEqual(plan.aggregates.map(\.kind), [.countRows, .avg])
        XCTAssertEqual(plan.filter, .comparison(.greaterEqual,
                                                .column(plan.groupBy[0].withName("exposed_on", type: .date)),
                                                .literal(.date(DateValue(year: 2024, month: 1, day: 1)!)),
                                                domain: .date))
    }

    func testUnqualifiedColumnsResolveWhenUnique() throws {
        let plan = try XCTUnwrap(compile("""
            SELECT category, SUM(amount) FROM exposures JOIN purchases
              ON exposures.email_hash = purchases.email_hash GROUP BY category
            """))
        XCTAssertEqual(plan.groupBy[0].description, "purchases.category")
        XCTAssertEqual(plan.outputs.map(\.name), ["category", "sum_amount"])
    }

    func testDefaultOutputNames() throws {
        let plan = try XCTUnwrap(compile(
            "SELECT COUNT(*), COUNT(DISTINCT email_hash), SUM(amount), AVG(amount) AS avg2, AVG(amount) FROM purchases"))
        XCTAssertEqual(plan.outputs.map(\.name), ["count", "count_distinct_email_hash", "sum_amount", "avg2", "avg_amount"])
        XCTAssertTrue(plan.groupBy.isEmpty)
        XCTAssertNil(plan.filter)
    }

    func testGroupByColumnNeedNotBeSelected() throws {
        let plan = try XCTUnwrap(compile("SELECT COUNT(*) FROM purchases GROUP BY category, sku"))
        XCTAssertEqual(plan.groupBy.map(\.name), ["category", "sku"])
        XCTAssertEqual(plan.outputs, [.aggregate(index: 0, name: "count")])
    }

    func testOutputOrderIsAsWritten() throws {
        let plan = try XCTUnwrap(compile(
            "SELECT SUM(amount) AS s, sku, COUNT(*) AS c, category FROM purchases GROUP BY category, sku"))
        XCTAssertEqual(plan.outputs, [.aggregate(index: 0, name: "s"), .groupKey(index: 1, name: "sku"),
                                      .aggregate(index: 1, name: "c"), .groupKey(index: 0, name: "category")])
    }

    func testConditionsAreTypedAndBetweenIsDesugared() throws {
        let plan = try XCTUnwrap(compile("""
            SELECT COUNT(*) FROM purchases
            WHERE NOT (category = 'it''s' OR category <> 'x') AND amount BETWEEN 1 AND 2.5
              AND quantity NOT IN (1, 2, 2) AND quantity != -3 AND quantity < 1.5
            """))
        let category = ColumnReference(source: 0, qualifier: "purchases", name: "category", type: .text, isPrivacyUnit: false)
        let amount = category.withName("amount", type: .decimal)
        let quantity = category.withName("quantity", type: .int)
        let expected = FilterExpression.and([
            .not(.or([
                .comparison(.equal, .column(category), .literal(.text("it's")), domain: .text),
                .comparison(.notEqual, .column(category), .literal(.text("x")), domain: .text),
            ])),
            .and([
                .comparison(.greaterEqual, .column(amount), .literal(.decimal(DecimalValue(scaled: 10_000))), domain: .decimal),
                .comparison(.lessEqual, .column(amount), .literal(.decimal(DecimalValue(scaled: 25_000))), domain: .decimal),
            ]),
            .not(.inList(.column(quantity), [.int(1), .int(2)], domain: .int)),
            .comparison(.notEqual, .column(quantity), .literal(.int(-3)), domain: .int),
            .comparison(.less, .column(quantity), .literal(.decimal(DecimalValue(scaled: 15_000))), domain: .decimal),
        ])
        XCTAssertEqual(plan.filter, expected)
    }

    func testInListMixingIntAndDecimalUsesDecimalDomain() throws {
        let plan = try XCTUnwrap(compile("SELECT COUNT(*) FROM purchases WHERE quantity IN (1, 2.5)"))
        guard case .inList(_, let values, .decimal)? = plan.filter else { return XCTFail("\(String(describing: plan.filter))") }
        XCTAssertEqual(values, [.decimal(DecimalValue(scaled: 10_000)), .decimal(DecimalValue(scaled: 25_000))])
    }

    func testColumnToColumnComparison() throws {
        let plan = try XCTUnwrap(compile("""
            SELECT COUNT(*) FROM exposures e JOIN purchases p ON p.email_hash = e.email_hash
            WHERE p.purchased_on >= e.exposed_on
            """))
        guard case .comparison(.greaterEqual, .column(let left), .column(let right), .date)? = plan.filter else {
            return XCTFail("\(String(describing: plan.filter))")
        }
        XCTAssertEqual([left.description, right.description], ["p.purchased_on", "e.exposed_on"])
        XCTAssertEqual(plan.joins[0].existing.description, "e.email_hash", "ON sides are normalised")
    }

    func testUnionOfIdenticalSchemas() throws {
        let plan = try XCTUnwrap(compile("""
            SELECT r.diagnosis, COUNT(DISTINCT r.patient_id) AS patients, AVG(r.cost) AS mean_cost
            FROM (SELECT * FROM hospital_a UNION ALL SELECT * FROM hospital_b) AS r
            GROUP BY r.diagnosis
            """))
        XCTAssertEqual(plan.sources.count, 1)
        XCTAssertTrue(plan.sources[0].isUnion)
        XCTAssertEqual(plan.sources[0].datasets, ["hospital_a", "hospital_b"])
        XCTAssertEqual(plan.sources[0].qualifier, "r")
        XCTAssertEqual(plan.aggregates[1].kind, .avg)
    }

    func testUnionJoinedWithDatasetAndAliasWithoutAs() throws {
        let plan = try XCTUnwrap(compile("""
            SELECT COUNT(*) FROM (select * from hospital_a union all select * from hospital_b) r
            INNER JOIN hospital_extra x ON r.patient_id = x.patient_id
            """))
        XCTAssertEqual(plan.datasetNames, ["hospital_a", "hospital_b", "hospital_extra"])
    }

    func testIntegerPrivacyUnit() throws {
        let plan = try XCTUnwrap(compile("SELECT tier, COUNT(DISTINCT member_id) FROM members GROUP BY tier"))
        XCTAssertEqual(plan.privacyUnitType, .int)
    }

    func testQuotedIdentifiersAndComments() throws {
        let plan = try XCTUnwrap(compile("""
            -- revenue per category
            SELECT "category", /* total */ SUM(`amount`) AS "select" FROM purchases GROUP BY category
            """))
        XCTAssertEqual(plan.outputs.map(\.name), ["category", "select"])
    }

    func testColumnNamedDateIsNotADateLiteral() throws {
        let schema = try DatasetSchema(name: "visits", provider: "p",
                                       columns: [ColumnSchema(name: "id", type: .text), ColumnSchema(name: "date", type: .date),
                                                 ColumnSchema(name: "count", type: .int, bounds: ClampBounds(lower: 0, upper: 9))],
                                       privacyUnit: "id")
        let plan = try QueryCompiler.compile(
            "SELECT date, SUM(count) FROM visits WHERE date > DATE '2020-02-29' GROUP BY date",
            catalog: DatasetCatalog([schema]))
        XCTAssertEqual(plan.outputs.map(\.name), ["date", "sum_count"])
    }
}

extension ColumnReference {
    /// The same source, another column (test convenience).
    func withName(_ name: String, type: ColumnType) -> ColumnReference {
        ColumnReference(source: source, qualifier: qualifier, name: name, type: type, isPrivacyUnit: false)
    }
}
