import XCTest
import ParleyAnalysis
@testable import ParleyEngine

/// Identifier columns: the normalisation rules, the loader's report of unusable fields, and a
/// party that uploads raw emails matching one that uploads SHA-256 of the normalised form.
///
/// The expected digests were computed outside Swift, with coreutils:
/// `printf %s 'janedoe@gmail.com' | sha256sum` and so on (values in ``Vectors``).
final class IdentifierColumnTests: XCTestCase {
    enum Vectors {
        /// `printf %s 'janedoe@gmail.com' | sha256sum`
        static let janeGmail = "d6117306485ed0e50afab3ac871e98f81699151f30281527d63ff5f233656c69"
        /// `printf %s 'john.smith@example.com' | sha256sum`
        static let johnExample = "8e621e3d0368631d263d07a351fa8d34fba0d17c15fbcdec11a5f58008d022a0"
        /// `printf %s '+14155550123' | sha256sum`
        static let usPhone = "36a2cef4ff9bf7a1abd2a93359136b870393be4106e6c5d19b72ff564f9deca4"
        /// `printf %s '+447700900123' | sha256sum`
        static let gbPhone = "a8acc3a90a7b4e4dc65e93db9240ed26523050ef754d63b75b5161de76781436"
    }

    func email(_ text: String) -> Result<String, IdentifierNormalization.Problem> {
        IdentifierNormalization.email(Array(text.utf8)).map { String(decoding: $0, as: UTF8.self) }
    }

    func phone(_ text: String, _ country: String) -> Result<String, IdentifierNormalization.Problem> {
        IdentifierNormalization.phone(Array(text.utf8), country: PhoneCountry(code: country)!).map { String(decoding: $0, as: UTF8.self) }
    }

    func testEmailsAreTrimmedLowerCasedAndGmailDotsRemoved() {
        XCTAssertEqual(email("  John.Smith@Example.COM \t"), .success("john.smith@example.com"))
        XCTAssertEqual(email("Jane.Doe@gmail.com"), .success("janedoe@gmail.com"))
        XCTAssertEqual(email("j.a.n.e.doe@GoogleMail.com"), .success("janedoe@googlemail.com"))
        // Plus tags are kept: the convention parties pre-hash with does not strip them.
        XCTAssertEqual(email("jane+news@example.com"), .success("jane+news@example.com"))
        // Dots are only removed for Gmail.
        XCTAssertEqual(email("j.doe@example.com"), .success("j.doe@example.com"))
    }

    func testUnusableEmailsSayWhy() {
        XCTAssertEqual(email("   "), .failure(.empty))
        XCTAssertEqual(email(""), .failure(.empty))
        for bad in ["no-at-sign.example.com", "two@@example.com", "a@b@example.com", "@example.com", "jane@", "jane@localhost",
                    "jane doe@example.com", "jane@example..com", "jane@-example.com", "...@gmail.com",
                    String(repeating: "a", count: 65) + "@example.com", "jane@" + String(repeating: "a", count: 400) + ".com"] {
            XCTAssertEqual(email(bad), .failure(.notAnEmail), bad)
        }
    }

    func testPhonesBecomeE164WithTheDefaultCountry() {
        XCTAssertEqual(phone("(415) 555-0123", "US"), .success("+14155550123"))
        XCTAssertEqual(phone("1-415-555-0123", "US"), .success("+14155550123"))
        XCTAssertEqual(phone("+1 415 555 0123", "GB"), .success("+14155550123"))
        XCTAssertEqual(phone("011 44 7700 900123", "US"), .success("+447700900123"))
        XCTAssertEqual(phone("07700 900123", "GB"), .success("+447700900123"))
        XCTAssertEqual(phone("7700 900123", "GB"), .success("+447700900123"))
        XCTAssertEqual(phone("0044 7700 900123", "FR"), .success("+447700900123"))
        // Italy keeps the leading 0 of a landline in E.164; Spain has no trunk prefix.
        XCTAssertEqual(phone("06 1234 5678", "IT"), .success("+390612345678"))
        XCTAssertEqual(phone("612 345 678", "ES"), .success("+34612345678"))
    }

    func testUnusablePhonesSayWhy() {
        XCTAssertEqual(phone(" ", "US"), .failure(.empty))
        for (bad, country) in [("415-555-0123 ext 2", "US"), ("555-0123", "US"), ("+0 123 456 789", "US"), ("12", "GB"),
                               ("+1234567890123456", "US"), ("41+5555", "US"), ("00", "GB")] {
            XCTAssertEqual(phone(bad, country), .failure(.notAPhoneNumber), bad)
        }
        XCTAssertNil(PhoneCountry(code: "XX"))
        XCTAssertEqual(PhoneCountry(code: "gb")?.callingCode, "44")
    }

    func testHashedIdentifiersAreCheckedAndLowerCased() {
        XCTAssertEqual(IdentifierNormalization.sha256Hex(Array(Vectors.janeGmail.uppercased().utf8)).map { String(decoding: $0, as: UTF8.self) },
                       .success(Vectors.janeGmail))
        XCTAssertEqual(IdentifierNormalization.sha256Hex(Array("abc".utf8)), .failure(.notSHA256Hex))
        XCTAssertEqual(IdentifierNormalization.sha256Hex(Array(String(repeating: "g", count: 64).utf8)), .failure(.notSHA256Hex))
        XCTAssertEqual(IdentifierNormalization.sha256Hex(Array("".utf8)), .failure(.empty))
    }

    // MARK: loading

    static let customers = try! DatasetSchema(
        name: "customers", provider: "retailer",
        columns: [ColumnSchema(name: "email", type: .email), ColumnSchema(name: "phone", type: .phone),
                  ColumnSchema(name: "segment", type: .text)],
        privacyUnit: "email", phoneCountry: PhoneCountry(code: "US"))

    func texts(_ table: Table, _ column: Int) -> [String] {
        guard case .text(let c) = table.columns[column] else { return [] }
        return c.codes.map { code in c.dictionary.withBytes(code) { String(decoding: $0, as: UTF8.self) } }
    }

    func testLoaderStoresTheHashOfTheNormalisedValue() throws {
        let (table, report) = try CSVLoader.loadReporting(Array("""
            email,phone,segment
            Jane.Doe@gmail.com,(415) 555-0123,a
            john.smith@EXAMPLE.com,+44 7700 900123,b
            """.utf8), schema: Self.customers)
        XCTAssertTrue(report.isClean)
        XCTAssertEqual(texts(table, 0), [Vectors.janeGmail, Vectors.johnExample])
        XCTAssertEqual(texts(table, 1), [Vectors.usPhone, Vectors.gbPhone])
        XCTAssertEqual(texts(table, 2), ["a", "b"])
    }

    func testUnusableIdentifiersAreCountedByRowAndReasonAndNeverKept() throws {
        let (table, report) = try CSVLoader.loadReporting(Array("""
            email,phone,segment
            jane.doe@gmail.com,415 555 0123,a
            not an email,415 555 0123,b
            john.smith@example.com,call me,c
            ,,d
            john.smith@example.com,,e
            """.utf8), schema: Self.customers)
        // Rows 3 and 5 have no usable email (the person's only identifier here): left out.
        // Rows 4 and 6 have a usable email and an unusable phone: kept, the phone never matches.
        XCTAssertEqual(report.unusableRows, 4)
        XCTAssertEqual(report.droppedRows, 2)
        XCTAssertEqual(report.rowNumbers, [3, 4, 5, 6])
        XCTAssertEqual(report.problems["email"], [.notAnEmail: 1, .empty: 1])
        XCTAssertEqual(report.problems["phone"], [.notAPhoneNumber: 1, .empty: 2])
        XCTAssertEqual(table.rowCount, 3)
        XCTAssertEqual(texts(table, 2), ["a", "c", "e"])
        XCTAssertEqual(texts(table, 1), [Vectors.usPhone, "", ""])
        // The report never carries a field's contents.
        XCTAssertFalse("\(report)".contains("call me"))
        XCTAssertFalse("\(report)".contains("not an email"))
    }

    func testReportListsAtMostTheCapOfRowsButCountsThemAll() throws {
        var csv = "email,phone,segment\n"
        for _ in 0 ..< IdentifierReport.maxListedRows + 5 { csv += "nope,,x\n" }
        csv += "a@example.com,,y\n"
        let (table, report) = try CSVLoader.loadReporting(Array(csv.utf8), schema: Self.customers)
        XCTAssertEqual(report.unusableRows, IdentifierReport.maxListedRows + 6)
        XCTAssertEqual(report.rowNumbers.count, IdentifierReport.maxListedRows)
        XCTAssertEqual(report.rowNumbers.first, 2)
        XCTAssertEqual(table.rowCount, 1)
    }

    func testAPhoneColumnNeedsADefaultCountry() {
        XCTAssertThrowsError(try DatasetSchema(name: "c", provider: "p", columns: [ColumnSchema(name: "phone", type: .phone)],
                                               privacyUnit: "phone")) { error in
            XCTAssertTrue("\(error)".contains("phone_country"), "\(error)")
        }
    }

    // MARK: matching

    static let brand = try! DatasetSchema(
        name: "exposures", provider: "brand",
        columns: [ColumnSchema(name: "email", type: .email), ColumnSchema(name: "campaign", type: .text)], privacyUnit: "email")
    static let retailer = try! DatasetSchema(
        name: "purchases", provider: "retailer",
        columns: [ColumnSchema(name: "email_sha256", type: .sha256Email),
                  ColumnSchema(name: "amount", type: .int, bounds: ClampBounds(lower: 0, upper: 100))],
        privacyUnit: "email_sha256")

    func testRawEmailsMatchPreHashedOnes() throws {
        let exposures = try CSVLoader.load(Array("""
            email,campaign
            Jane.Doe@gmail.com,spring
            john.smith@example.com,spring
            nobody@example.com,summer
            """.utf8), schema: Self.brand)
        let purchases = try CSVLoader.load(Array("""
            email_sha256,amount
            \(Vectors.janeGmail.uppercased()),10
            \(Vectors.johnExample),30
            \(String(repeating: "0", count: 64)),50
            """.utf8), schema: Self.retailer)
        let engine = QueryEngine(datasets: ["exposures": exposures, "purchases": purchases])
        let catalog = try DatasetCatalog([Self.brand, Self.retailer])
        let plan = try QueryCompiler.compile("""
            SELECT e.campaign, COUNT(DISTINCT e.email) AS buyers, SUM(p.amount) AS revenue
            FROM exposures e JOIN purchases p ON e.email = p.email_sha256 GROUP BY e.campaign
            """, catalog: catalog)
        let result = try engine.run(plan, bounds: ContributionBounds(maxGroupsPerUnit: 10, maxRowsPerUnit: 10),
                                    key: try BoundingKey(Array(repeating: 7, count: 32)))
        XCTAssertEqual(result.groups, [AggregatedGroup(key: [.text("spring")], distinctUnits: 2, totals: [.count(2), .sum(40)])])
    }

    // MARK: several identifiers

    static func people(_ name: String) -> DatasetSchema {
        try! DatasetSchema(name: name, provider: name,
                           columns: [ColumnSchema(name: "email", type: .email), ColumnSchema(name: "phone", type: .phone),
                                     ColumnSchema(name: "tag", type: .text)],
                           privacyUnit: "email", alsoIdentifiedBy: ["phone"], phoneCountry: PhoneCountry(code: "US"))
    }

    func countPeople(_ sql: String, _ data: [String: String]) throws -> [AggregatedGroup] {
        let schemas = data.keys.sorted().map(Self.people)
        var tables: [String: Table] = [:]
        for schema in schemas { tables[schema.name] = try CSVLoader.load(Array(data[schema.name]!.utf8), schema: schema) }
        let plan = try QueryCompiler.compile(sql, catalog: try DatasetCatalog(schemas))
        return try QueryEngine(datasets: tables).run(plan, bounds: ContributionBounds(maxGroupsPerUnit: 10, maxRowsPerUnit: 10),
                                                    key: try BoundingKey(Array(repeating: 7, count: 32))).groups
    }

    func testALaterIdentifierPlacesRowsButNeverMergesPeople() throws {
        let data = [
            // Two people share a household landline; a third has their own number.
            "lefts": """
                email,phone,tag
                one@example.com,(212) 555-0100,x
                two@example.com,212 555 0100,x
                three@example.com,212-555-0199,x
                """,
            // Rows without an email: the landline's is ambiguous (two people own it), the other
            // number belongs to one person only.
            "rights": """
                email,phone,tag
                ,+1 212 555 0100,y
                ,2125550199,y
                TWO@example.com,,y
                """,
        ]
        let joined = "SELECT COUNT(DISTINCT l.email) AS n FROM lefts l JOIN rights r ON l.email = r.email OR l.phone = r.phone"
        // three (by phone) and two (by email); the landline row is a person of its own, who is
        // not in `lefts`: one@ and two@ are not merged by it.
        XCTAssertEqual(try countPeople(joined, data).first?.totals, [.count(2)])
        // Reading the other side first resolves the same people.
        let reversed = "SELECT COUNT(DISTINCT r.email) AS n FROM rights r JOIN lefts l ON r.email = l.email OR r.phone = l.phone"
        XCTAssertEqual(try countPeople(reversed, data).first?.totals, [.count(2)])
        // Alone, `rights` has three people (two phones, one email), `lefts` three.
        XCTAssertEqual(try countPeople("SELECT COUNT(DISTINCT r.email) AS n FROM rights r", data).first?.totals, [.count(3)])
        XCTAssertEqual(try countPeople("SELECT COUNT(DISTINCT l.email) AS n FROM lefts l", data).first?.totals, [.count(3)])
    }

    func testOnePersonAcrossIdentifiersIsCountedOnce() throws {
        let data = [
            "lefts": "email,phone,tag\njane@example.com,212 555 0142,x\n",
            // The same person twice: once by email, once by phone only.
            "rights": "email,phone,tag\njane@example.com,,y\n,212-555-0142,z\n",
        ]
        let groups = try countPeople("""
            SELECT r.tag, COUNT(DISTINCT l.email) AS n, COUNT(*) AS rows FROM lefts l
            JOIN rights r ON l.email = r.email OR l.phone = r.phone GROUP BY r.tag
            """, data)
        XCTAssertEqual(groups, [AggregatedGroup(key: [.text("y")], distinctUnits: 1, totals: [.count(1), .count(1)]),
                                AggregatedGroup(key: [.text("z")], distinctUnits: 1, totals: [.count(1), .count(1)])])
    }
}
