import XCTest
@testable import ParleyAnalysis

/// Unknown, ambiguous and duplicate names; type mismatches; union schema mismatches.
final class NameAndTypeRefusalTests: XCTestCase {
    func testUnknownDataset() {
        assertRefused("SELECT COUNT(*) FROM sales", .unknownName, at: "sales", mentions: "exposures, hospital_a")
        assertRefused("SELECT COUNT(*) FROM Purchases", .unknownName, at: "Purchases", mentions: "did you mean 'purchases'")
        assertRefused("SELECT COUNT(*) FROM (SELECT * FROM hospital_a UNION ALL SELECT * FROM hospital_z) r",
                      .unknownName, at: "hospital_z")
    }

    func testUnknownColumnsAndAliases() {
        assertRefused("SELECT COUNT(*) FROM purchases WHERE colour = 'red'", .unknownName, at: "colour",
                      mentions: "no dataset")
        assertRefused("SELECT COUNT(*) FROM purchases WHERE Category = 'red'", .unknownName, at: "Category",
                      mentions: "did you mean 'category'")
        assertRefused("SELECT COUNT(*) FROM purchases p WHERE p.colour = 'red'", .unknownName, at: "colour",
                      mentions: "its columns are: email_hash, category")
        assertRefused("SELECT COUNT(*) FROM purchases p WHERE p.SKU = 'red'", .unknownName, at: "SKU", mentions: "'sku'")
        assertRefused("SELECT COUNT(*) FROM purchases p WHERE q.sku = 'red'", .unknownName, at: "q.sku", mentions: "can use: p")
        assertRefused("SELECT COUNT(*) FROM purchases p WHERE purchases.sku = 'red'", .unknownName, at: "purchases.sku",
                      mentions: "write p.sku")
        assertRefused("SELECT COUNT(*) FROM purchases p GROUP BY p.nothing", .unknownName, at: "nothing")
        assertRefused("SELECT SUM(p.nothing) FROM purchases p", .unknownName, at: "nothing")
    }

    func testJoinConditionSeesOnlySourcesJoinedSoFar() {
        assertRefused("""
            SELECT COUNT(*) FROM exposures e JOIN purchases p ON e.email_hash = h.patient_id
            JOIN hospital_a h ON h.patient_id = e.email_hash
            """, .unknownName, at: "h.patient_id", mentions: "can use: e, p")
    }

    func testAmbiguousColumn() {
        assertRefused("SELECT COUNT(DISTINCT email_hash) FROM exposures e JOIN purchases p ON e.email_hash = p.email_hash",
                      .unknownName, at: "email_hash", mentions: "e.email_hash or p.email_hash")
    }

    func testDuplicateNames() {
        assertRefused("SELECT COUNT(*) FROM exposures x JOIN purchases x ON x.email_hash = x.email_hash",
                      .duplicateName, at: "x ON", mentions: "own alias")
        assertRefused("SELECT COUNT(*) FROM purchases JOIN purchases p ON purchases.email_hash = p.email_hash",
                      .duplicateName, at: "purchases p", mentions: "read twice")
        assertRefused("SELECT COUNT(*) FROM (SELECT * FROM hospital_a UNION ALL SELECT * FROM hospital_a) r",
                      .duplicateName, at: "hospital_a)", mentions: "twice in the union")
        assertRefused("""
            SELECT COUNT(*) FROM (SELECT * FROM hospital_a UNION ALL SELECT * FROM hospital_b) r
            JOIN hospital_a a ON a.patient_id = r.patient_id
            """, .duplicateName, position: (2, 6))
        assertRefused("SELECT COUNT(*) FROM purchases GROUP BY sku, sku", .duplicateName, position: (1, 46))
    }

    func testComparisonTypeMismatch() {
        assertRefused("SELECT COUNT(*) FROM purchases WHERE category = 5", .typeMismatch, at: "5",
                      mentions: "purchases.category (text) with 5 (int)")
        assertRefused("SELECT COUNT(*) FROM purchases WHERE purchased_on > '2024-01-01'", .typeMismatch,
                      at: "'2024", mentions: "DATE 'YYYY-MM-DD'")
        assertRefused("SELECT COUNT(*) FROM purchases WHERE amount < purchased_on", .typeMismatch, at: "purchased_on")
        assertRefused("SELECT COUNT(*) FROM purchases WHERE category IN ('a', 2)", .typeMismatch, at: "2")
        assertRefused("SELECT COUNT(*) FROM purchases WHERE quantity BETWEEN 1 AND 'z'", .typeMismatch, at: "'z'")
        assertRefused("SELECT COUNT(*) FROM purchases WHERE purchased_on = DATE '2024-01-01' AND quantity = DATE '2024-01-01'",
                      .typeMismatch, position: (1, 86))
    }

    func testInvalidLiterals() {
        assertRefused("SELECT COUNT(*) FROM purchases WHERE quantity > 99999999999999999999", .invalidToken,
                      at: "9999", mentions: "64-bit")
        assertRefused("SELECT COUNT(*) FROM purchases WHERE amount > 1.23456", .invalidToken, at: "1.23456",
                      mentions: "4 digits")
        assertRefused("SELECT COUNT(*) FROM purchases WHERE purchased_on > DATE '2023-02-29'", .invalidToken,
                      at: "DATE", mentions: "valid date")
        assertRefused("SELECT COUNT(*) FROM purchases WHERE purchased_on > DATE '1/2/2023'", .invalidToken, at: "DATE")
        assertRefused("SELECT COUNT(*) FROM purchases WHERE amount > 9223372036854775807", .invalidToken,
                      at: "9223", mentions: "too large")
    }

    func testUnionSchemasMustMatchExactly() {
        func union(_ other: String) -> String {
            "SELECT COUNT(*) FROM (SELECT * FROM hospital_a UNION ALL SELECT * FROM \(other)) AS r"
        }
        assertRefused(union("hospital_wrong_type"), .unionSchemaMismatch, at: "hospital_wrong_type",
                      mentions: "column 'age' is int in 'hospital_a' but text in 'hospital_wrong_type'")
        assertRefused(union("hospital_wrong_unit"), .unionSchemaMismatch, at: "hospital_wrong_unit",
                      mentions: "privacy unit")
        assertRefused(union("hospital_extra"), .unionSchemaMismatch, at: "hospital_extra",
                      mentions: "'ward' exists only in 'hospital_extra'")
        assertRefused("SELECT COUNT(*) FROM (SELECT * FROM hospital_extra UNION ALL SELECT * FROM hospital_a) AS r",
                      .unionSchemaMismatch, at: "hospital_a", mentions: "'ward' is missing from 'hospital_a'")
        assertRefused(union("hospital_other_bounds"), .unionSchemaMismatch, at: "hospital_other_bounds",
                      mentions: "bounds")
        assertRefused(union("purchases"), .unionSchemaMismatch, at: "purchases")
    }
}
