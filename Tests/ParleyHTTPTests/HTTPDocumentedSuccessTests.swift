import Foundation
import ParleyAttestation
import ParleyCore
import ParleyParty
import XCTest

/// The answers schemathesis cannot reach, because only a party's key can sign them (uploads,
/// queries) or only a real bundle launches: a whole job over raw HTTP, every response recorded
/// and checked against docs/openapi.yaml by Scripts/check-api-responses.py (status documented,
/// content type listed, JSON body matching its schema). The venv is Scripts/setup.sh's.
final class HTTPDocumentedSuccessTests: HTTPTestCase {
    struct Recorded: Codable { let method: String, path: String, file: String }
    var recorded: [Recorded] = []

    /// Sends one request (`Connection: close`), records the raw response for the check, checks
    /// its status, and returns its body.
    @discardableResult
    func exchange(_ method: String, _ template: String, _ target: String, body: [UInt8] = [], headers: [String: String] = [:],
                  expect: Int = 200, file: StaticString = #filePath, line: UInt = #line) async throws -> [UInt8] {
        let port = http.base.port ?? 0
        let head = ["\(method) \(target) HTTP/1.1", "Host: 127.0.0.1", "Connection: close", "Content-Length: \(body.count)"]
            + headers.map { "\($0.key): \($0.value)" }
        let raw = try await blocking { try RawHTTPConnection.request(port: port, Array((head.joined(separator: "\r\n") + "\r\n\r\n").utf8) + body) }
        let saved = dir + "/response-\(recorded.count).http"
        try Data(raw.bytes).write(to: URL(fileURLWithPath: saved))
        recorded.append(Recorded(method: method, path: template, file: saved))
        let split = raw.bytes.firstRange(of: Array("\r\n\r\n".utf8))
        let answer = split.map { Array(raw.bytes[$0.upperBound...]) } ?? []
        XCTAssertEqual(raw.status, expect, "\(method) \(target): \(String(decoding: answer, as: UTF8.self))", file: file, line: line)
        return answer
    }

    func testEverySuccessOfAWholeJobIsAsDocumented() async throws {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let python = repository.appendingPathComponent(".build-venv/bin/python").path
        guard FileManager.default.isExecutableFile(atPath: python) else {
            return XCTFail("\(python) is missing: run Scripts/setup.sh, which installs the pinned API conformance tools into .build-venv/")
        }
        let bearer = ["Authorization": "Bearer \(token)"]
        try await exchange("GET", "/v1/health", "/v1/health")
        let launched = try await exchange("POST", "/v1/jobs", "/v1/jobs", body: bundle, headers: bearer.merging(["Content-Type": "application/cbor"]) { $1 },
                                          expect: 201)
        let job = try JSONSerialization.jsonObject(with: Data(launched)) as? [String: Any]
        let id = job?["job"] as? String ?? ""
        try await exchange("GET", "/v1/jobs", "/v1/jobs", headers: bearer)
        try await exchange("GET", "/v1/jobs/{id}", "/v1/jobs/\(id)")
        try await exchange("GET", "/v1/jobs/{id}/evidence", "/v1/jobs/\(id)/evidence?nonce=\(Hex.encode(Nonce.random().bytes))")

        let (http, policy) = (http!, try policy())
        let worker = try await blocking { try await ClientOps.verifiedWorker(http, job: id, policy: policy) }
        for (dataset, key) in [("exposures", brand), ("purchases", retailer)] {
            let sealed = try PartyClient.SealedUpload(path: dir + "/\(dataset).csv", job: id, dataset: dataset, worker: worker.claims, key: key)
            var stream: [UInt8] = []
            while let piece = try sealed.next() { stream += piece }
            try await exchange("PUT", "/v1/jobs/{id}/datasets/{name}", "/v1/jobs/\(id)/datasets/\(dataset)", body: stream,
                               headers: ["Parley-Signature": Hex.encode(sealed.signature), "Content-Type": "application/octet-stream"])
        }
        try await exchange("GET", "/v1/jobs/{id}", "/v1/jobs/\(id)")
        let request = try PartyClient.queryRequest(job: id, query: "conversions", receiver: "brand", key: brand)
        let query = try JSONSerialization.data(withJSONObject: ["receiver": "brand", "nonce": Hex.encode(request.nonce), "signature": Hex.encode(request.signature)])
        try await exchange("POST", "/v1/jobs/{id}/queries/{name}", "/v1/jobs/\(id)/queries/conversions", body: Array(query),
                           headers: ["Content-Type": "application/json"])
        for (template, target) in [("/v1/log/checkpoint", "/v1/log/checkpoint"), ("/v1/log/key", "/v1/log/key"),
                                   ("/v1/log/entries", "/v1/log/entries?start=0&count=5"),
                                   ("/v1/log/index", "/v1/log/index?job=\(id)&kind=worker&before=3&limit=2"),
                                   ("/v1/log/proof/inclusion", "/v1/log/proof/inclusion?index=1&size=3"),
                                   ("/v1/log/proof/consistency", "/v1/log/proof/consistency?first=1&second=3"),
                                   ("/v1/audit/export", "/v1/audit/export")] {
            try await exchange("GET", template, target)
        }
        try await exchange("POST", "/v1/jobs/{id}/stop", "/v1/jobs/\(id)/stop", headers: bearer)
        try await exchange("GET", "/v1/jobs/{id}", "/v1/jobs/\(id)")

        let manifest = dir + "/responses.json"
        try JSONEncoder().encode(recorded).write(to: URL(fileURLWithPath: manifest))
        let checker = [repository.appendingPathComponent("Scripts/check-api-responses.py").path]
        let result = try await blocking { try Self.run(python, checker + [repository.appendingPathComponent("docs/openapi.yaml").path, manifest]) }
        print("check-api-responses: \(result.output)")
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertTrue(result.output.contains("\(recorded.count) responses checked, 0 mismatches"), result.output)
        // The check can fail: a response the document does not describe is reported.
        try Data("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}".utf8)
            .write(to: URL(fileURLWithPath: dir + "/wrong.http"))
        try JSONEncoder().encode([Recorded(method: "GET", path: "/v1/health", file: dir + "/wrong.http")]).write(to: URL(fileURLWithPath: manifest))
        let wrong = try await blocking { try Self.run(python, checker + [repository.appendingPathComponent("docs/openapi.yaml").path, manifest]) }
        XCTAssertEqual(wrong.status, 1, wrong.output)
        XCTAssertTrue(wrong.output.contains("'status' is a required property"), wrong.output)
    }

    /// Runs a program to its end, stdout and stderr together.
    static func run(_ executable: String, _ args: [String]) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = args
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: output, as: UTF8.self))
    }
}
