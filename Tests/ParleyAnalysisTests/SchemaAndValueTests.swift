import XCTest
@testable import ParleyAnalysis

/// Dataset declarations and the literal value types.
final class SchemaAndValueTests: XCTestCase {
    private func refusedSchema(_ columns: [ColumnSchema], unit: String = "id", name: String = "d",
                               mentions: String, file: StaticString = #filePath, line: UInt = #line) {
        do {
            _ = try DatasetSchema(name: name, provider: "p", columns: columns, privacyUnit: unit)
            XCTFail("accepted", file: file, line: line)
        } catch {
            XCTAssertTrue(error.reason.contains(mentions), error.reason, file: file, line: line)
        }
    }

    func testSchemaRefusals() {
        let id = ColumnSchema(name: "id", type: .text)
        refusedSchema([id], name: "select", mentions: "plain identifier")
        refusedSchema([id], name: "my-data", mentions: "plain identifier")
        refusedSchema([], mentions: "no columns")
        refusedSchema([id, ColumnSchema(name: "2x", type: .int)], mentions: "'2x'")
        refusedSchema([id, id], mentions: "declared twice")
        refusedSchema([id, ColumnSchema(name: "t", type: .text, bounds: ClampBounds(lower: 0, upper: 1))], mentions: "only apply")
        refusedSchema([id, ColumnSchema(name: "n", type: .int, bounds: ClampBounds(lower: 5, upper: 1))], mentions: "swap")
        refusedSchema([id], unit: "who", mentions: "not one of its columns")
        refusedSchema([ColumnSchema(name: "id", type: .date)], mentions: "text, int or an identifier type")
        refusedSchema([ColumnSchema(name: "id", type: .int, bounds: ClampBounds(lower: 0, upper: 1))], mentions: "cannot have clamping bounds")
    }

    func testCatalogRefusesDuplicateDatasets() throws {
        let schema = try DatasetSchema(name: "d", provider: "p", columns: [ColumnSchema(name: "id", type: .text)], privacyUnit: "id")
        XCTAssertThrowsError(try DatasetCatalog([schema, schema]))
        XCTAssertEqual(try DatasetCatalog([schema])["d"], schema)
        XCTAssertEqual(schema.privacyUnitIndex, 0)
    }

    func testDecimalParsingAndFormatting() {
        XCTAssertEqual(DecimalValue(parsing: "12.5")?.scaled, 125_000)
        XCTAssertEqual(DecimalValue(parsing: "-0.0001")?.scaled, -1)
        XCTAssertEqual(DecimalValue(parsing: "+7")?.scaled, 70_000)
        XCTAssertEqual(DecimalValue(parsing: "922337203685477.5807")?.scaled, Int64.max)
        XCTAssertEqual(DecimalValue(parsing: ".5")?.scaled, 5_000)
        for bad in ["", "-", "5.", "1.23456", "1e3", " 1", "1,5", "922337203685477.5808", "1.2.3", "abc"] {
            XCTAssertNil(DecimalValue(parsing: bad), bad)
        }
        XCTAssertEqual(DecimalValue(scaled: -125_000).description, "-12.5000")
        XCTAssertEqual(DecimalValue(scaled: 5).description, "0.0005")
        XCTAssertNil(DecimalValue(integer: Int64.max))
    }

    func testDateParsingAndFormatting() {
        XCTAssertEqual(DateValue(parsing: "1970-01-01")?.daysSinceEpoch, 0)
        XCTAssertEqual(DateValue(parsing: "2000-03-01")?.daysSinceEpoch, 11_017)
        XCTAssertEqual(DateValue(parsing: "1969-12-31")?.daysSinceEpoch, -1)
        XCTAssertEqual(DateValue(parsing: "2024-02-29")?.description, "2024-02-29")
        XCTAssertEqual(DateValue(parsing: "0001-01-01")?.description, "0001-01-01")
        XCTAssertEqual(DateValue(parsing: "9999-12-31")?.description, "9999-12-31")
        for bad in ["2023-02-29", "1900-02-29", "2024-13-01", "2024-00-10", "2024-04-31", "0000-01-01",
                    "2024-1-01", "2024/01/01", "20240101", "2024-01-01 ", "２０２４-01-01"] {
            XCTAssertNil(DateValue(parsing: bad), bad)
        }
        // Round trip across a wide range.
        for day in stride(from: Int64(-700_000), through: 2_900_000, by: 997) {
            let date = DateValue(daysSinceEpoch: day)
            XCTAssertEqual(DateValue(parsing: date.description), date)
        }
    }

    func testScalarDescriptions() {
        XCTAssertEqual(ScalarValue.text("it's").description, "'it''s'")
        XCTAssertEqual(ScalarValue.date(DateValue(daysSinceEpoch: 0)).description, "DATE '1970-01-01'")
        XCTAssertEqual(ScalarValue.int(-3).type, .int)
    }
}
