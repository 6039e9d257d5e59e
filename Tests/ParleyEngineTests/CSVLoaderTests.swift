import XCTest
import ParleyAnalysis
@testable import ParleyEngine

final class CSVLoaderTests: XCTestCase {
    static let schema = try! DatasetSchema(
        name: "purchases", provider: "retailer",
        columns: [
            ColumnSchema(name: "email_hash", type: .text),
            ColumnSchema(name: "category", type: .text),
            ColumnSchema(name: "amount", type: .decimal, bounds: ClampBounds(lower: 0, upper: 1_000_000)),
            ColumnSchema(name: "quantity", type: .int),
            ColumnSchema(name: "day", type: .date),
        ],
        privacyUnit: "email_hash")

    func load(_ text: String, limits: CSVLimits = .standard) throws -> Table {
        try CSVLoader.load(Array(text.utf8), schema: Self.schema, limits: limits)
    }

    func assertRejected(_ text: String, row: Int, column: String?, mentions: String, limits: CSVLimits = .standard,
                        file: StaticString = #filePath, line: UInt = #line) {
        assertRejected(Array(text.utf8), row: row, column: column, mentions: mentions, limits: limits, file: file, line: line)
    }

    func assertRejected(_ bytes: [UInt8], row: Int, column: String?, mentions: String, limits: CSVLimits = .standard,
                        file: StaticString = #filePath, line: UInt = #line) {
        do {
            _ = try CSVLoader.load(bytes, schema: Self.schema, limits: limits)
            XCTFail("accepted", file: file, line: line)
        } catch {
            XCTAssertEqual(error.row, row, "\(error)", file: file, line: line)
            XCTAssertEqual(error.column, column, "\(error)", file: file, line: line)
            XCTAssertTrue(error.reason.contains(mentions), "\(error) lacks '\(mentions)'", file: file, line: line)
        }
    }

    static let header = "email_hash,category,amount,quantity,day\n"

    func testLoadsTypedColumnsInHeaderOrder() throws {
        let table = try load("""
            \u{FEFF}day,quantity,amount,category,email_hash\r
            2024-01-31,3,12.5,"soda, diet",a\r
            1970-01-01,-7,-0.0001,"say ""hi""
            there",b\r
            2024-02-29,0,42,soda,a
            """)
        XCTAssertEqual(table.rowCount, 3)
        guard case .text(let category) = table.columns[1], case .numbers(let amount) = table.columns[2],
              case .numbers(let quantity) = table.columns[3], case .numbers(let day) = table.columns[4],
              case .text(let unit) = table.columns[0] else { return XCTFail("wrong column kinds") }
        XCTAssertEqual(category.codes.map { category.dictionary.string($0) }, ["soda, diet", "say \"hi\"\nthere", "soda"])
        XCTAssertEqual(amount, [125_000, -1, 420_000])
        XCTAssertEqual(quantity, [3, -7, 0])
        XCTAssertEqual(day, [19_753, 0, 19_782])
        XCTAssertEqual(unit.codes, [0, 1, 0], "text is dictionary-encoded")
        XCTAssertEqual(unit.dictionary.count, 2)
    }

    func testHeaderOnlyAndTrailingNewlineAndEmptyText() throws {
        XCTAssertEqual(try load(Self.header).rowCount, 0)
        XCTAssertEqual(try load(Self.header + "a,,1,1,2024-01-01\n").rowCount, 1)
        XCTAssertEqual(try load(Self.header + "a,\"\",1,1,2024-01-01").rowCount, 1)
    }

    func testHeaderRefusals() {
        assertRejected("", row: 1, column: nil, mentions: "header row")
        assertRejected("email_hash,category,amount,quantity,day,extra\n", row: 1, column: nil, mentions: "field 6 of the header")
        assertRejected("email_hash,category,amount,quantity\n", row: 1, column: "day", mentions: "lacks")
        assertRejected("email_hash,category,amount,quantity,day,day\n", row: 1, column: "day", mentions: "twice")
        assertRejected("Email_hash,category,amount,quantity,day\n", row: 1, column: nil, mentions: "field 1 of the header")
        assertRejected([0xFF] + Array(",category,amount,quantity,day\n".utf8), row: 1, column: nil, mentions: "UTF-8")
    }

    func testFieldCountRefusals() {
        assertRejected(Self.header + "a,soda,1,1,2024-01-01\na,soda,1,1\n", row: 3, column: "day", mentions: "4 of 5")
        assertRejected(Self.header + "a,soda,1,1,2024-01-01,x\n", row: 2, column: nil, mentions: "more than 5")
        assertRejected(Self.header + "a,soda,1,1,2024-01-01\n\na,soda,1,1,2024-01-01\n", row: 3, column: "category",
                       mentions: "1 of 5")
    }

    func testValueRefusalsNameRowAndColumn() {
        let cases: [(String, String, String)] = [
            ("a,soda,1,x,2024-01-01", "quantity", "whole number"),
            ("a,soda,1,,2024-01-01", "quantity", "whole number"),
            ("a,soda,1, 1,2024-01-01", "quantity", "whole number"),
            ("a,soda,1,9223372036854775808,2024-01-01", "quantity", "whole number"),
            ("a,soda,1.23456,1,2024-01-01", "amount", "at most 4 digits"),
            ("a,soda,1e3,1,2024-01-01", "amount", "decimal"),
            ("a,soda,,1,2024-01-01", "amount", "decimal"),
            ("a,soda,1,1,2023-02-29", "day", "YYYY-MM-DD"),
            ("a,soda,1,1,01/02/2024", "day", "YYYY-MM-DD"),
        ]
        for (row, column, mentions) in cases {
            assertRejected(Self.header + "b,juice,2,2,2024-01-02\n" + row + "\n", row: 3, column: column, mentions: mentions)
            // The refusal names the row, the column and the type expected; never the value.
            let value = row.split(separator: ",", omittingEmptySubsequences: false).map(String.init).first { !["a", "soda", "1", "2024-01-01", ""].contains($0) }
            guard let value, value.count >= 3 else { continue }
            do {
                _ = try CSVLoader.load(Array((Self.header + row + "\n").utf8), schema: Self.schema)
                XCTFail("\(row) was accepted")
            } catch {
                XCTAssertFalse(error.description.contains(value), "\(error) quotes the value \(value)")
            }
        }
    }

    func testMalformedCSVRefusals() {
        assertRejected(Self.header + "a,\"soda,1,1,2024-01-01\n", row: 2, column: "category", mentions: "never closed")
        assertRejected(Self.header + "a,\"soda\"x,1,1,2024-01-01\n", row: 2, column: "category", mentions: "closing quote")
        assertRejected(Self.header + "a,so\"da,1,1,2024-01-01\n", row: 2, column: "category", mentions: "double quote")
        assertRejected(Self.header + "a,soda\r,1,1,2024-01-01\n", row: 2, column: "category", mentions: "carriage return")
        assertRejected(Array((Self.header + "a,").utf8) + [0xC3, 0x28] + Array(",1,1,2024-01-01\n".utf8),
                       row: 2, column: "category", mentions: "UTF-8")
    }

    func testLimits() {
        let limits = CSVLimits(maxBytes: 200, maxRows: 2, maxFieldBytes: 10)
        let row = "a,soda,1,1,2024-01-01\n"
        assertRejected(Self.header + row + row + row, row: 4, column: nil, mentions: "more than 2 data rows", limits: limits)
        assertRejected(Self.header + "a,carbonated_x,1,1,2024-01-01\n", row: 2, column: "category", mentions: "limit of 10",
                       limits: limits)
        assertRejected(Self.header + String(repeating: row, count: 10), row: 0, column: nil, mentions: "limit is 200",
                       limits: limits)
        XCTAssertNoThrow(try load(Self.header + row + row, limits: limits))
    }

    func testUnionConcatenationRemapsDictionaries() throws {
        let a = try load(Self.header + "a,soda,1,1,2024-01-01\nb,juice,2,2,2024-01-01\n")
        let b = try load("day,quantity,amount,category,email_hash\n2024-01-02,5,3,juice,c\n")
        let both = try Table.concatenating([a, b])
        XCTAssertEqual(both.rowCount, 3)
        guard case .text(let category) = both.columns[1], case .numbers(let quantity) = both.columns[3] else {
            return XCTFail("kinds")
        }
        XCTAssertEqual(category.codes.map { category.dictionary.string($0) }, ["soda", "juice", "juice"])
        XCTAssertEqual(quantity, [1, 2, 5])
    }

    func testSipHashReferenceVectors() throws {
        // From the SipHash paper's reference implementation (vectors.h): key 00..0f.
        var empty = SipHasher(k0: 0x0706_0504_0302_0100, k1: 0x0f0e_0d0c_0b0a_0908)
        XCTAssertEqual(empty.finalize(), 0x726f_db47_dd0e_0e31)
        var fifteen = SipHasher(k0: 0x0706_0504_0302_0100, k1: 0x0f0e_0d0c_0b0a_0908)
        for byte in UInt8(0)..<15 { fifteen.combine(byte) }
        XCTAssertEqual(fifteen.finalize(), 0xa129_ca61_49be_45e5)
        // A bounding key absorbs its last 16 bytes as a message prefix.
        let key = try BoundingKey(Array(0..<16) + Array(0..<16))
        var prefixed = SipHasher(key: key)
        var manual = SipHasher(k0: 0x0706_0504_0302_0100, k1: 0x0f0e_0d0c_0b0a_0908)
        for byte in UInt8(0)..<16 { manual.combine(byte) }
        XCTAssertEqual(prefixed.finalize(), manual.finalize())
        XCTAssertThrowsError(try BoundingKey([1, 2, 3]))
    }
}
