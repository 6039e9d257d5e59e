import XCTest
@testable import ParleyCore

final class CBORTests: XCTestCase {
    private let strict = CBORDecoder()
    private let lenient = CBORDecoder(mode: .lenient)

    /// RFC 8949 Appendix A: every example decodes (or is refused) as its fixture line says, and
    /// every deterministic one re-encodes to the identical bytes.
    func testRFC8949AppendixAExamples() throws {
        let lines = try fixtureText("cbor/rfc8949-appendix-a.tsv").split(separator: "\n").filter { !$0.hasPrefix("#") }
        XCTAssertEqual(lines.count, 82)
        for line in lines {
            let cols = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            XCTAssertEqual(cols.count, 3, "bad fixture line \(line)")
            let bytes = hex(cols[0]), diag = cols[1], expect = cols[2]
            switch expect {
            case "deterministic":
                let item = try strict.decode(bytes)
                XCTAssertEqual(item.description, diag, cols[0])
                XCTAssertEqual(Hex.encode(CBOREncoder.encode(item)), cols[0], "round trip of \(diag)")
                XCTAssertEqual(try lenient.decode(bytes).description, diag)
            case "lenient":
                assertRefused(.nonCanonical, try self.strict.decode(bytes))
                let item = try lenient.decode(bytes)
                XCTAssertEqual(item.description, diag, cols[0])
                // Re-encoding yields the deterministic form, which the strict decoder accepts.
                XCTAssertEqual(try strict.decode(CBOREncoder.encode(item)).description, diag)
            case "unsupported":
                assertRefused(.malformed, try self.strict.decode(bytes))
                assertRefused(.malformed, try self.lenient.decode(bytes))
            default:
                XCTFail("unknown expectation \(expect)")
            }
        }
    }

    /// RFC 8949 section 4.2.1's own example of bytewise key order.
    func testMapKeysSortBytewise() {
        let keys: [CBOR] = [.array([.int(-1)]), .bool(false), .text("aa"), .text("z"), .int(-1), .unsigned(100), .array([.unsigned(100)]), .unsigned(10)]
        var m: [CBOR: CBOR] = [:]
        for (i, k) in keys.enumerated() { m[k] = .unsigned(UInt64(i)) }
        let encoded = CBOREncoder.encode(.map(m))
        let expectedKeyOrder = ["0a", "1864", "20", "617a", "626161", "811864", "8120", "f4"]
        var pos = 1
        var seen: [String] = []
        while pos < encoded.count {
            let rest = Array(encoded[pos...])
            let keyLen = expectedKeyOrder[seen.count].count / 2
            seen.append(Hex.encode(rest.prefix(keyLen)))
            pos += keyLen + 1 // every value here is a one-byte integer
        }
        XCTAssertEqual(seen, expectedKeyOrder)
        XCTAssertEqual(try strict.decode(encoded), .map(m))
    }

    func testRoundTripOfNestedValues() throws {
        let value = CBOR.textMap([
            "format": .text("parley/test/1"),
            "n": .int(-123456789012),
            "big": .unsigned(UInt64.max),
            "bytes": .bytes(Array(0..<200)),
            "list": .array([.null, .bool(true), .float(0.5), .float(1.1), .tagged(24, .bytes([1]))]),
            "text": .text(String(repeating: "é", count: 300)),
        ])
        let bytes = CBOREncoder.encode(value)
        XCTAssertEqual(try strict.decode(bytes), value)
        XCTAssertEqual(CBOREncoder.encode(try strict.decode(bytes)), bytes)
    }

    func testIntegerBoundariesUseShortestForms() {
        let cases: [(Int64, String)] = [(23, "17"), (24, "1818"), (255, "18ff"), (256, "190100"), (65535, "19ffff"),
                                         (65536, "1a00010000"), (4294967295, "1affffffff"), (4294967296, "1b0000000100000000"),
                                         (-24, "37"), (-25, "3818"), (-256, "38ff"), (-257, "390100")]
        for (v, h) in cases { XCTAssertEqual(Hex.encode(CBOREncoder.encode(.int(v))), h, "\(v)") }
    }

    // MARK: Refusals

    func testRejectsDuplicateMapKeys() {
        let e = assertRefused(.malformed, try self.strict.decode(hex("a2 01 02 01 03")))
        XCTAssertTrue(e?.reason.contains("duplicate key") ?? false, e?.reason ?? "")
        // The lenient mode accepts unsorted keys but never duplicates.
        assertRefused(.malformed, try self.lenient.decode(hex("a2 01 02 01 03")))
        assertRefused(.malformed, try self.lenient.decode(hex("a2 6161 01 6161 02")))
    }

    func testRejectsUnsortedMapKeys() {
        let e = assertRefused(.nonCanonical, try self.strict.decode(hex("a2 02 00 01 00")))
        XCTAssertTrue(e?.reason.contains("out of deterministic order") ?? false)
        XCTAssertEqual(try lenient.decode(hex("a2 02 00 01 00")), .map([.unsigned(1): .unsigned(0), .unsigned(2): .unsigned(0)]))
    }

    func testRejectsNonShortestIntegersAndLengths() {
        for h in ["1817", "190017", "1a00000017", "1b0000000000000017", "3817", "5801 ff", "7801 61", "9801 00", "b801 00 00", "d81700", "1900ff"] {
            assertRefused(.nonCanonical, try self.strict.decode(hex(h)))
            XCTAssertNoThrow(try lenient.decode(hex(h)), h)
        }
    }

    func testRejectsNonShortestFloats() {
        for h in ["fa3f800000", "fb3ff0000000000000", "fb3ff8000000000000", "fa47c35000".replacingOccurrences(of: "fa47c35000", with: "fb40f86a0000000000")] {
            assertRefused(.nonCanonical, try self.strict.decode(hex(h)))
        }
    }

    func testRejectsIndefiniteLengthsInDeterministicMode() {
        for h in ["5f41 00 ff", "7f61 61 ff", "9f ff", "bf ff"] {
            let e = assertRefused(.nonCanonical, try self.strict.decode(hex(h)))
            XCTAssertTrue(e?.reason.contains("indefinite") ?? false)
        }
    }

    func testRejectsTrailingBytes() {
        let e = assertRefused(.malformed, try self.strict.decode(hex("01 00")))
        XCTAssertTrue(e?.reason.contains("trailing") ?? false)
    }

    func testRejectsTruncationAtEveryByte() {
        let bytes = CBOREncoder.encode(.textMap(["a": .bytes([1, 2, 3]), "b": .array([.unsigned(1000), .text("xyz")])]))
        for cut in 0..<bytes.count {
            XCTAssertThrowsError(try strict.decode(Array(bytes.prefix(cut))), "cut at \(cut)")
        }
    }

    func testRejectsMalformedItems() {
        for h in ["1c", "ff", "c2", "62 c3 28", "5f 61 61 ff", "7f 41 00 ff", "a1 01", "81"] {
            XCTAssertThrowsError(try lenient.decode(hex(h)), h)
        }
    }

    func testCapsDepthItemsSizeAndDeclaredLengths() {
        let deep = [UInt8](repeating: 0x81, count: 40) + [0x00]
        let e = assertRefused(.limitExceeded, try self.strict.decode(deep))
        XCTAssertTrue(e?.reason.contains("deeper") ?? false)
        XCTAssertNoThrow(try CBORDecoder(limits: .init(maxDepth: 41)).decode(deep))

        let many = CBOREncoder.encode(.array(Array(repeating: .unsigned(1), count: 100)))
        assertRefused(.limitExceeded, try CBORDecoder(limits: .init(maxItems: 50)).decode(many))
        assertRefused(.limitExceeded, try CBORDecoder(limits: .init(maxBytes: 50)).decode(many))

        // An array claiming 2^64-1 items in a 9-byte input must not allocate: refused at once.
        assertRefused(.limitExceeded, try self.strict.decode(hex("9b ffffffffffffffff")))
        assertRefused(.limitExceeded, try self.strict.decode(hex("bb ffffffffffffffff")))
        XCTAssertThrowsError(try strict.decode(hex("5b ffffffffffffffff")))
    }

    func testRejectsEmptyInput() {
        assertRefused(.malformed, try self.strict.decode([]))
    }
}
