import Foundation
import XCTest

/// docs/openapi.yaml holds for the live `parley serve`: the document is valid OpenAPI 3.1
/// (openapi-spec-validator), and the requests schemathesis generates from it for every
/// operation get only answers it documents (status code, content type, headers, body schema),
/// never a 5xx. The pinned tools live in .build-venv/, which Scripts/setup.sh installs; without
/// them these tests fail and say so. docs/api.md ("Conformance test") shows the same run by hand.
extension ServeWorkflowCLITests {
    static var repository: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    static var openAPIDocument: String { repository.appendingPathComponent("docs/openapi.yaml").path }

    /// The checks every response must pass (schemathesis names them so).
    static let conformanceChecks = ["not_a_server_error", "status_code_conformance", "content_type_conformance",
                                    "response_headers_conformance", "response_schema_conformance"]

    /// A tool from the conformance venv. - Throws: after failing the test, when the venv is missing.
    func conformanceTool(_ name: String) throws -> String {
        let path = Self.repository.appendingPathComponent(".build-venv/bin/\(name)").path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            XCTFail("\(path) is missing: run Scripts/setup.sh, which installs the pinned API conformance tools "
                    + "(Scripts/api-conformance-requirements.txt) into .build-venv/")
            throw CocoaError(.fileNoSuchFile)
        }
        return path
    }

    /// Runs `executable` with stdout and stderr together, killed after `timeout` seconds.
    func runTool(_ executable: String, _ args: [String], in dir: String, timeout: TimeInterval) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = args
        p.currentDirectoryURL = URL(fileURLWithPath: dir)
        // Hypothesis keeps its example database and schemathesis its reports in the working
        // directory or HOME: both point into the test's own directory.
        p.environment = ProcessInfo.processInfo.environment.merging(["HOME": dir, "NO_COLOR": "1", "COLUMNS": "160"]) { $1 }
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let killer = DispatchWorkItem { if p.isRunning { p.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: killer)
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        killer.cancel()
        return (p.terminationStatus, String(decoding: output, as: UTF8.self))
    }

    func testTheOpenAPIDocumentIsValidOpenAPI31() throws {
        let validator = try conformanceTool("openapi-spec-validator")
        let dir = try temporaryDirectory()
        let result = try runTool(validator, [Self.openAPIDocument], in: dir, timeout: 60)
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertTrue(result.output.contains("OK"), result.output)
        // The validator must be able to fail: a document with an undefined reference does not pass.
        let broken = try String(contentsOfFile: Self.openAPIDocument, encoding: .utf8)
            .replacingOccurrences(of: "#/components/schemas/Error\"", with: "#/components/schemas/NoSuchSchema\"")
        try broken.write(toFile: dir + "/broken.yaml", atomically: true, encoding: .utf8)
        XCTAssertNotEqual(try runTool(validator, [dir + "/broken.yaml"], in: dir, timeout: 60).status, 0)
    }

    /// schemathesis against a live host with a job that has one dataset in: first every
    /// operation with generated ids (unknown jobs), then the job's own paths with its real id
    /// and its module's dataset and query names, then the same after the job is stopped, and
    /// the jobs paths once more after a restart of the host.
    func testTheLiveServerAnswersAsTheOpenAPIDocumentSays() throws {
        let schemathesis = try conformanceTool("schemathesis")
        let started = Date()
        let dir = try temporaryDirectory()
        try prepareParties(in: dir)
        var url = try startServe(data: dir + "/host")
        let launched = try parley(["job", "launch", "campaign-lift.parley", "--server", url, "--data", "host"], in: dir)
        XCTAssertEqual(launched.status, 0, launched.err)
        let job = launched.out.split(separator: "\n").last.map(String.init) ?? ""
        let up = try parley(["upload", "--server", url, "--job", job, "--dataset", "exposures", "--file", "exposures.csv",
                             "--key", "brand.key", "--policy", "policy.toml", "--quiet", "--state", "brand-state"], in: dir)
        XCTAssertEqual(up.status, 0, up.err)
        let token = try String(contentsOfFile: dir + "/host/operator-token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)

        let environment = ProcessInfo.processInfo.environment
        let seed = environment["PARLEY_SCHEMATHESIS_SEED"] ?? "20261201"
        let examples = environment["PARLEY_SCHEMATHESIS_EXAMPLES"] ?? "25"
        // The job's own names: every `id` is the live job; datasets and queries the module
        // declares; uploads carry a well-formed (but not the provider's) signature, so they
        // get past the header check to the stream and signature checks.
        try """
        [parameters]
        id = "\(job)"

        [[operations]]
        include-path = "/v1/jobs/{id}/datasets/{name}"
        parameters = { name = "purchases" }
        headers = { "Parley-Signature" = "\(String(repeating: "ab", count: 64))" }

        [[operations]]
        include-path = "/v1/jobs/{id}/queries/{name}"
        parameters = { name = "conversions" }
        """.write(toFile: dir + "/live-job.toml", atomically: true, encoding: .utf8)

        func run(_ pass: String, config: String? = nil, _ filter: [String]) throws {
            var args = config.map { ["--config-file", $0] } ?? []
            args += ["run", Self.openAPIDocument, "--url", url, "--header", "Authorization: Bearer \(token)",
                     "--checks", Self.conformanceChecks.joined(separator: ","), "--max-examples", examples, "--seed", seed,
                     "--generation-database", "none", "--workers", "1", "--request-timeout", "20", "--no-color"] + filter
            let t0 = Date()
            let result = try runTool(schemathesis, args, in: dir, timeout: 240)
            let summary = result.output.split(separator: "\n").filter {
                $0.contains("passed") || $0.contains("failed") || $0.contains("generated") || $0.contains("test cases") || $0.contains("error")
            }.suffix(12).joined(separator: "\n")
            print("schemathesis, \(pass) (seed \(seed), \(examples) examples per operation, \(String(format: "%.1f", Date().timeIntervalSince(t0))) s):\n\(summary)")
            XCTAssertEqual(result.status, 0, "schemathesis found responses that do not match docs/openapi.yaml (\(pass), seed \(seed)):\n"
                           + String(result.output.suffix(12_000)))
        }
        try run("every operation, generated ids", [])
        try run("the live job's paths", config: dir + "/live-job.toml",
                ["--include-path-regex", "^/v1/jobs/\\{id\\}", "--exclude-path", "/v1/jobs/{id}/stop"])
        let stopped = try parley(["job", "stop", job, "--server", url, "--data", "host"], in: dir)
        XCTAssertEqual(stopped.status, 0, stopped.err)
        try run("the stopped job's paths", config: dir + "/live-job.toml", ["--include-path-regex", "^/v1/jobs/\\{id\\}"])
        // After a restart the job is known only to the job store (a shorter status).
        stopServe()
        url = try startServe(data: dir + "/host")
        try run("the job store's record after a restart", config: dir + "/live-job.toml", ["--include-path-regex", "^/v1/jobs"])
        print("API conformance: \(String(format: "%.1f", Date().timeIntervalSince(started))) s in all")
    }
}
