import Foundation
import XCTest

/// The README's workflow with the real binaries: `parley serve` in the background, then every
/// role's verbs against it, as separate processes.
final class ServeWorkflowCLITests: ServeCLITestCase {
    /// Keys, a sealed module, a policy pinning the log key, and two small CSVs. - Returns: the module measurement.
    func prepareParties(in dir: String) throws {
        for k in ["brand", "retailer", "author"] { XCTAssertEqual(try parley(["keygen", k], in: dir).status, 0) }
        let toml = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Enclave/Modules/campaign-lift/campaign-lift.toml")
        try FileManager.default.copyItem(atPath: toml.path, toPath: dir + "/campaign-lift.toml")
        XCTAssertEqual(try parley(["module", "seal", "campaign-lift.toml", "--key", "author.key"], in: dir).status, 0)
        let measurement = try parley(["module", "measure", "campaign-lift.parley"], in: dir).out.trimmingCharacters(in: .whitespacesAndNewlines)
        let runtime = try parley(["runtime", "measure"], in: dir).out.trimmingCharacters(in: .whitespacesAndNewlines)
        try """
        quote = "software"
        module = "\(measurement)"
        runtime = ["\(runtime)"]
        quoting_root = "host/quoting-root.pem"
        log_key = "host/log-key.pub"
        """.write(toFile: dir + "/policy.toml", atomically: true, encoding: .utf8)
        var exposures = "email_hash,campaign,region\n", purchases = "email_hash,amount,category\n"
        for i in 0..<2000 {
            exposures += "id\(i),\(["a", "b"][i % 2]),1\n"
            if i % 2 == 0 { purchases += "id\(i),\(i % 50).25,soda\n" }
        }
        try exposures.write(toFile: dir + "/exposures.csv", atomically: true, encoding: .utf8)
        try purchases.write(toFile: dir + "/purchases.csv", atomically: true, encoding: .utf8)
    }

    /// Launches a job and uploads both datasets through the CLI. - Returns: the job id.
    func launchAndUpload(_ url: String, in dir: String) throws -> String {
        let launched = try parley(["job", "launch", "campaign-lift.parley", "--server", url, "--data", "host"], in: dir)
        XCTAssertEqual(launched.status, 0, launched.err)
        let job = launched.out.split(separator: "\n").last.map(String.init) ?? ""
        for (ds, key) in [("exposures", "brand"), ("purchases", "retailer")] {
            let up = try parley(["upload", "--server", url, "--job", job, "--dataset", ds, "--file", "\(ds).csv",
                                 "--key", "\(key).key", "--policy", "policy.toml", "--quiet", "--state", "\(key)-state"], in: dir)
            XCTAssertEqual(up.status, 0, up.err)
        }
        return job
    }

    /// SIGKILL of the host while a release is under way: every acknowledged release is in the
    /// log, and the killed job, which has no closing entry, counts as having spent all it could.
    func testSIGKILLDuringAReleaseLosesNoAcknowledgedSpend() throws {
        let dir = try temporaryDirectory()
        try prepareParties(in: dir)
        var url = try startServe(data: dir + "/host")
        let first = try launchAndUpload(url, in: dir)
        let query = ["query", "run", "--server", url, "--job", first, "--query", "conversions", "--key", "brand.key",
                     "--policy", "policy.toml", "--format", "json", "--state", "brand-state"]
        let acknowledged = try parley(query, in: dir)
        XCTAssertEqual(acknowledged.status, 0, acknowledged.err)
        XCTAssertTrue(acknowledged.out.contains("\"budget_left\":\"9\""), acknowledged.out)
        // A second release in flight, and the host killed under it.
        let inFlight = Process()
        inFlight.executableURL = Self.productsDirectory.appendingPathComponent("parley")
        inFlight.arguments = query
        inFlight.currentDirectoryURL = URL(fileURLWithPath: dir)
        inFlight.environment = ProcessInfo.processInfo.environment.merging(["XDG_CONFIG_HOME": dir + "/config"]) { $1 }
        inFlight.standardOutput = FileHandle.nullDevice
        inFlight.standardError = FileHandle.nullDevice
        try inFlight.run()
        guard let host = serve else { return XCTFail("no host") }
        kill(host.processIdentifier, SIGKILL)
        host.waitUntilExit()
        inFlight.waitUntilExit()
        url = try startServe(data: dir + "/host")
        let second = try launchAndUpload(url, in: dir)
        let refused = try parley(["query", "run", "--server", url, "--job", second, "--query", "conversions", "--key", "brand.key",
                                  "--policy", "policy.toml", "--state", "brand-state"], in: dir)
        XCTAssertNotEqual(refused.status, 0, "the relaunch reset the budget")
        XCTAssertTrue(refused.err.contains("budget"), refused.err)
        let audit = try parley(["audit", "replay", "--server", url, "--json", "--state", "auditor-state"], in: dir)
        let report = try JSONSerialization.jsonObject(with: Data(audit.out.utf8)) as? [String: Any]
        XCTAssertEqual(report?["verdict"] as? String, "passed", audit.out)
        let releases = (report?["releases"] as? [[String: Any]] ?? []).filter { $0["job"] as? String == first }
        XCTAssertGreaterThanOrEqual(releases.count, 1, "the acknowledged release is in the log")
        let ledger = (report?["ledgers"] as? [[String: Any]])?.first
        XCTAssertEqual(ledger?["spent"] as? String, "10", "the killed job counts in full")
        // The party's memory outlived the host: a known checkpoint the audit holds the log to.
        let logs = try FileManager.default.contentsOfDirectory(atPath: dir + "/brand-state/logs")
        let known = dir + "/brand-state/logs/" + (logs.first ?? "") + "/checkpoint"
        let held = try parley(["audit", "replay", "--server", url, "--known-checkpoint", known, "--state", "auditor-state"], in: dir)
        XCTAssertEqual(held.status, 0, held.out + held.err)
        XCTAssertTrue(held.out.contains("verdict: PASSED"), held.out)
    }

    func testEveryRoleThroughTheCLI() throws {
        let dir = try temporaryDirectory()
        let url = try startServe(data: dir + "/host")
        for k in ["brand", "retailer", "author"] { XCTAssertEqual(try parley(["keygen", k], in: dir).status, 0) }
        let toml = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Enclave/Modules/campaign-lift/campaign-lift.toml")
        try FileManager.default.copyItem(atPath: toml.path, toPath: dir + "/campaign-lift.toml")
        let sealed = try parley(["module", "seal", "campaign-lift.toml", "--key", "author.key"], in: dir)
        XCTAssertEqual(sealed.status, 0, sealed.err)
        let measurement = try parley(["module", "measure", "campaign-lift.parley"], in: dir).out.trimmingCharacters(in: .whitespacesAndNewlines)
        let runtime = try parley(["runtime", "measure"], in: dir).out.trimmingCharacters(in: .whitespacesAndNewlines)
        try """
        quote = "software"
        module = "\(measurement)"
        runtime = ["\(runtime)"]
        quoting_root = "host/quoting-root.pem"
        """.write(toFile: dir + "/policy.toml", atomically: true, encoding: .utf8)
        var exposures = "email_hash,campaign,region\n", purchases = "email_hash,amount,category\n"
        for i in 0..<2000 {
            exposures += "id\(i),\(["a", "b"][i % 2]),1\n"
            if i % 2 == 0 { purchases += "id\(i),\(i % 50).25,soda\n" }
        }
        try exposures.write(toFile: dir + "/exposures.csv", atomically: true, encoding: .utf8)
        try purchases.write(toFile: dir + "/purchases.csv", atomically: true, encoding: .utf8)

        let launched = try parley(["job", "launch", "campaign-lift.parley", "--server", url, "--data", "host"], in: dir)
        XCTAssertEqual(launched.status, 0, launched.err)
        let job = launched.out.split(separator: "\n").last.map(String.init) ?? ""
        XCTAssertTrue(job.hasPrefix("job-"), launched.out)

        let nonce = String(repeating: "ab", count: 32)
        XCTAssertEqual(try parley(["attest", "fetch", "--server", url, "--job", job, "--nonce", nonce, "-o", "ev.cbor"], in: dir).status, 0)
        let verified = try parley(["attest", "verify", "ev.cbor", "--nonce", nonce, "--policy", "policy.toml", "--nonce-ledger", "ledger"], in: dir)
        XCTAssertEqual(verified.status, 0, verified.err)

        let wrongPolicy = try String(contentsOfFile: dir + "/policy.toml", encoding: .utf8).replacingOccurrences(of: measurement, with: String(repeating: "00", count: 48))
        try wrongPolicy.write(toFile: dir + "/wrong.toml", atomically: true, encoding: .utf8)
        let refused = try parley(["upload", "--server", url, "--job", job, "--dataset", "exposures", "--file", "exposures.csv",
                                  "--key", "brand.key", "--policy", "wrong.toml", "--quiet"], in: dir)
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.err.contains("nothing was sent"), refused.err)

        for (ds, key) in [("exposures", "brand"), ("purchases", "retailer")] {
            let up = try parley(["upload", "--server", url, "--job", job, "--dataset", ds, "--file", "\(ds).csv",
                                 "--key", "\(key).key", "--policy", "policy.toml", "--quiet"], in: dir)
            XCTAssertEqual(up.status, 0, up.err)
            XCTAssertTrue(up.out.hasPrefix("accepted \(ds):"), up.out)
            XCTAssertTrue(up.out.contains("parsed in") && up.out.contains("MB/s"), "the worker's bytes, seconds and rate: \(up.out)")
        }
        let q = try parley(["query", "run", "--server", url, "--job", job, "--query", "conversions", "--key", "brand.key",
                            "--policy", "policy.toml", "--format", "json"], in: dir)
        XCTAssertEqual(q.status, 0, q.err)
        let obj = try JSONSerialization.jsonObject(with: Data(q.out.utf8)) as? [String: Any]
        XCTAssertEqual(obj?["columns"] as? [String], ["campaign", "buyers", "revenue"])
        XCTAssertEqual(obj?["budget_left"] as? String, "9")
        XCTAssertNotNil(obj?["suppressed_groups"])

        let notReceiver = try parley(["query", "run", "--server", url, "--job", job, "--query", "conversions", "--key", "retailer.key",
                                      "--policy", "policy.toml"], in: dir)
        XCTAssertNotEqual(notReceiver.status, 0)
        XCTAssertTrue(notReceiver.err.contains("not a declared receiver"), notReceiver.err)

        let audit = try parley(["audit", "replay", "--server", url], in: dir)
        XCTAssertEqual(audit.status, 0, audit.out + audit.err)
        XCTAssertTrue(audit.out.contains("verdict: PASSED"), audit.out)
        XCTAssertEqual(try parley(["job", "stop", job, "--server", url, "--data", "host"], in: dir).status, 0)
        let cost = try parley(["query", "cost", "campaign-lift.parley", "--query", "conversions"], in: dir)
        XCTAssertTrue(cost.out.contains("epsilon 1"), cost.out)
    }

    /// The evidence interaction (`attest fetch`, `attest verify --server`) uses the client state
    /// like upload and query: it works on the normal path, and a host restored from an older data
    /// directory is refused before any evidence is fetched (issue #14, item 1).
    func testAttestFetchAndVerifyRefuseARolledBackHost() throws {
        let dir = try temporaryDirectory()
        var url = try startServe(data: dir + "/host")
        try prepareParties(in: dir)
        let first = try parley(["job", "launch", "campaign-lift.parley", "--server", url, "--data", "host"], in: dir)
        XCTAssertEqual(first.status, 0, first.err)
        stopServe()
        try FileManager.default.copyItem(atPath: dir + "/host", toPath: dir + "/host-old")
        url = try startServe(data: dir + "/host")
        let launched = try parley(["job", "launch", "campaign-lift.parley", "--server", url, "--data", "host"], in: dir)
        XCTAssertEqual(launched.status, 0, launched.err)
        let job = launched.out.split(separator: "\n").last.map(String.init) ?? ""
        // The normal path: fetch and verify against the live host, remembering its checkpoint.
        let nonce = String(repeating: "cd", count: 32)
        let fetched = try parley(["attest", "fetch", "--server", url, "--job", job, "--nonce", nonce, "--policy", "policy.toml",
                                  "-o", "ev.cbor", "--state", "brand-state"], in: dir)
        XCTAssertEqual(fetched.status, 0, fetched.err)
        XCTAssertFalse(fetched.err.contains("warning"), "the policy pins the log key: \(fetched.err)")
        let verified = try parley(["attest", "verify", "ev.cbor", "--nonce", nonce, "--policy", "policy.toml", "--nonce-ledger", "ledger",
                                   "--server", url, "--state", "brand-state"], in: dir)
        XCTAssertEqual(verified.status, 0, verified.err)
        let logs = try FileManager.default.contentsOfDirectory(atPath: dir + "/brand-state/logs")
        XCTAssertEqual(logs.count, 1)
        let memory = dir + "/brand-state/logs/" + (logs.first ?? "") + "/checkpoint"
        let remembered = try Data(contentsOf: URL(fileURLWithPath: memory))
        // The operator restores the older data directory (the same log key, fewer entries).
        stopServe()
        try FileManager.default.removeItem(atPath: dir + "/host")
        try FileManager.default.moveItem(atPath: dir + "/host-old", toPath: dir + "/host")
        url = try startServe(data: dir + "/host")
        let again = String(repeating: "ef", count: 32)
        let refused = try parley(["attest", "fetch", "--server", url, "--job", job, "--nonce", again, "--policy", "policy.toml",
                                  "-o", "ev2.cbor", "--state", "brand-state"], in: dir)
        XCTAssertEqual(refused.status, 1, refused.err)
        XCTAssertTrue(refused.err.contains("entries") && refused.err.contains("checkpoint of"), refused.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/ev2.cbor"), "evidence was fetched from a rolled-back host")
        let refusedVerify = try parley(["attest", "verify", "ev.cbor", "--nonce", nonce, "--policy", "policy.toml", "--nonce-ledger", "ledger2",
                                        "--server", url, "--state", "brand-state", "--json"], in: dir)
        XCTAssertEqual(refusedVerify.status, 3, refusedVerify.err)
        XCTAssertTrue(refusedVerify.err.contains("refused:") && refusedVerify.err.contains("checkpoint of"), refusedVerify.err)
        let json = try JSONSerialization.jsonObject(with: Data(refusedVerify.out.utf8)) as? [String: Any]
        XCTAssertEqual(json?["verdict"] as? String, "refused")
        XCTAssertEqual((json?["reasons"] as? [[String: Any]])?.first?["code"] as? String, "logRolledBack", refusedVerify.out)
        // The memory was not overwritten by the smaller log; the same evidence still verifies offline.
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: memory)), remembered)
        let offline = try parley(["attest", "verify", "ev.cbor", "--nonce", nonce, "--policy", "policy.toml", "--nonce-ledger", "ledger3"], in: dir)
        XCTAssertEqual(offline.status, 0, offline.err)
    }

    /// `--tls-cert`/`--tls-key`: the API is served over HTTPS (checked with curl and the CA).
    func testServeOverTLS() throws {
        let dir = try temporaryDirectory()
        let gen = Process()
        gen.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        gen.arguments = ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", dir + "/k.pem",
                         "-out", dir + "/c.pem", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-days", "1"]
        gen.standardError = FileHandle.nullDevice
        try gen.run()
        gen.waitUntilExit()
        XCTAssertEqual(gen.terminationStatus, 0)
        let url = try startServe(data: dir + "/host", extra: ["--tls-cert", dir + "/c.pem", "--tls-key", dir + "/k.pem"])
        XCTAssertTrue(url.hasPrefix("https://"), url)
        func curl(_ args: [String]) throws -> (Int32, String) {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
            p.arguments = ["-sS", "--max-time", "10"] + args
            let out = Pipe()
            p.standardOutput = out
            p.standardError = FileHandle.nullDevice
            try p.run()
            let o = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            return (p.terminationStatus, o)
        }
        let ok = try curl(["--cacert", dir + "/c.pem", url + "/v1/health"])
        XCTAssertEqual(ok.0, 0)
        XCTAssertEqual(ok.1, #"{"status":"ok"}"#)
        XCTAssertNotEqual(try curl([url + "/v1/health"]).0, 0, "an untrusted certificate is refused by the client")
        XCTAssertNotEqual(try curl([url.replacingOccurrences(of: "https", with: "http") + "/v1/health"]).1, #"{"status":"ok"}"#, "no plain HTTP")
        let bad = try run("parley", ["serve", "--data", dir + "/h2", "--listen", "127.0.0.1:0", "--tls-cert", dir + "/missing.pem", "--tls-key", dir + "/k.pem"])
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.err.contains("cannot use the TLS certificate"), bad.err)
    }
}
