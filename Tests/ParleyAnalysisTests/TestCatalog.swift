import XCTest
@testable import ParleyAnalysis

/// Datasets shared by the analysis tests: the advertiser/retailer story and two hospitals.
enum TestCatalog {
    static func decimalBounds(_ lower: String, _ upper: String) -> ClampBounds {
        ClampBounds(decimalLower: DecimalValue(parsing: lower)!, upper: DecimalValue(parsing: upper)!)
    }

    static let exposures = try! DatasetSchema(
        name: "exposures", provider: "advertiser",
        columns: [
            ColumnSchema(name: "email_hash", type: .text),
            ColumnSchema(name: "campaign", type: .text),
            ColumnSchema(name: "exposed_on", type: .date),
            ColumnSchema(name: "impressions", type: .int, bounds: ClampBounds(lower: 0, upper: 100)),
        ],
        privacyUnit: "email_hash")

    static let purchases = try! DatasetSchema(
        name: "purchases", provider: "retailer",
        columns: [
            ColumnSchema(name: "email_hash", type: .text),
            ColumnSchema(name: "category", type: .text),
            ColumnSchema(name: "amount", type: .decimal, bounds: decimalBounds("0", "500")),
            ColumnSchema(name: "quantity", type: .int),
            ColumnSchema(name: "purchased_on", type: .date),
            ColumnSchema(name: "sku", type: .text),
        ],
        privacyUnit: "email_hash")

    static func hospital(_ name: String, unit: String = "patient_id", ageType: ColumnType = .int,
                         costBounds: ClampBounds = decimalBounds("0", "10000"),
                         extra: [ColumnSchema] = []) -> DatasetSchema {
        try! DatasetSchema(
            name: name, provider: name,
            columns: [
                ColumnSchema(name: "diagnosis", type: .text),
                ColumnSchema(name: unit, type: .text),
                ColumnSchema(name: "age", type: ageType, bounds: ageType == .int ? ClampBounds(lower: 0, upper: 120) : nil),
                ColumnSchema(name: "cost", type: .decimal, bounds: costBounds),
                ColumnSchema(name: "patient_id_copy", type: .text),
            ] + extra,
            privacyUnit: unit)
    }

    static let catalog = try! DatasetCatalog([
        exposures, purchases,
        hospital("hospital_a"),
        // Same columns in another order: still identical for UNION ALL.
        try! DatasetSchema(name: "hospital_b", provider: "b",
                           columns: hospital("x").columns.reversed(), privacyUnit: "patient_id"),
        hospital("hospital_wrong_type", ageType: .text),
        hospital("hospital_wrong_unit", unit: "mrn", extra: [ColumnSchema(name: "patient_id", type: .text)]),
        hospital("hospital_extra", extra: [ColumnSchema(name: "ward", type: .text)]),
        hospital("hospital_other_bounds", costBounds: decimalBounds("0", "99")),
        try! DatasetSchema(name: "members", provider: "club",
                           columns: [ColumnSchema(name: "member_id", type: .int),
                                     ColumnSchema(name: "tier", type: .text)],
                           privacyUnit: "member_id"),
    ])
}

/// Assertion helpers: compile, or expect a refusal at a position.
extension XCTestCase {
    @discardableResult
    func compile(_ sql: String, limits: AnalysisLimits = .standard,
                 file: StaticString = #filePath, line: UInt = #line) -> QueryPlan? {
        do {
            return try QueryCompiler.compile(sql, catalog: TestCatalog.catalog, limits: limits)
        } catch {
            XCTFail("refused: \(error)", file: file, line: line)
            return nil
        }
    }

    /// Expects a refusal with `code` at the first occurrence of `marker` in `sql` (or at
    /// `position` if given), whose reason contains `mentions`.
    func assertRefused(_ sql: String, _ code: AnalysisError.Code, at marker: String? = nil,
                       position: (Int, Int)? = nil, mentions: String? = nil,
                       limits: AnalysisLimits = .standard,
                       file: StaticString = #filePath, line: UInt = #line) {
        do {
            let plan = try QueryCompiler.compile(sql, catalog: TestCatalog.catalog, limits: limits)
            XCTFail("accepted, expected \(code): \(plan)", file: file, line: line)
        } catch {
            XCTAssertEqual(error.code, code, "\(error)", file: file, line: line)
            if let expected = position ?? marker.flatMap({ Self.position(of: $0, in: sql) }) {
                XCTAssertEqual(error.location, SourceLocation(line: expected.0, column: expected.1),
                               "\(error)", file: file, line: line)
            }
            if let mentions {
                XCTAssertTrue(error.reason.contains(mentions), "reason '\(error.reason)' lacks '\(mentions)'",
                              file: file, line: line)
            }
        }
    }

    static func position(of marker: String, in sql: String) -> (Int, Int)? {
        guard let range = sql.range(of: marker) else { return nil }
        let before = sql[..<range.lowerBound]
        let line = before.filter { $0 == "\n" }.count + 1
        let lineStart = before.lastIndex(of: "\n").map { sql.index(after: $0) } ?? sql.startIndex
        return (line, sql[lineStart..<range.lowerBound].unicodeScalars.count + 1)
    }
}
