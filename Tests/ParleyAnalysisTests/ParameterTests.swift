import XCTest
@testable import ParleyAnalysis

/// `@parameters` in WHERE: typed like literals from their declared type, refused where a literal
/// would be, and bound (with the int -> decimal conversion literals get) before the engine runs.
final class ParameterTests: XCTestCase {
    let types: [String: ColumnType] = ["since": .date, "region": .int, "category": .text]

    func compile(_ sql: String) throws(AnalysisError) -> QueryPlan {
        try QueryCompiler.compile(sql, catalog: TestCatalog.catalog, parameters: types)
    }

    func testParametersAreTypedAndBound() throws {
        let plan = try compile("SELECT COUNT(*) FROM purchases p WHERE p.purchased_on >= @since AND p.amount > @region AND p.category = @category")
        XCTAssertEqual(plan.parameters, ["since": .date, "region": .int, "category": .text])
        let bound = try plan.binding(["since": .date(DateValue(parsing: "2024-06-01")!), "region": .int(2), "category": .text("soda")])
        XCTAssertTrue(bound.parameters.isEmpty)
        guard case .and(let terms)? = bound.filter, case .comparison(_, _, .literal(let amount), let domain) = terms[1] else {
            return XCTFail("unexpected plan \(String(describing: bound.filter))")
        }
        // An int parameter compared with a decimal column is converted, as a literal would be.
        XCTAssertEqual(domain, .decimal)
        XCTAssertEqual(amount, .decimal(DecimalValue(integer: 2)!))
    }

    func testBindingRefusesMissingOrMistypedValues() throws {
        let plan = try compile("SELECT COUNT(*) FROM purchases p WHERE p.purchased_on >= @since")
        XCTAssertThrowsError(try plan.binding([:]))
        XCTAssertThrowsError(try plan.binding(["since": .int(3)]))
    }

    func testParametersAreRefusedWhereTheyDoNotFit() {
        for (sql, code, mentions) in [
            ("SELECT COUNT(*) FROM purchases p WHERE p.quantity = @nope", AnalysisError.Code.unknownName, "parameter @nope is not declared"),
            ("SELECT COUNT(*) FROM purchases p WHERE p.category = @since", .typeMismatch, "@since (date)"),
            ("SELECT COUNT(*) FROM purchases p WHERE p.quantity IN (@region, 2)", .unsupported, "IN lists may only hold literal values"),
            ("SELECT COUNT(*) FROM purchases p WHERE p.email_hash = @category", .privacyUnitExposed, "privacy unit"),
            ("SELECT COUNT(*) FROM purchases p WHERE p.quantity = @", .invalidToken, "followed by its name"),
        ] {
            do {
                _ = try compile(sql)
                XCTFail("accepted: \(sql)")
            } catch {
                XCTAssertEqual(error.code, code, "\(sql): \(error)")
                XCTAssertTrue(error.reason.contains(mentions), "\(sql): \(error)")
            }
        }
    }
}
