import Foundation
import ParleyCore
import XCTest

/// The HTTP API's JSON bodies (docs/openapi.yaml): one type each, encoded by the host and
/// decoded by the client; the shapes the document pins, and the refusals of a bad request body.
final class APIBodiesTests: XCTestCase {
    private func object(_ bytes: [UInt8]) throws -> [String: Any] {
        try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
    }

    func testRequiredNullableReasonIsNullNotAbsent() throws {
        // JobSummary and StoredJobStatus require `reason` (null unless failed); LiveJobStatus omits it.
        let summary = try object(APIJSON.encode(JobSummary(job: "job-0123456789abcdef", state: "ready", reason: nil, module: "m", tier: "software")))
        XCTAssertTrue(summary.keys.contains("reason"))
        XCTAssertTrue(summary["reason"] is NSNull)
        let stored = try object(APIJSON.encode(StoredJobStatus(job: "j", state: "stopped", reason: nil, tier: "tpm", module: .init(name: "m", measurement: "00"))))
        XCTAssertTrue(stored["reason"] is NSNull)
        let live = LiveJobStatus(job: "j", state: "ready", reason: nil, tier: "software",
                                 module: .init(name: "m", version: "1", measurement: "aa", signer: "bb"), runtime: "cc",
                                 datasets: ["d": .init(provider: "p", accepted: false)], queries: ["q": .init(receivers: ["p"])], parties: ["p": "ff"])
        let liveObject = try object(APIJSON.encode(live))
        XCTAssertFalse(liveObject.keys.contains("reason"))
        XCTAssertEqual(Set(((liveObject["datasets"] as? [String: Any])?["d"] as? [String: Any])?.keys.map { $0 } ?? []), ["provider", "accepted"],
                       "rows and digest appear only once a dataset is accepted")
        XCTAssertEqual(try APIJSON.decode(LiveJobStatus.self, from: APIJSON.encode(live), what: "status"), live)
    }

    func testUploadReceiptUsesTheDocumentsSnakeCase() throws {
        let r = UploadReceiptBody(dataset: "exposures", rows: 12, digest: String(repeating: "ab", count: 32), logSize: 7)
        XCTAssertEqual(String(decoding: APIJSON.encode(r), as: UTF8.self),
                       #"{"dataset":"exposures","digest":"\#(r.digest)","log_size":7,"rows":12}"#)
        XCTAssertEqual(try APIJSON.decode(UploadReceiptBody.self, from: APIJSON.encode(r), what: "receipt"), r)
    }

    func testQueryRequestRoundTripsAndRefusesWhatItDoesNotKnow() throws {
        let request = QueryRequestBody(receiver: "brand", nonce: Array(repeating: 7, count: 16), signature: Array(repeating: 9, count: 64))
        XCTAssertEqual(try APIJSON.decode(QueryRequestBody.self, from: APIJSON.encode(request), what: "the query request"), request)

        func refusal(_ json: String) -> String {
            do {
                _ = try APIJSON.decode(QueryRequestBody.self, from: Array(json.utf8), what: "the query request")
                return "accepted"
            } catch let e as ParleyError {
                XCTAssertEqual(e.code, .malformed)
                return e.reason
            } catch { return "\(error)" }
        }
        let nonce = String(repeating: "07", count: 16)
        XCTAssertTrue(refusal(#"{"receiver":"brand","nonce":"\#(nonce)","signature":"00","extra":1}"#).contains(#"unknown field "extra""#))
        XCTAssertTrue(refusal(#"{"receiver":"brand","nonce":"0707","signature":"00"}"#).contains("16 to 64 bytes"))
        XCTAssertTrue(refusal(#"{"receiver":"brand","nonce":"\#(String(repeating: "07", count: 65))","signature":"00"}"#).contains("16 to 64 bytes"))
        XCTAssertTrue(refusal(#"{"receiver":"brand","nonce":"\#(nonce)","signature":"zz"}"#).contains("signature is not hex"))
        XCTAssertTrue(refusal(#"{"nonce":"\#(nonce)","signature":"00"}"#).contains(#"no "receiver""#))
        let wrongType = refusal(#"{"receiver":5,"nonce":"\#(nonce)","signature":"00"}"#)
        XCTAssertTrue(wrongType.contains("wrong type"), "[\(wrongType)]")
        let array = refusal("[1,2]")
        XCTAssertTrue(array.contains("not the JSON object"), array)
        XCTAssertTrue(refusal("").contains("not the JSON object"))
    }

    func testAnOversizedBodyIsRefusedBeforeParsing() {
        let big = Array(repeating: UInt8(ascii: " "), count: APIJSON.maxBytes + 1)
        XCTAssertThrowsError(try APIJSON.decode(APIErrorBody.self, from: big, what: "the refusal")) { error in
            XCTAssertTrue((error as? ParleyError)?.reason.contains("over") ?? false, "\(error)")
        }
    }

    func testResultCellsKeepIntegersAsNumbers() throws {
        let doc = ResultDocument(job: "j", query: "q", columns: ["region", "n"], rows: [[.text("north"), .unsigned(42)]], suppressedGroups: 1,
                                 mechanism: "geometric", epsilonCharged: "0.5", deltaCharged: "0", budgetLeft: "1.5", inputs: [:], timestampMillis: 0)
        let o = try object(APIJSON.encode(ResultJSON(doc)))
        let row = try XCTUnwrap((o["rows"] as? [[Any]])?.first)
        XCTAssertEqual(row[0] as? String, "north")
        XCTAssertEqual(row[1] as? Int, 42)
        XCTAssertEqual(o["suppressed_groups"] as? Int, 1)
        XCTAssertEqual(Set(o.keys), ["job", "query", "columns", "rows", "suppressed_groups", "epsilon_charged", "budget_left"])
    }
}
