import ParleyCore
import ParleyParty
import XCTest

/// The line `parley upload` prints for the worker's receipt: rows always, and the worker's
/// plaintext bytes and seconds (with their rate) only when the host relays them.
final class UploadSummaryTests: XCTestCase {
    func receipt(rows: UInt64 = 2_000_000, bytes: UInt64? = nil, seconds: Double? = nil) -> UploadReceiptBody {
        UploadReceiptBody(dataset: "exposures", rows: rows, digest: String(repeating: "ab", count: 32), logSize: 9,
                          plaintextBytes: bytes, seconds: seconds)
    }

    func testAReceiptWithBytesAndSecondsShowsTheWorkersRate() {
        XCTAssertEqual(receipt(bytes: 143_200_000, seconds: 1.9).acceptedLine,
                       "accepted exposures: 2,000,000 rows, 143.2 MB parsed in 1.9 s (75 MB/s)")
        XCTAssertEqual(receipt(rows: 16_000_000, bytes: 2_512_000_000, seconds: 40.3).acceptedLine,
                       "accepted exposures: 16,000,000 rows, 2.51 GB parsed in 40.3 s (62 MB/s)")
    }

    func testSmallUploadsKeepTheirDigits() {
        XCTAssertEqual(receipt(rows: 401, bytes: 30_512, seconds: 0.0042).acceptedLine,
                       "accepted exposures: 401 rows, 30.5 kB parsed in 0.004 s (7.3 MB/s)")
        XCTAssertEqual(receipt(rows: 3, bytes: 61, seconds: 0.25).acceptedLine,
                       "accepted exposures: 3 rows, 61 bytes parsed in 0.25 s (0.00 MB/s)")
    }

    func testAnOlderHostsReceiptShowsRowsOnly() {
        XCTAssertEqual(receipt().acceptedLine, "accepted exposures: 2,000,000 rows")
        XCTAssertNil(receipt().workSummary)
        XCTAssertEqual(receipt(rows: 999).acceptedLine, "accepted exposures: 999 rows")
        XCTAssertEqual(receipt(rows: 1000).acceptedLine, "accepted exposures: 1,000 rows")
    }

    func testOneOfTheTwoAloneShowsWhatIsThere() {
        XCTAssertEqual(receipt(bytes: 5_000_000).acceptedLine, "accepted exposures: 2,000,000 rows, 5.0 MB parsed")
        XCTAssertEqual(receipt(seconds: 3).acceptedLine, "accepted exposures: 2,000,000 rows, parsed in 3.0 s")
        XCTAssertEqual(receipt(bytes: 5_000_000, seconds: 0).workSummary, "5.0 MB parsed in 0.000 s", "no rate from zero seconds")
    }

    func testTheFieldsRoundTripUnderTheirWireNames() throws {
        let r = receipt(bytes: 143_200_000, seconds: 1.9)
        let json = String(decoding: APIJSON.encode(r), as: UTF8.self)
        XCTAssertTrue(json.contains("\"plaintext_bytes\":143200000"), json)
        XCTAssertTrue(json.contains("\"seconds\":1.9"), json)
        XCTAssertEqual(try APIJSON.decode(UploadReceiptBody.self, from: Array(json.utf8), what: "receipt"), r)
        let old = try APIJSON.decode(UploadReceiptBody.self, from: Array(#"{"dataset":"d","rows":3,"digest":"dd","log_size":4}"#.utf8), what: "receipt")
        XCTAssertNil(old.plaintextBytes)
        XCTAssertNil(old.seconds)
    }
}
