import Crypto
import Foundation
import XCTest

/// The three-bank example (Enclave/Modules/aml-overlap) with the real binaries: each bank
/// verifies the worker and uploads its alerts in its own identifier form (raw emails and national
/// phone numbers, raw emails and international numbers, SHA-256 hashes), each receives the one
/// query it is declared to receive, and is refused the others'.
final class ThreePartyCLITests: ServeCLITestCase {
    static let banks = ["bank_a", "bank_b", "bank_c"]

    /// Person `i`'s email as a bank writes it (some Gmail addresses with dots and capitals) and
    /// its normalised form, and their UK mobile number in national and E.164 form.
    static func email(_ i: Int) -> (written: String, normalised: String) {
        i % 7 == 0 ? ("First.Last\(i)@Gmail.com", "firstlast\(i)@gmail.com") : ("person\(i)@Example.com", "person\(i)@example.com")
    }

    static func phone(_ i: Int) -> (national: String, e164: String) {
        let subscriber = String(format: "%06d", i)
        return ("07700 \(subscriber)", "+447700\(subscriber)")
    }

    static func sha256(_ text: String) -> String {
        SHA256.hash(data: Array(text.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// Writes the three banks' files. People 0..<400 are flagged by bank_a, 200..<600 by bank_b
    /// (every fifth without an email: matched by phone), 100..<500 by bank_c (every fourth without
    /// an email), plus three rows of bank_c with unusable identifiers.
    func writeAlerts(in dir: String) throws {
        var a = "email,phone,segment,amount,flagged_on\n", b = "email_sha256,phone_sha256,typology\n", c = "email,phone,typology\n"
        for i in 0 ..< 400 {
            a += "\(Self.email(i).written),\(Self.phone(i).national),\(i % 2 == 0 ? "retail" : "business"),\(i % 100 * 10),\(i < 300 ? "2024-06-01" : "2025-06-01")\n"
        }
        for i in 200 ..< 600 {
            b += "\(i % 5 == 0 ? "" : Self.sha256(Self.email(i).normalised)),\(Self.sha256(Self.phone(i).e164)),\(i % 2 == 0 ? "mule" : "structuring")\n"
        }
        for i in 100 ..< 500 {
            // bank_c is in the US: a UK number must be written in international form.
            c += "\(i % 4 == 0 ? "" : Self.email(i).written),\(Self.phone(i).e164.replacingOccurrences(of: "+44", with: "+44 ")),\(i % 3 == 0 ? "sanctions" : "fraud")\n"
        }
        c += "not-an-email,,fraud\n,call me,fraud\nperson100@example.com,12,fraud\n"
        try a.write(toFile: dir + "/alerts_a.csv", atomically: true, encoding: .utf8)
        try b.write(toFile: dir + "/alerts_b.csv", atomically: true, encoding: .utf8)
        try c.write(toFile: dir + "/alerts_c.csv", atomically: true, encoding: .utf8)
    }

    func testThreeBanksEachVerifyUploadAndReceiveOnlyTheirQuery() throws {
        let dir = try temporaryDirectory()
        let url = try startServe(data: dir + "/host")
        for k in Self.banks + ["author"] { XCTAssertEqual(try parley(["keygen", k], in: dir).status, 0) }
        let toml = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Enclave/Modules/aml-overlap/aml-overlap.toml")
        try FileManager.default.copyItem(atPath: toml.path, toPath: dir + "/aml-overlap.toml")
        let sealed = try parley(["module", "seal", "aml-overlap.toml", "--key", "author.key"], in: dir)
        XCTAssertEqual(sealed.status, 0, sealed.err)
        let inspect = try parley(["module", "inspect", "aml-overlap.parley"], in: dir)
        XCTAssertTrue(inspect.out.contains("a person is matched by email, then phone"), inspect.out)
        XCTAssertTrue(inspect.out.contains("matching: a.email = b.email_sha256, else a.phone = b.phone_sha256"), inspect.out)
        let measurement = try parley(["module", "measure", "aml-overlap.parley"], in: dir).out.trimmingCharacters(in: .whitespacesAndNewlines)
        let runtime = try parley(["runtime", "measure"], in: dir).out.trimmingCharacters(in: .whitespacesAndNewlines)
        try """
        quote = "software"
        module = "\(measurement)"
        runtime = ["\(runtime)"]
        quoting_root = "host/quoting-root.pem"
        log_key = "host/log-key.pub"
        """.write(toFile: dir + "/policy.toml", atomically: true, encoding: .utf8)
        try writeAlerts(in: dir)
        let launched = try parley(["job", "launch", "aml-overlap.parley", "--server", url, "--data", "host"], in: dir)
        XCTAssertEqual(launched.status, 0, launched.err)
        let job = launched.out.split(separator: "\n").last.map(String.init) ?? ""

        for (bank, dataset) in zip(Self.banks, ["alerts_a", "alerts_b", "alerts_c"]) {
            let up = try parley(["upload", "--server", url, "--job", job, "--dataset", dataset, "--file", "\(dataset).csv",
                                 "--key", "\(bank).key", "--policy", "policy.toml", "--state", "\(bank)-state"], in: dir)
            XCTAssertEqual(up.status, 0, up.err)
            XCTAssertTrue(up.err.contains("worker verified: software quote"), "\(bank) did not verify first: \(up.err)")
            if dataset == "alerts_c" {
                // 400 + 3 rows; 100 without an email, three with bad identifiers, two of which
                // have nothing usable and are left out.
                XCTAssertTrue(up.out.hasPrefix("accepted alerts_c: 401 rows"), up.out)
                XCTAssertTrue(up.out.contains("note: 103 rows have identifiers the worker could not use"), up.out)
                XCTAssertTrue(up.out.contains("2 of them had no usable identifier at all"), up.out)
                XCTAssertTrue(up.out.contains("email: 101 empty, 1 not an email"), up.out)
                XCTAssertTrue(up.out.contains("phone: 1 empty, 2 not a phone number"), up.out)
                XCTAssertFalse(up.out.contains("call me"), "the report quoted a field")
            } else if dataset == "alerts_b" {
                // Every fifth customer without an email hash: reported, kept, matched by phone.
                XCTAssertTrue(up.out.contains("note: 80 rows have identifiers"), up.out)
                XCTAssertTrue(up.out.contains("0 of them had no usable identifier"), up.out)
                XCTAssertTrue(up.out.contains("email_sha256: 80 empty"), up.out)
            } else {
                XCTAssertFalse(up.out.contains("note:"), up.out)
            }
        }

        // Each bank's own query, with the exact answers it approximates: a ∩ b is people
        // 200..<400, b ∩ c 200..<500, all three 200..<400.
        let expected: [(bank: String, query: String, counts: [String: Int])] = [
            ("bank_a", "shared_with_b", ["retail": 100, "business": 100]),
            ("bank_b", "shared_with_c", ["mule": 150, "structuring": 150]),
            ("bank_c", "flagged_by_all", ["sanctions": 67, "fraud": 133]),
        ]
        for (bank, query, counts) in expected {
            let q = try parley(["query", "run", "--server", url, "--job", job, "--query", query, "--key", "\(bank).key",
                                "--policy", "policy.toml", "--format", "json", "--state", "\(bank)-state"], in: dir)
            XCTAssertEqual(q.status, 0, q.err)
            let object = try JSONSerialization.jsonObject(with: Data(q.out.utf8)) as? [String: Any]
            let rows = object?["rows"] as? [[Any]] ?? []
            var released: [String: Int] = [:]
            for row in rows {
                guard let key = row.first as? String, let count = (row.dropFirst().first as? NSNumber)?.intValue
                    ?? Int(row.dropFirst().first as? String ?? "") else { continue }
                released[key] = count
            }
            XCTAssertEqual(Set(released.keys), Set(counts.keys), "\(query): \(q.out)")
            for (key, truth) in counts {
                // Discrete Laplace noise at epsilon 1 (split over the aggregates): far below 30.
                XCTAssertLessThan(abs((released[key] ?? -1000) - truth), 30, "\(query) \(key): \(q.out)")
            }
            for other in expected where other.bank != bank {
                let refused = try parley(["query", "run", "--server", url, "--job", job, "--query", other.query, "--key", "\(bank).key",
                                          "--policy", "policy.toml", "--state", "\(bank)-state"], in: dir)
                XCTAssertNotEqual(refused.status, 0, "\(bank) received \(other.query)")
                XCTAssertTrue(refused.err.contains("not a declared receiver"), refused.err)
            }
        }
        // A query with typed parameters: bank_a binds them per run. Since 2025 and any amount:
        // people 300..<400 of a ∩ b, half per segment. The client's receipt check finds the
        // release entry with exactly these values, or the run fails.
        let since = ["query", "run", "--server", url, "--job", job, "--query", "shared_since", "--key", "bank_a.key",
                     "--policy", "policy.toml", "--format", "json", "--state", "bank_a-state"]
        let bound = try parley(since + ["--param", "since=2025-01-01", "--param", "min_amount=0"], in: dir)
        XCTAssertEqual(bound.status, 0, bound.err)
        let rows = (try JSONSerialization.jsonObject(with: Data(bound.out.utf8)) as? [String: Any])?["rows"] as? [[Any]] ?? []
        XCTAssertEqual(rows.count, 2, bound.out)
        for row in rows { XCTAssertLessThan(abs(((row.last as? NSNumber)?.intValue ?? -1000) - 50), 30, bound.out) }
        for (params, mentions) in [
            (["--param", "since=2025-01-01"], "parameter @min_amount needs a value"),
            (["--param", "since=2025-01-01", "--param", "min_amount=5"], "parameter @min_amount must be one of 0, 1000, 10000"),
            (["--param", "since=2023-01-01", "--param", "min_amount=0"], "must be from 2024-01-01 to 2026-12-31"),
            (["--param", "since=2025-01-01", "--param", "min_amount=+0"], "write parameter @min_amount as 0"),
            (["--param", "since=2025-01-01", "--param", "min_amount=0", "--param", "region=1"], "declares no parameter @region"),
            (["--param", "since=soon", "--param", "min_amount=0"], "must be a date (YYYY-MM-DD)"),
        ] {
            let refused = try parley(since + params, in: dir)
            XCTAssertNotEqual(refused.status, 0, "\(params) was accepted")
            XCTAssertTrue(refused.err.contains(mentions), "\(params): \(refused.err)")
        }
        let audit = try parley(["audit", "replay", "--server", url, "--state", "auditor-state"], in: dir)
        XCTAssertTrue(audit.out.contains("verdict: PASSED"), audit.out + audit.err)
    }
}
