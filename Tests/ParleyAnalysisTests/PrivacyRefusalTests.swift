import XCTest
@testable import ParleyAnalysis

/// The privacy rules: a privacy-unit column may only be joined on and counted distinctly.
final class PrivacyRefusalTests: XCTestCase {
    func testSelectingThePrivacyUnitIsRefused() {
        assertRefused("SELECT e.email_hash, COUNT(*) FROM exposures e GROUP BY e.campaign",
                      .privacyUnitExposed, at: "e.email_hash", mentions: "privacy unit")
        assertRefused("SELECT email_hash AS who, COUNT(*) FROM purchases",
                      .privacyUnitExposed, at: "email_hash", mentions: "COUNT(DISTINCT purchases.email_hash)")
    }

    func testSelectingTheUnitOfAUnionIsRefused() {
        assertRefused("""
            SELECT r.patient_id, COUNT(*)
            FROM (SELECT * FROM hospital_a UNION ALL SELECT * FROM hospital_b) AS r GROUP BY r.diagnosis
            """, .privacyUnitExposed, position: (1, 8))
    }

    func testGroupingByThePrivacyUnitIsRefused() {
        assertRefused("SELECT COUNT(*) FROM purchases p GROUP BY p.category, p.email_hash",
                      .privacyUnitExposed, at: "p.email_hash", mentions: "one group per person")
    }

    func testGroupingByTheJoinedUnitIsRefused() {
        assertRefused("""
            SELECT COUNT(*) FROM exposures e JOIN purchases p ON e.email_hash = p.email_hash
            GROUP BY p.email_hash
            """, .privacyUnitExposed, position: (2, 10))
    }

    func testFilteringOnThePrivacyUnitIsRefused() {
        assertRefused("SELECT COUNT(*) FROM purchases WHERE email_hash = 'abc'",
                      .privacyUnitExposed, at: "email_hash =", mentions: "singles them out")
        assertRefused("SELECT COUNT(*) FROM purchases WHERE category = 'x' OR 'abc' = email_hash",
                      .privacyUnitExposed, at: "email_hash", mentions: "singles")
        assertRefused("SELECT COUNT(*) FROM purchases WHERE email_hash IN ('a', 'b')",
                      .privacyUnitExposed, at: "email_hash IN")
        assertRefused("SELECT COUNT(*) FROM purchases WHERE NOT email_hash BETWEEN 'a' AND 'b'",
                      .privacyUnitExposed, at: "email_hash BETWEEN")
        assertRefused("SELECT COUNT(*) FROM members WHERE member_id > 10",
                      .privacyUnitExposed, at: "member_id >")
    }

    func testFilteringByComparingTwoUnitsInWhereIsRefused() {
        assertRefused("""
            SELECT COUNT(*) FROM exposures e JOIN purchases p ON e.email_hash = p.email_hash
            WHERE e.email_hash = p.email_hash
            """, .privacyUnitExposed, position: (2, 7))
    }

    func testAggregatingThePrivacyUnitIsRefused() {
        assertRefused("SELECT SUM(member_id) FROM members", .privacyUnitExposed, at: "member_id", mentions: "SUM")
        assertRefused("SELECT AVG(m.member_id) FROM members m", .privacyUnitExposed, at: "m.member_id", mentions: "AVG")
    }

    func testCountDistinctOfANonUnitColumnIsRefused() {
        assertRefused("SELECT COUNT(DISTINCT sku) FROM purchases", .invalidAggregation, at: "sku",
                      mentions: "COUNT(DISTINCT purchases.email_hash)")
    }

    func testJoinsMustBeOnPrivacyUnits() {
        assertRefused("SELECT COUNT(*) FROM exposures e JOIN purchases p ON e.campaign = p.sku",
                      .invalidJoin, at: "e.campaign", mentions: "e.email_hash")
        assertRefused("SELECT COUNT(*) FROM exposures e JOIN purchases p ON e.email_hash = p.sku",
                      .invalidJoin, at: "p.sku", mentions: "p.email_hash")
        assertRefused("SELECT COUNT(*) FROM exposures e JOIN purchases p ON e.email_hash < p.email_hash",
                      .invalidJoin, at: "<")
        assertRefused("SELECT COUNT(*) FROM exposures e JOIN purchases p ON e.email_hash = 'x'",
                      .invalidJoin, at: "'x'")
        assertRefused("SELECT COUNT(*) FROM exposures e JOIN purchases p ON e.email_hash = p.email_hash AND p.sku = 'a'",
                      .invalidJoin, at: "AND", mentions: "WHERE")
        assertRefused("SELECT COUNT(*) FROM exposures e JOIN purchases p ON LOWER(e.email_hash) = p.email_hash",
                      .invalidJoin, at: "LOWER")
    }

    func testJoinMustInvolveTheJoinedSource() {
        assertRefused("""
            SELECT COUNT(*) FROM exposures e JOIN purchases p ON e.email_hash = p.email_hash
            JOIN hospital_a h ON e.email_hash = p.email_hash
            """, .invalidJoin, position: (2, 22), mentions: "'h'")
    }

    func testJoiningUnitsOfDifferentTypesIsRefused() {
        assertRefused("SELECT COUNT(*) FROM members m JOIN purchases p ON m.member_id = p.email_hash",
                      .typeMismatch, at: "m.member_id", mentions: "same type")
    }

    func testSumWithoutBoundsIsRefused() {
        assertRefused("SELECT SUM(quantity) FROM purchases", .missingBounds, at: "quantity",
                      mentions: "dataset 'purchases'")
        assertRefused("SELECT category, AVG(p.quantity) FROM purchases p GROUP BY category", .missingBounds,
                      at: "p.quantity")
    }

    func testSumOfTextOrDateIsRefused() {
        assertRefused("SELECT SUM(category) FROM purchases", .typeMismatch, at: "category", mentions: "text")
        assertRefused("SELECT AVG(purchased_on) FROM purchases", .typeMismatch, at: "purchased_on", mentions: "date")
    }

    func testSelectStarIsRefused() {
        assertRefused("SELECT * FROM purchases", .unsupported, at: "*")
        assertRefused("SELECT p.* FROM purchases p", .unsupported, at: "p.*")
    }

    func testAtLeastOneAggregateIsRequired() {
        assertRefused("SELECT category FROM purchases GROUP BY category", .invalidAggregation, at: "category",
                      mentions: "no aggregate")
    }

    func testNonGroupedColumnIsRefused() {
        assertRefused("SELECT category, sku, COUNT(*) FROM purchases GROUP BY category",
                      .invalidAggregation, at: "sku", mentions: "GROUP BY")
        assertRefused("SELECT category, COUNT(*) FROM purchases", .invalidAggregation, at: "category")
    }
}
