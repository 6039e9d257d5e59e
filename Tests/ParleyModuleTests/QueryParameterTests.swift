import ParleyAnalysis
import ParleyCore
@testable import ParleyModule
import XCTest

/// Declared query parameters: declarations are validated when sealed, a request's values are
/// checked against them, and the declaration survives sealing (it is part of the measurement).
final class QueryParameterTests: ModuleFixtureCase {
    func testDeclarationsAreValidated() {
        XCTAssertThrowsError(try ParameterDeclaration(type: .email, allowed: .values(["a"])))
        XCTAssertThrowsError(try ParameterDeclaration(type: .text, allowed: .range(min: "a", max: "b")))
        XCTAssertThrowsError(try ParameterDeclaration(type: .date, allowed: .range(min: "2025-01-01", max: "2024-01-01")))
        XCTAssertThrowsError(try ParameterDeclaration(type: .int, allowed: .values(["1", "01"])), "listed twice once canonical")
        XCTAssertThrowsError(try ParameterDeclaration(type: .int, allowed: .values([])))
        XCTAssertEqual(try ParameterDeclaration(type: .decimal, allowed: .values(["1.5"])).allowed, .values(["1.5000"]))
    }

    func testRequestValuesAreCheckedInSortedOrder() throws {
        let declarations = ["since": try ParameterDeclaration(type: .date, allowed: .range(min: "2024-01-01", max: "2024-12-31")),
                            "region": try ParameterDeclaration(type: .int, allowed: .values(["1", "2"]))]
        XCTAssertEqual(try ParameterDeclaration.bind(["since": "2024-03-01", "region": "2"], to: declarations),
                       ["since": .date(DateValue(parsing: "2024-03-01")!), "region": .int(2)])
        let cases: [([String: String], ParameterDeclaration.Refusal)] = [
            (["since": "2024-03-01"], .missing("region")),
            (["since": "2024-03-01", "region": "2", "x": "1"], .undeclared("x")),
            (["since": "March", "region": "2"], .malformed("since", .date)),
            (["since": "2025-03-01", "region": "2"], .notAllowed("since", declarations["since"]!)),
            (["since": "2024-03-01", "region": "02"], .notCanonical("region", "2")),
        ]
        for (values, refusal) in cases {
            XCTAssertThrowsError(try ParameterDeclaration.bind(values, to: declarations)) { error in
                XCTAssertEqual(error as? ParameterDeclaration.Refusal, refusal)
            }
        }
    }

    func testParametersSealAndAnUnusedOneIsRefused() throws {
        let module = try load("aml-overlap")
        let declared = try XCTUnwrap(module.queries["shared_since"]?.parameters)
        XCTAssertEqual(declared["min_amount"]?.allowed, .values(["0", "1000", "10000"]))
        let reopened = try ModuleDefinition(cbor: module.cbor)
        XCTAssertEqual(reopened.queries["shared_since"]?.parameters, declared)
        let unused = try refusal("aml-overlap") {
            $0.replacingOccurrences(of: "AND a.amount >= @min_amount", with: "")
        }
        XCTAssertTrue(unused.contains("parameter @min_amount is declared but the SQL never uses it"), unused)
        let badRange = try refusal("aml-overlap") {
            $0.replacingOccurrences(of: "min = \"2024-01-01\", max = \"2026-12-31\"", with: "min = \"2027-01-01\", max = \"2026-12-31\"")
        }
        XCTAssertTrue(badRange.contains("min is above max"), badRange)
    }
}
