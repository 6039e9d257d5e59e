import XCTest
@testable import ParleyAnalysis

/// SQL outside the subset: every construct is refused with a position and a suggestion.
final class SyntaxRefusalTests: XCTestCase {
    func testClausesOutsideTheSubset() {
        let base = "SELECT category, COUNT(*) AS n FROM purchases GROUP BY category "
        assertRefused(base + "HAVING COUNT(*) > 5", .unsupported, at: "HAVING", mentions: "min_group_size")
        assertRefused(base + "ORDER BY n", .unsupported, at: "ORDER", mentions: "remove ORDER BY")
        assertRefused(base + "LIMIT 10", .unsupported, at: "LIMIT")
        assertRefused(base + "OFFSET 10", .unsupported, at: "OFFSET")
        assertRefused(base + "UNION ALL SELECT category, COUNT(*) FROM purchases", .unsupported, at: "UNION")
        assertRefused(base + "QUALIFY n > 1", .unsupported, at: "QUALIFY")
        assertRefused(base + "WHERE sku = 'a'", .unsupported, at: "WHERE", mentions: "before GROUP BY")
        assertRefused(base + "; SELECT 1", .syntax, at: "SELECT 1", mentions: "after the end")
        assertRefused("WITH t AS (SELECT 1) SELECT COUNT(*) FROM t", .unsupported, at: "WITH")
        assertRefused("SELECT DISTINCT category, COUNT(*) FROM purchases GROUP BY category", .unsupported, at: "DISTINCT")
        assertRefused("SELECT COUNT(*) INTO t FROM purchases", .unsupported, at: "INTO")
    }

    func testMalformedQueries() {
        assertRefused("FROM purchases SELECT COUNT(*)", .syntax, position: (1, 1), mentions: "expected SELECT")
        assertRefused("SELECT COUNT(*) purchases", .syntax, position: (1, 26), mentions: "expected FROM")
        assertRefused("SELECT COUNT(*) FROM purchases GROUP category", .syntax, at: "category", mentions: "expected BY")
        assertRefused("SELECT COUNT(*) FROM select", .syntax, at: "select", mentions: "double quotes")
        assertRefused("SELECT COUNT(* FROM purchases", .syntax, at: "FROM", mentions: "')'")
        assertRefused("SELECT COUNT(*) FROM purchases WHERE", .syntax, position: (1, 37), mentions: "end of the query")
        assertRefused("SELECT COUNT(*) FROM purchases WHERE (category = 'a'", .syntax, position: (1, 53))
        assertRefused("SELECT COUNT(*) FROM purchases WHERE category", .syntax, at: "category", mentions: "bare value")
        assertRefused("SELECT COUNT(*) FROM purchases WHERE amount BETWEEN 1 OR 2", .syntax, at: "OR", mentions: "AND")
        assertRefused("SELECT COUNT(*) FROM purchases WHERE (amount > 1) = 2", .typeMismatch, at: "= 2")
        assertRefused("SELECT COUNT(*) FROM purchases p JOIN exposures e", .syntax, position: (1, 50), mentions: "ON")
    }

    func testSelectListShapes() {
        assertRefused("SELECT 1, COUNT(*) FROM purchases", .unsupported, at: "1", mentions: "constants")
        assertRefused("SELECT (SELECT 1), COUNT(*) FROM purchases", .unsupported, at: "(")
        assertRefused("SELECT SUM(amount) * 2 FROM purchases", .unsupported, at: "*", mentions: "arithmetic")
        assertRefused("SELECT SUM(amount + 1) FROM purchases", .unsupported, at: "+")
        assertRefused("SELECT MAX(amount) FROM purchases", .unsupported, at: "MAX", mentions: "PERCENTILE_CONT(column, 0.05)")
        assertRefused("SELECT UPPER(category), COUNT(*) FROM purchases", .unsupported, at: "UPPER", mentions: "function")
        assertRefused("SELECT COUNT(sku) FROM purchases", .unsupported, at: "sku", mentions: "COUNT(DISTINCT")
        assertRefused("SELECT SUM(DISTINCT amount) FROM purchases", .unsupported, at: "DISTINCT")
        assertRefused("SELECT SUM(*) FROM purchases", .unsupported, at: "*")
        assertRefused("SELECT SUM(ABS(amount)) FROM purchases", .unsupported, at: "ABS", mentions: "nested")
        assertRefused("SELECT SUM(1) FROM purchases", .unsupported, at: "1")
        assertRefused("SELECT COUNT(*) OVER () FROM purchases", .unsupported, at: "OVER")
        assertRefused("SELECT proj.ds.category, COUNT(*) FROM purchases", .unsupported, at: "proj", mentions: "two parts")
        assertRefused("SELECT COUNT(*) AS n, SUM(amount) AS n FROM purchases", .duplicateName, at: "n FROM")
        assertRefused("SELECT category, COUNT(*) AS category FROM purchases GROUP BY category", .duplicateName,
                      at: "category FROM")
    }

    func testJoinFormsOutsideTheSubset() {
        let tail = " purchases p ON e.email_hash = p.email_hash"
        assertRefused("SELECT COUNT(*) FROM exposures e LEFT JOIN" + tail, .unsupported, at: "LEFT", mentions: "outer joins")
        assertRefused("SELECT COUNT(*) FROM exposures e FULL OUTER JOIN" + tail, .unsupported, at: "FULL")
        assertRefused("SELECT COUNT(*) FROM exposures e CROSS JOIN purchases p", .unsupported, at: "CROSS")
        assertRefused("SELECT COUNT(*) FROM exposures e NATURAL JOIN purchases p", .unsupported, at: "NATURAL")
        assertRefused("SELECT COUNT(*) FROM exposures e, purchases p", .unsupported, at: ",", mentions: "JOIN")
        assertRefused("SELECT COUNT(*) FROM exposures e JOIN purchases p USING (email_hash)", .unsupported, at: "USING")
        assertRefused("SELECT COUNT(*) FROM exposures e INNER purchases p", .syntax, at: "purchases", mentions: "JOIN")
        assertRefused("SELECT COUNT(*) FROM proj.purchases", .unsupported, at: "proj")
        assertRefused("SELECT COUNT(*) FROM UNNEST(x)", .unsupported, at: "UNNEST", mentions: "table functions")
    }

    func testSubqueriesOtherThanTheUnionFormAreRefused() {
        assertRefused("SELECT COUNT(*) FROM (SELECT category FROM purchases) t", .unsupported, at: "category",
                      mentions: "UNION ALL")
        assertRefused("SELECT COUNT(*) FROM (SELECT * FROM purchases) t", .unsupported, position: (1, 22),
                      mentions: "at least two")
        assertRefused("SELECT COUNT(*) FROM (SELECT * FROM hospital_a UNION SELECT * FROM hospital_b) r",
                      .unsupported, at: "SELECT * FROM hospital_b", mentions: "UNION ALL")
        assertRefused("SELECT COUNT(*) FROM (SELECT * FROM hospital_a WHERE age > 3 UNION ALL SELECT * FROM hospital_b) r",
                      .unsupported, at: "WHERE")
        assertRefused("SELECT COUNT(*) FROM ((SELECT * FROM hospital_a)) r", .unsupported, position: (1, 23))
        assertRefused("SELECT COUNT(*) FROM (SELECT * FROM (SELECT * FROM hospital_a) UNION ALL SELECT * FROM hospital_b) r",
                      .unsupported, position: (1, 37), mentions: "nested")
        assertRefused("SELECT COUNT(*) FROM (VALUES (1)) r", .unsupported, at: "VALUES")
        assertRefused("SELECT COUNT(*) FROM (SELECT * FROM hospital_a UNION ALL SELECT * FROM hospital_b)",
                      .syntax, position: (1, 83), mentions: "alias")
        assertRefused("SELECT COUNT(*) FROM purchases WHERE category IN (SELECT category FROM purchases)",
                      .unsupported, at: "SELECT category", mentions: "literal")
        assertRefused("SELECT COUNT(*) FROM purchases WHERE (SELECT 1) = 1", .unsupported, at: "(SELECT")
        assertRefused("SELECT COUNT(*) FROM purchases WHERE EXISTS (SELECT 1)", .unsupported, at: "EXISTS")
    }

    func testConditionFormsOutsideTheSubset() {
        let base = "SELECT COUNT(*) FROM purchases WHERE "
        assertRefused(base + "sku IS NULL", .unsupported, at: "IS", mentions: "no missing values")
        assertRefused(base + "sku LIKE 'a%'", .unsupported, at: "LIKE")
        assertRefused(base + "sku NOT LIKE 'a%'", .unsupported, at: "LIKE")
        assertRefused(base + "sku = NULL", .unsupported, at: "NULL")
        assertRefused(base + "TRUE", .unsupported, at: "TRUE")
        assertRefused(base + "CASE WHEN sku = 'a' THEN 1 END = 1", .unsupported, at: "CASE")
        assertRefused(base + "COUNT(*) > 1", .unsupported, position: (1, 38), mentions: "HAVING")
        assertRefused(base + "LOWER(sku) = 'a'", .unsupported, at: "LOWER", mentions: "function")
        assertRefused(base + "quantity + 1 > 2", .unsupported, at: "+", mentions: "arithmetic")
        assertRefused(base + "quantity > 2 * 3", .unsupported, position: (1, 51))
        assertRefused(base + "quantity > -quantity", .unsupported, at: "-")
        assertRefused(base + "quantity > (2)", .unsupported, position: (1, 49))
        assertRefused(base + "quantity IN (1, quantity)", .unsupported, at: "quantity)", mentions: "literal")
        assertRefused(base + "quantity BETWEEN 1 + 1 AND 3", .unsupported, at: "+")
    }

    func testLexicalErrors() {
        assertRefused("SELECT COUNT(*) FROM purchases WHERE sku = 'abc", .invalidToken, at: "'abc", mentions: "never closed")
        assertRefused("SELECT COUNT(*) FROM \"purchases", .invalidToken, at: "\"", mentions: "never closed")
        assertRefused("SELECT COUNT(*) FROM \"\"", .invalidToken, at: "\"", mentions: "empty")
        assertRefused("SELECT COUNT(*) FROM purchases /* note", .invalidToken, at: "/*", mentions: "*/")
        assertRefused("SELECT COUNT(*) FROM purchases WHERE quantity > 1e5", .invalidToken, at: "e5", mentions: "exponent")
        assertRefused("SELECT COUNT(*) FROM purchases WHERE quantity > 12abc", .invalidToken, at: "abc")
        assertRefused("SELECT COUNT(*) FROM purchases WHERE quantity > 1.2.3", .invalidToken, at: ".3")
        assertRefused("SELECT COUNT(*) FROM purchases WHERE sku = @", .invalidToken, at: "@", mentions: "followed by its name")
        assertRefused("SELECT COUNT(*) FROM purchases WHERE sku = @1", .invalidToken, at: "@")
        // A well-formed @x is a parameter, refused here because the query declares none.
        assertRefused("SELECT COUNT(*) FROM purchases WHERE sku = @x", .unknownName, at: "@x", mentions: "not declared")
        assertRefused("SELECT COUNT(*) FROM purchases WHERE sku = ?", .invalidToken, at: "?")
        assertRefused("SELECT COUNT(*) FROM purchases WHERE catégorie = 'x'", .invalidToken, at: "é", mentions: "double quotes")
    }

    func testPositionsCountLinesAndUnicodeScalars() {
        let sql = "SELECT COUNT(*)\r\n  FROM purchases\n  WHERE sku = 'é€😀' AND\n\tbogus = 1"
        assertRefused(sql, .unknownName, position: (4, 2), mentions: "bogus")
        assertRefused("SELECT COUNT(*) FROM purchases WHERE sku = '😀' AND x = 1", .unknownName, position: (1, 52))
    }

    func testLimits() {
        let small = AnalysisLimits(maxSQLBytes: 40, maxTokens: 12, maxExpressionDepth: 3, maxInListLength: 2,
                                   maxJoinedSources: 2, maxUnionMembers: 2, maxSelectItems: 2)
        assertRefused(String(repeating: " ", count: 41), .limitExceeded, position: (1, 1), mentions: "40", limits: small)
        assertRefused("SELECT COUNT(*),COUNT(*),COUNT(*) FROM x", .limitExceeded, position: (1, 31), limits: small)
        let wide = AnalysisLimits(maxExpressionDepth: 3, maxInListLength: 2, maxJoinedSources: 2, maxUnionMembers: 2,
                                  maxSelectItems: 2)
        assertRefused("SELECT COUNT(*), COUNT(*), COUNT(*) FROM purchases", .limitExceeded, at: "COUNT(*) FROM",
                      limits: wide)
        assertRefused("SELECT COUNT(*) FROM purchases GROUP BY category, sku, amount", .limitExceeded, at: "amount",
                      limits: wide)
        assertRefused("SELECT COUNT(*) FROM purchases WHERE sku IN ('a', 'b', 'c')", .limitExceeded, at: "'c'", limits: wide)
        assertRefused("SELECT COUNT(*) FROM purchases WHERE ((NOT sku = 'a'))", .limitExceeded, at: "sku", limits: wide)
        assertRefused("""
            SELECT COUNT(*) FROM exposures e JOIN purchases p ON e.email_hash = p.email_hash
            JOIN hospital_a h ON h.patient_id = e.email_hash
            """, .limitExceeded, position: (2, 1), limits: wide)
        assertRefused("""
            SELECT COUNT(*) FROM (SELECT * FROM hospital_a UNION ALL SELECT * FROM hospital_b
            UNION ALL SELECT * FROM hospital_extra) r
            """, .limitExceeded, position: (2, 11), limits: wide)
        // Deep nesting at the default limit is refused without exhausting the stack.
        let deep = "SELECT COUNT(*) FROM purchases WHERE " + String(repeating: "(", count: 2_000) + "sku = 'a'"
            + String(repeating: ")", count: 2_000)
        assertRefused(deep, .limitExceeded, mentions: "nested")
        let manyNots = "SELECT COUNT(*) FROM purchases WHERE " + String(repeating: "NOT ", count: 100) + "sku = 'a'"
        assertRefused(manyNots, .limitExceeded)
    }
}
