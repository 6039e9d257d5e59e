import Foundation
import ParleyCore
import ParleyParty
import ParleyTestSupport
import XCTest

/// Bad input gets a 4xx, never a 5xx: a bounded, seeded fuzz run of malformed requests against
/// the live server (every endpoint, bad ids, numbers, nonces, signatures, tokens and bodies),
/// plus the regressions it found.
final class HTTPAPIFuzzTests: HTTPTestCase {
    struct Generator {
        var rng: SplitMix64
        let job: String
        let token: String

        mutating func pick<T>(_ options: [T]) -> T { options[Int.random(in: 0..<options.count, using: &rng)] }

        mutating func junk(_ maxLength: Int) -> String {
            let alphabet = Array("abcXYZ019-_.%/~:@!$&'()*+,;=?#[]\\ \u{7f}é")
            return String((0..<Int.random(in: 0...maxLength, using: &rng)).map { _ in pick(alphabet) })
        }

        mutating func id() -> String {
            pick([job, job, "no-such-job", "..", "%2e%2e", String(repeating: "a", count: 300), "", junk(20), job + "x"])
        }

        mutating func number() -> String {
            pick(["0", "1", "2", "-1", "18446744073709551615", "18446744073709551616", "abc", "", "1e3", " 1",
                  String(Int.random(in: 0...5000, using: &rng)), "99999999999999999999999999"])
        }

        mutating func hex() -> String {
            let n = Int.random(in: 0...80, using: &rng)
            let bytes = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
            return pick([Hex.encode(bytes), Hex.encode(bytes) + "z", junk(12), String(repeating: "00", count: 64)])
        }

        mutating func path() -> String {
            pick([
                "/v1/health", "/v1/jobs", "/v1/jobs/\(id())", "/v1/jobs/\(id())/evidence?nonce=\(hex())",
                "/v1/jobs/\(id())/evidence", "/v1/jobs/\(id())/datasets/\(pick(["exposures", "purchases", junk(8)]))",
                "/v1/jobs/\(id())/queries/\(pick(["reach", "lift", junk(8)]))", "/v1/jobs/\(id())/stop",
                "/v1/log/checkpoint", "/v1/log/entries?start=\(number())&count=\(number())", "/v1/log/entries?start=\(number())",
                "/v1/log/proof/inclusion?index=\(number())&size=\(number())",
                "/v1/log/proof/consistency?first=\(number())&second=\(number())", "/v1/audit/export",
                "/v1/\(junk(30))", "/\(junk(10))",
            ])
        }

        mutating func body() -> [UInt8] {
            switch Int.random(in: 0..<4, using: &rng) {
            case 0: return []
            case 1: return (0..<Int.random(in: 1...2000, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            case 2:
                let fields = ["\"receiver\": \(pick(["\"brand\"", "\"retailer\"", "1", "null", "\"\(junk(8))\""]))",
                              "\"nonce\": \(pick(["\"\(hex())\"", "7", "[]"]))", "\"signature\": \"\(hex())\""]
                return Array("{\(fields.shuffled(using: &rng).prefix(Int.random(in: 0...3, using: &rng)).joined(separator: ","))".utf8)
                    + (Bool.random(using: &rng) ? Array("}".utf8) : [])
            default: return Array("\u{0}\u{0}\u{0}\u{8}\(junk(8))".utf8)
            }
        }

        /// One request, well-framed HTTP/1.1 with malformed content.
        mutating func request() -> (summary: String, raw: [UInt8]) {
            let method = pick(["GET", "GET", "POST", "PUT", "DELETE", "PATCH"])
            let target = path().replacingOccurrences(of: " ", with: "%20").replacingOccurrences(of: "#", with: "%23")
            var headers = ["Host: 127.0.0.1", "Connection: close"]
            switch Int.random(in: 0..<4, using: &rng) {
            case 0: headers.append("Authorization: Bearer \(token)")
            case 1: headers.append("Authorization: Bearer \(hex())")
            case 2: headers.append("Authorization: \(junk(10))")
            default: break
            }
            if Bool.random(using: &rng) { headers.append("Parley-Signature: \(hex())") }
            let body = body()
            if !body.isEmpty || Bool.random(using: &rng) { headers.append("Content-Length: \(body.count)") }
            let head = "\(method) \(target) HTTP/1.1\r\n" + headers.joined(separator: "\r\n") + "\r\n\r\n"
            return ("\(method) \(target) [\(body.count) body bytes]", Array(head.utf8) + body)
        }
    }

    func testMalformedRequestsGetFourHundredsNeverFiveHundreds() async throws {
        let job = try await launch()
        let environment = ProcessInfo.processInfo.environment
        let seed = environment["PARLEY_API_FUZZ_SEED"].flatMap(UInt64.init) ?? 0x5EED_15
        let count = environment["PARLEY_API_FUZZ_REQUESTS"].flatMap(Int.init) ?? 300
        var generator = Generator(rng: SplitMix64(seed: seed), job: job, token: token)
        let port = http.base.port ?? 0
        let requests = (0..<count).map { _ in generator.request() }
        let outcomes = try await blocking {
            try requests.map { r in (r.summary, try RawHTTPConnection.request(port: port, r.raw).status) }
        }
        var answered = 0
        var byStatus: [Int: Int] = [:]
        for (summary, status) in outcomes {
            guard let status else { continue }
            answered += 1
            byStatus[status, default: 0] += 1
            XCTAssertLessThan(status, 500, "\(summary) got \(status) (seed \(seed))")
        }
        XCTAssertGreaterThan(answered, count * 9 / 10, "most requests must be answered: \(byStatus)")
        XCTAssertGreaterThan(byStatus.filter { (400..<500).contains($0.key) }.values.reduce(0, +), count / 2, "\(byStatus)")
        let health = try await blocking { try RawHTTPConnection.request(port: port, HTTPDeadlineTests.health) }
        XCTAssertEqual(health.status, 200, "the server still serves after the run")
    }

    /// A proof range beyond the log used to answer 500.
    func testLogRangesOutsideTheLogAreClientErrors() async throws {
        let http = http!
        for (path, code) in [("/v1/log/proof/inclusion?index=5&size=2", "out-of-range"),
                             ("/v1/log/proof/inclusion?index=0&size=99999", "out-of-range"),
                             ("/v1/log/proof/consistency?first=9&second=2", "out-of-range"),
                             ("/v1/log/proof/consistency?first=0&second=99999", "out-of-range"),
                             ("/v1/log/entries?start=99999&count=1", "out-of-range"),
                             ("/v1/log/entries?start=0&count=-1", "bad-request"),
                             ("/v1/log/entries?start=x", "bad-request")] {
            let r = try await blocking { try await http.request("GET", path) }
            XCTAssertEqual(r.status, 400, path)
            XCTAssertEqual(try r.json()["code"] as? String, code, path)
        }
        let ok = try await blocking { try await http.request("GET", "/v1/log/proof/consistency?first=0&second=0") }
        XCTAssertEqual(ok.status, 200)
    }
}
