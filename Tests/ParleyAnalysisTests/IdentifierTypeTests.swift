import XCTest
@testable import ParleyAnalysis

/// Identifier column types: which columns may be matched with which, and that an identifier is
/// never selected, grouped by, filtered on or aggregated, privacy unit or not.
final class IdentifierTypeTests: XCTestCase {
    static let us = PhoneCountry(code: "US")
    static let catalog = try! DatasetCatalog([
        try! DatasetSchema(name: "exposures", provider: "brand",
                           columns: [ColumnSchema(name: "email", type: .email), ColumnSchema(name: "phone", type: .phone),
                                     ColumnSchema(name: "campaign", type: .text)],
                           privacyUnit: "email", phoneCountry: us),
        try! DatasetSchema(name: "purchases", provider: "retailer",
                           columns: [ColumnSchema(name: "email_sha256", type: .sha256Email),
                                     ColumnSchema(name: "amount", type: .int, bounds: ClampBounds(lower: 0, upper: 10))],
                           privacyUnit: "email_sha256"),
        try! DatasetSchema(name: "calls", provider: "telco",
                           columns: [ColumnSchema(name: "phone", type: .sha256Phone), ColumnSchema(name: "minutes", type: .int)],
                           privacyUnit: "phone"),
        try! DatasetSchema(name: "plain", provider: "other",
                           columns: [ColumnSchema(name: "email_hash", type: .text), ColumnSchema(name: "n", type: .int)],
                           privacyUnit: "email_hash"),
    ])

    func refusal(_ sql: String) -> AnalysisError? {
        do {
            _ = try QueryCompiler.compile(sql, catalog: Self.catalog)
            return nil
        } catch {
            return error
        }
    }

    func testRawAndHashedIdentifiersOfOneKindMatch() throws {
        let plan = try QueryCompiler.compile("""
            SELECT e.campaign, COUNT(DISTINCT e.email) AS n FROM exposures e JOIN purchases p ON e.email = p.email_sha256
            GROUP BY e.campaign
            """, catalog: Self.catalog)
        XCTAssertEqual(plan.privacyUnitType, .email)
        XCTAssertEqual(plan.joins.first?.joined.type, .sha256Email)
    }

    func testIdentifiersOfDifferentKindsOrPlainTextDoNotMatch() {
        let phoneWithEmail = refusal("SELECT COUNT(*) FROM purchases p JOIN calls c ON p.email_sha256 = c.phone")
        XCTAssertEqual(phoneWithEmail?.code, .typeMismatch)
        XCTAssertTrue(phoneWithEmail?.reason.contains("identifiers of one kind") ?? false, "\(String(describing: phoneWithEmail))")
        // A text column of hashes is not an identifier: nobody said how it was normalised.
        XCTAssertEqual(refusal("SELECT COUNT(*) FROM exposures e JOIN plain x ON e.email = x.email_hash")?.code, .typeMismatch)
    }

    func testAnIdentifierThatIsNotTheUnitIsStillNeverExposed() {
        for (sql, mentions) in [
            ("SELECT e.phone, COUNT(*) FROM exposures e GROUP BY e.phone", "the phone identifier e.phone"),
            ("SELECT COUNT(*) FROM exposures e WHERE e.phone = 'x'", "the phone identifier"),
            ("SELECT e.campaign, COUNT(*) FROM exposures e GROUP BY e.campaign, e.phone", "one group per person"),
        ] {
            let error = refusal(sql)
            XCTAssertEqual(error?.code, .privacyUnitExposed, sql)
            XCTAssertTrue(error?.reason.contains(mentions) ?? false, "\(String(describing: error))")
        }
        XCTAssertEqual(refusal("SELECT COUNT(DISTINCT e.phone) FROM exposures e")?.code, .invalidAggregation)
    }

    func testSchemaRulesForIdentifiers() {
        // Identifiers are never clamped or summed: bounds only sit on numbers.
        XCTAssertThrowsError(try DatasetSchema(name: "d", provider: "p",
                                               columns: [ColumnSchema(name: "e", type: .email, bounds: ClampBounds(lower: 0, upper: 1))],
                                               privacyUnit: "e"))
        // Several identifiers of a person must all be identifier columns, each listed once.
        XCTAssertThrowsError(try DatasetSchema(name: "d", provider: "p",
                                               columns: [ColumnSchema(name: "e", type: .email), ColumnSchema(name: "t", type: .text)],
                                               privacyUnit: "e", alsoIdentifiedBy: ["t"])) { error in
            XCTAssertTrue("\(error)".contains("only identifier types"), "\(error)")
        }
        XCTAssertThrowsError(try DatasetSchema(name: "d", provider: "p",
                                               columns: [ColumnSchema(name: "e", type: .email), ColumnSchema(name: "h", type: .sha256Phone)],
                                               privacyUnit: "e", alsoIdentifiedBy: ["h", "h"])) { error in
            XCTAssertTrue("\(error)".contains("listed twice"), "\(error)")
        }
        XCTAssertThrowsError(try DatasetSchema(name: "d", provider: "p",
                                               columns: [ColumnSchema(name: "t", type: .text), ColumnSchema(name: "h", type: .sha256Phone)],
                                               privacyUnit: "t", alsoIdentifiedBy: ["h"])) { error in
            XCTAssertTrue("\(error)".contains("needs identifier columns"), "\(error)")
        }
    }

    static let several = try! DatasetCatalog([
        try! DatasetSchema(name: "a", provider: "a",
                           columns: [ColumnSchema(name: "email", type: .email), ColumnSchema(name: "phone", type: .phone),
                                     ColumnSchema(name: "tag", type: .text)],
                           privacyUnit: "email", alsoIdentifiedBy: ["phone"], phoneCountry: us),
        try! DatasetSchema(name: "b", provider: "b",
                           columns: [ColumnSchema(name: "e", type: .sha256Email), ColumnSchema(name: "p", type: .sha256Phone)],
                           privacyUnit: "e", alsoIdentifiedBy: ["p"]),
        try! DatasetSchema(name: "c", provider: "c",
                           columns: [ColumnSchema(name: "p", type: .sha256Phone), ColumnSchema(name: "e", type: .sha256Email)],
                           privacyUnit: "p", alsoIdentifiedBy: ["e"]),
        try! DatasetSchema(name: "d", provider: "d", columns: [ColumnSchema(name: "e", type: .sha256Email)], privacyUnit: "e"),
    ])

    func severalRefusal(_ sql: String) -> AnalysisError? {
        do {
            _ = try QueryCompiler.compile(sql, catalog: Self.several)
            return nil
        } catch {
            return error
        }
    }

    func testAJoinOnSeveralIdentifiersListsThemAllInOrder() throws {
        let plan = try QueryCompiler.compile("SELECT COUNT(DISTINCT a.email) AS n FROM a JOIN b ON a.email = b.e OR b.p = a.phone",
                                             catalog: Self.several)
        XCTAssertEqual(plan.joins[0].matches.map(\.description), ["a.email = b.e", "a.phone = b.p"])
        for (sql, mentions) in [
            ("SELECT COUNT(*) FROM a JOIN b ON a.email = b.e", "write ON a.email = b.e OR a.phone = b.p"),
            ("SELECT COUNT(*) FROM a JOIN b ON a.email = b.e OR a.tag = b.p", "must use identifier 2"),
            ("SELECT COUNT(*) FROM a JOIN b ON a.phone = b.p OR a.email = b.e", "privacy-unit columns"),
            ("SELECT COUNT(*) FROM a JOIN c ON a.email = c.p", "cannot join"),
            ("SELECT COUNT(*) FROM a JOIN d ON a.email = d.e", "same kinds in the same order"),
            ("SELECT COUNT(*) FROM a JOIN b ON a.email = b.e AND a.phone = b.p", "joined by OR"),
        ] {
            let error = severalRefusal(sql)
            XCTAssertNotNil(error, sql)
            XCTAssertTrue(error?.reason.contains(mentions) ?? false, "\(sql): \(String(describing: error))")
        }
    }
}
