import Foundation
import ParleyCore
import ParleyHTTP
import ParleyParty
import XCTest

/// The operator's endpoints (launch, list, stop) sit behind the bearer-token middleware: every
/// one refuses a request without the token, with a wrong one, or with a near miss, before its
/// handler runs (nothing is launched, listed or stopped); the parties' and auditors' endpoints
/// need no token.
final class OperatorAuthTests: HTTPTestCase {
    /// `Authorization` values that must all be refused (nil: no header at all).
    func wrongHeaders() -> [String?] {
        let flipped = String(token.dropLast()) + (token.last == "0" ? "1" : "0")
        return [nil, "", "Bearer", "Bearer ", "Bearer nope", "Bearer \(flipped)", "Bearer \(token.dropLast())",
                "Bearer \(token)0", "bearer \(token)", "Basic \(token)", token, "Bearer  \(token)", "Bearer \(token.uppercased())"]
    }

    func headers(_ authorization: String?) -> [String: String] {
        authorization.map { ["Authorization": $0] } ?? [:]
    }

    func assertRefused(_ method: String, _ path: String, body: [UInt8]? = nil, file: StaticString = #filePath, line: UInt = #line) async throws {
        for wrong in wrongHeaders() {
            let r = try await http.request(method, path, body: body, headers: headers(wrong))
            XCTAssertEqual(r.status, 401, "\(method) \(path) with \(wrong.map { "\"\($0)\"" } ?? "no header")", file: file, line: line)
            XCTAssertEqual(try r.json()["code"] as? String, "unauthorized", file: file, line: line)
            XCTAssertFalse(r.text.contains(token), "the refusal does not echo the token", file: file, line: line)
        }
    }

    func testEveryOperatorEndpointRefusesAMissingOrWrongToken() async throws {
        let job = try await launch()
        try await assertRefused("POST", "/v1/jobs", body: bundle)
        try await assertRefused("GET", "/v1/jobs")
        try await assertRefused("POST", "/v1/jobs/\(job)/stop")
        // The refusals changed nothing: one job, still running.
        let list = try await http.request("GET", "/v1/jobs", headers: ["Authorization": "Bearer \(token)"])
        XCTAssertEqual(list.status, 200)
        let jobs = try XCTUnwrap(try list.json()["jobs"] as? [[String: Any]])
        XCTAssertEqual(jobs.map { $0["job"] as? String }, [job])
        let awaited18 = try await http.request("GET", "/v1/jobs/\(job)").json()["state"] as? String
        XCTAssertEqual(awaited18, "collecting-datasets")
        // The messages are the ones the API has always given.
        let awaited19 = try await http.request("POST", "/v1/jobs", body: bundle).errorMessage
        XCTAssertEqual(awaited19,
                       "operator requests need `Authorization: Bearer <operator-token>` (the token is in the host's data directory)")
        let awaited20 = try await http.request("GET", "/v1/jobs").errorMessage
        XCTAssertEqual(awaited20, "operator requests need the bearer token")
        // With the token, stop works.
        let stop = try await http.request("POST", "/v1/jobs/\(job)/stop", headers: ["Authorization": "Bearer \(token)"])
        XCTAssertEqual(stop.status, 200, stop.text)
    }

    /// The middleware runs before the handler: a stop of a job that does not exist is 401
    /// without the token (nothing about the job is revealed) and 404 with it.
    func testTheTokenIsCheckedBeforeTheHandler() async throws {
        let awaited21 = try await http.request("POST", "/v1/jobs/no-such-job/stop").status
        XCTAssertEqual(awaited21, 401)
        let awaited22 = try await http.request("POST", "/v1/jobs/no-such-job/stop", headers: ["Authorization": "Bearer \(token)"]).status
        XCTAssertEqual(awaited22, 404)
        let awaited23 = try await http.request("POST", "/v1/jobs", body: [1, 2, 3]).status
        XCTAssertEqual(awaited23, 401, "a bad bundle is not even read")
    }

    func testPublicEndpointsNeedNoToken() async throws {
        let job = try await launch()
        for path in ["/v1/health", "/v1/jobs/\(job)", "/v1/log/checkpoint", "/v1/log/key", "/v1/log/entries?start=0&count=1", "/v1/audit/export"] {
            let awaited24 = try await http.request("GET", path).status
            XCTAssertEqual(awaited24, 200, path)
        }
    }

    func testTokenComparison() {
        let token = String(repeating: "ab", count: 32)
        XCTAssertTrue(OperatorToken.matches(header: "Bearer \(token)", token: token))
        for wrong in [nil, "", "Bearer ", "Bearer \(token.dropLast())", "Bearer \(token)a", "bearer \(token)", "Bearer \(token.dropFirst())b"] {
            XCTAssertFalse(OperatorToken.matches(header: wrong, token: token), wrong ?? "nil")
        }
        XCTAssertFalse(OperatorToken.matches(header: "Bearer ", token: ""), "an empty token matches nothing")
    }
}
