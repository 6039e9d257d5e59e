import Foundation
import Hummingbird
import ParleyAttestation
import ParleyCore
import ParleyHost
import ParleyQuoting
import ParleyHostTesting
@testable import ParleyHTTP
import ParleyParty
import XCTest

/// Refusals that mean what they say (issue 11, part 7), found while writing docs/openapi.yaml
/// and running schemathesis against it: a missing job is "not found", a bundle that does not
/// open is the caller's 422 whatever its defect, and answers no handler wrote (an unknown path,
/// an error nothing caught) have the same JSON error body as every refusal.
final class HTTPRefusalTests: HTTPTestCase {
    /// Status and `code` of a reply, failing the test when the body is not a JSON error.
    func refusal(_ method: String, _ path: String, body: [UInt8]? = nil, headers: [String: String] = [:],
                 file: StaticString = #filePath, line: UInt = #line) async throws -> (status: Int, code: String?) {
        let http = http!
        let reply = try await blocking { try await http.request(method, path, body: body, headers: headers) }
        let object = try? reply.json()
        XCTAssertNotNil(object?["error"] as? String, "\(method) \(path): \(reply.status) \(reply.text)", file: file, line: line)
        return (reply.status, object?["code"] as? String)
    }

    func testAMissingJobIsNotFoundNotMalformed() async throws {
        await XCTAssertThrowsErrorAsync(try await service.job("job-0000000000000000")) { error in
            XCTAssertEqual((error as? ParleyError)?.code, .notFound, "\(error)")
        }
        let missing = "job-0000000000000000"
        let signature = ["Parley-Signature": String(repeating: "ab", count: 64)]
        let query = Array(#"{"receiver": "brand", "nonce": "\#(String(repeating: "00", count: 16))", "signature": "00"}"#.utf8)
        let operatorHeaders = ["Authorization": "Bearer \(token)"]
        for (method, path, body, headers) in [
            ("GET", "/v1/jobs/\(missing)", nil, [:]),
            ("GET", "/v1/jobs/\(missing)/evidence?nonce=\(String(repeating: "00", count: 16))", nil, [:]),
            ("PUT", "/v1/jobs/\(missing)/datasets/exposures", [0, 0, 0, 1, 0], signature),
            ("POST", "/v1/jobs/\(missing)/queries/conversions", query, ["Content-Type": "application/json"]),
            ("POST", "/v1/jobs/\(missing)/stop", nil, operatorHeaders),
        ] as [(String, String, [UInt8]?, [String: String])] {
            let r = try await refusal(method, path, body: body, headers: headers)
            XCTAssertEqual(r.status, 404, "\(method) \(path)")
            XCTAssertEqual(r.code, "no-job", "\(method) \(path)")
        }
        // A live job is still found on the same paths.
        let job = try await launch()
        let http = http!
        let status = try await blocking { try await http.request("GET", "/v1/jobs/\(job)") }
        XCTAssertEqual(status.status, 200, status.text)
    }

    /// Each defect of a bundle is a 422 `bad-module`: non-canonical or over-cap CBOR used to
    /// answer 500, because only some error codes were taken as the bundle's fault.
    func testEveryBundleThatDoesNotOpenIsRefusedWith422() async throws {
        var altered = bundle
        altered[altered.count - 1] ^= 0x01
        let cases: [(String, [UInt8])] = [
            ("not the shortest form", [0x18, 0x01]),
            ("indefinite length", [0x9F, 0xFF]),
            ("map keys out of order", [0xA2, 0x02, 0x00, 0x01, 0x00]),
            ("nested too deep", [UInt8](repeating: 0x81, count: 200) + [0x00]),
            ("declares more entries than it holds", [0x9B, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]),
            ("not CBOR", Array("a module".utf8)),
            // What schemathesis first sent (seed 20261201): a tagged map declaring more entries than it holds.
            ("the body schemathesis sent", [0xC3, 0xAA, 0x6B, 0xF3, 0x85, 0x98, 0x88, 0xC3, 0xA3, 0x30, 0xF1, 0xA5, 0x9A, 0x91]),
            ("signature altered", altered),
        ]
        for (defect, body) in cases {
            let r = try await refusal("POST", "/v1/jobs", body: body, headers: ["Authorization": "Bearer \(token)"])
            XCTAssertEqual(r.status, 422, defect)
            XCTAssertEqual(r.code, "bad-module", defect)
        }
        let jobs = await service.allJobs
        XCTAssertTrue(jobs.isEmpty, "a refused bundle launches nothing")
        // The real bundle still launches.
        let job = try await launch()
        XCTAssertTrue(job.hasPrefix("job-"), job)
    }

    /// A path or method the API does not have is 404 `not-found` with a JSON error body (it
    /// used to be an empty 404 with no content type).
    func testUnknownPathsAndMethodsAreJSONNotFound() async throws {
        for (method, path) in [("GET", "/v1/nothing"), ("GET", "/"), ("DELETE", "/v1/jobs"), ("PUT", "/v1/health"),
                               ("GET", "/v1/jobs/job-0000000000000000/nothing")] {
            let r = try await refusal(method, path)
            XCTAssertEqual(r.status, 404, "\(method) \(path)")
            XCTAssertEqual(r.code, "not-found", "\(method) \(path)")
        }
    }

    /// An error no handler turns into a refusal is 500 `internal` with the JSON error body, and
    /// its detail (which may name files or state) stays out of the answer.
    func testAnUncaughtErrorIsAJSONInternalErrorThatNamesNoDetail() async throws {
        struct Failure: Error, CustomStringConvertible { var description: String { "secret-detail-1234" } }
        let router = Router()
        router.add(middleware: APIErrorMiddleware())
        router.get("/fails") { _, _ -> Response in throw Failure() }
        router.get("/fine") { _, _ in "ok" }
        let box = BoundPort()
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { box.set($0.localAddress?.port ?? 0) })
        let task = Task { try await app.runService(gracefulShutdownSignals: []) }
        defer { task.cancel() }
        let http = try HTTP(server: "http://127.0.0.1:\(try await box.wait())")
        let failed = try await blocking { try await http.request("GET", "/fails") }
        XCTAssertEqual(failed.status, 500)
        XCTAssertEqual(try failed.json()["code"] as? String, "internal")
        XCTAssertFalse(failed.text.contains("secret-detail"), failed.text)
        let fine = try await blocking { try await http.request("GET", "/fine") }
        XCTAssertEqual(fine.status, 200, "the middleware lets answers through: \(fine.text)")
        XCTAssertEqual(fine.text, "ok")
    }
}

/// A quote provider that fails inside the host, as a broken TPM would.
final class FailingQuoteProvider: QuoteProvider {
    var tier: AssuranceTier { .software }
    func recordLaunch(_ claims: LaunchClaims) throws { throw ParleyError(.unsupported, "the quote provider failed") }
    func evidence(for claims: LaunchClaims, nonce: Nonce) throws -> [UInt8] { throw ParleyError(.unsupported, "the quote provider failed") }
}

/// A failure inside the host is 500 `internal`, not the operator's "bad module" (issue #11, part 7).
final class HTTPInternalFailureTests: HTTPTestCase {
    override func setUp() async throws {
        quoteProvider = { _ in FailingQuoteProvider() }
        try await super.setUp()
    }

    func testALaunchTheQuoteProviderFailsIsInternalNotABadModule() async throws {
        let reply = try await http.request("POST", "/v1/jobs", body: bundle, headers: ["Authorization": "Bearer \(token)"])
        XCTAssertEqual(reply.status, 500, reply.text)
        XCTAssertEqual(try reply.json()["code"] as? String, "internal", reply.text)
        XCTAssertFalse(reply.text.contains("quote provider failed"), "the detail goes to the operator's log, not the client")
    }
}
