import ParleyEgress
import ParleyPrivacy
import XCTest

final class RationalTests: XCTestCase {
    private func refusal(_ body: () throws -> Rational) -> Refusal? {
        do { _ = try body(); return nil } catch let error as EgressError { return error.refusal } catch { return nil }
    }

    func testParsesDecimalsExactly() throws {
        let cases: [(String, UInt64, UInt64)] = [
            ("1", 1, 1), ("1.0", 1, 1), ("0.5", 1, 2), ("10.0", 10, 1), ("0.1", 1, 10),
            ("1e-9", 1, 1_000_000_000), ("1E-9", 1, 1_000_000_000), ("2.5e3", 2500, 1),
            ("2.5E+3", 2500, 1), ("007.50", 15, 2), ("10e-1", 1, 1), ("0.000", 0, 1),
            ("0e99", 0, 1), ("1e19", 10_000_000_000_000_000_000, 1),
            ("1e-19", 1, 10_000_000_000_000_000_000), ("0.3333", 3333, 10_000),
            ("18446744073709551615", UInt64.max, 1),
        ]
        for (text, numerator, denominator) in cases {
            let value = try Rational(decimal: text)
            XCTAssertEqual(value.numerator, numerator, text)
            XCTAssertEqual(value.denominator, denominator, text)
        }
    }

    func testRefusesMalformedDecimals() {
        for text in ["", "-1", "+1", "1.", ".5", "1e", "1e+", "e5", "abc", "nan", "NaN", "inf", "Infinity",
                     " 1", "1 ", "1_000", "1,5", "0x10", "1e-5.0", "1..0", "1e99999", "١"] {
            guard case .invalidNumber? = refusal({ try Rational(decimal: text) }) else {
                XCTFail("accepted or misclassified \(text.debugDescription)")
                continue
            }
        }
        XCTAssertNotNil(refusal { try Rational(decimal: String(repeating: "1", count: 65)) })
    }

    func testRefusesDecimalsThatDoNotFit() {
        for text in ["1e-20", "1e20", "0.12345678901234567890123", "18446744073709551616", "5e-20", "1e-39"] {
            guard case .parameterOverflow? = refusal({ try Rational(decimal: text) }) else {
                XCTFail("\(text) should overflow")
                continue
            }
        }
    }

    func testConvertsDoublesExactly() throws {
        XCTAssertEqual(try Rational(exactly: 0.5), try Rational(1, 2))
        XCTAssertEqual(try Rational(exactly: 3.0), Rational(3))
        XCTAssertEqual(try Rational(exactly: 0.0), .zero)
        // 0.1 as a Double is not one tenth: the conversion keeps the binary value.
        XCTAssertEqual(try Rational(exactly: 0.1), try Rational(3_602_879_701_896_397, 36_028_797_018_963_968))
        XCTAssertNotEqual(try Rational(exactly: 0.1), try Rational(decimal: "0.1"))
        for value in [1e-9, 0x1p70, 1e-300, Double.leastNonzeroMagnitude] {
            guard case .parameterOverflow? = refusal({ try Rational(exactly: value) }) else {
                XCTFail("\(value) should overflow")
                continue
            }
        }
        for value in [-1.0, -0.0 - 1e-3, Double.nan, Double.infinity, -Double.infinity] {
            guard case .invalidNumber? = refusal({ try Rational(exactly: value) }) else {
                XCTFail("\(value) should be invalid")
                continue
            }
        }
    }

    func testArithmeticIsExact() throws {
        let tenth = try Rational(decimal: "0.1")
        var sum = Rational.zero
        for _ in 0..<10 { sum = try sum.adding(tenth) }
        XCTAssertEqual(sum, .one)
        XCTAssertEqual(try Rational(decimal: "2.5").subtracting(try Rational(decimal: "0.5")), Rational(2))
        XCTAssertEqual(try Rational(1, 3).multiplied(by: 6), Rational(2))
        XCTAssertEqual(try Rational(2, 3).divided(by: 4), try Rational(1, 6))
        XCTAssertThrowsError(try Rational(1, 3).subtracting(Rational(1)))
        XCTAssertThrowsError(try Rational(1, 0))
        XCTAssertThrowsError(try Rational(UInt64.max).adding(Rational(1)))
        XCTAssertThrowsError(try Rational(1, 3).divided(by: 0))
        XCTAssertLessThan(try Rational(1, 3), try Rational(decimal: "0.3334"))
        XCTAssertGreaterThan(try Rational(1, 3), try Rational(decimal: "0.3333"))
    }

    func testDescriptions() throws {
        XCTAssertEqual(try Rational(decimal: "0.25").description, "0.25")
        XCTAssertEqual(try Rational(decimal: "10.0").description, "10")
        XCTAssertEqual(try Rational(decimal: "1e-9").description, "0.000000001")
        XCTAssertEqual(try Rational(1, 3).description, "1/3")
        XCTAssertEqual(try Rational(7, 2).description, "3.5")
    }
}
