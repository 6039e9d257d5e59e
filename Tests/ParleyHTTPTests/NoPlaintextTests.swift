import Foundation
import ParleyAudit
import ParleyCore
import ParleyParty
import XCTest

/// No plaintext in any message or log (issue #13, point 3): distinctive sentinel values are
/// fed through every way a CSV upload can be refused, over the real HTTP API into real worker
/// processes; none may appear in an HTTP body (what the provider and the operator see) or in
/// any log entry (what everyone sees), and each refusal must still name the row and column.
final class NoPlaintextTests: HTTPTestCase {
    static let sentinel = "zq7sentinel"
    /// A row of good purchases so that the bad record is row 3.
    static let good = "0000000000000000000000000000000000000000000000000000000000000001,12.50,soda\n"

    /// Each case: what is wrong, the CSV, the dataset, and what the refusal must name.
    static var cases: [(label: String, csv: [UInt8], dataset: String, mentions: [String])] {
        let header = "email_hash,amount,category\n"
        let s = sentinel
        return [
            ("decimal holds an e-mail address", Array((header + good + "ab,\(s)@example.com,juice\n").utf8), "purchases", ["row 3", "amount", "decimal"]),
            ("int holds text", Array(("email_hash,campaign,region\nab,spring,1\ncd,fall,\(s)-42\n").utf8), "exposures", ["row 3", "region", "int"]),
            ("no header: the first data row is read as one", Array(("\(s)@example.com,12.50,soda\n").utf8), "purchases", ["row 1", "header"]),
            ("text after a closing quote", Array((header + good + "ab,1.0,\"\(s)\"x\n").utf8), "purchases", ["row 3", "category"]),
            ("a quote inside an unquoted field", Array((header + good + "ab,1.0,\(s)\"x\n").utf8), "purchases", ["row 3", "category"]),
            ("too many fields", Array((header + good + "ab,1.0,soda,\(s)\n").utf8), "purchases", ["row 3"]),
            ("too few fields", Array((header + good + "\(s)-only\n").utf8), "purchases", ["row 3"]),
            ("a field over the length limit", Array((header + good + "ab,1.0," + String(repeating: s, count: 500) + "\n").utf8), "purchases", ["row 3", "category"]),
            ("invalid UTF-8", Array((header + good + "ab,1.0,\(s)").utf8) + [0xC3, 0x28] + Array("\n".utf8), "purchases", ["row 3", "category"]),
            ("a never-closed quote", Array((header + good + "ab,1.0,\"\(s)\n").utf8), "purchases", ["row 3"]),
        ]
    }

    func testNoRefusalQuotesTheUploadInAnHTTPBodyOrTheLog() async throws {
        let job = try await launch()
        let (http, brand, retailer, dir, policy) = (http!, brand, retailer, dir, try policy())
        let worker = try await blocking { try await ClientOps.verifiedWorker(http, job: job, policy: policy) }
        for (index, c) in Self.cases.enumerated() {
            let path = dir + "/bad-\(index).csv"
            FileManager.default.createFile(atPath: path, contents: Data(c.csv))
            let key = c.dataset == "purchases" ? retailer : brand
            let sealed = try PartyClient.SealedUpload(path: path, job: job, dataset: c.dataset, worker: worker.claims, key: key, chunkSize: 4096)
            var stream: [UInt8] = []
            while let piece = try sealed.next() { stream += piece }
            let (body, headers) = (stream, ["Parley-Signature": Hex.encode(sealed.signature)])
            let reply = try await blocking { try await http.request("PUT", "/v1/jobs/\(job)/datasets/\(c.dataset)", body: body, headers: headers) }
            XCTAssertEqual(reply.status, 422, "\(c.label): \(reply.text)")
            XCTAssertFalse(reply.text.contains(Self.sentinel), "\(c.label): the HTTP body quotes the upload: \(reply.text)")
            for word in c.mentions {
                XCTAssertTrue(reply.errorMessage.contains(word), "\(c.label): the refusal must name \(word): \(reply.errorMessage)")
            }
        }
        // Every entry of the public log, byte for byte: no sentinel, and each refusal a code.
        let entries = try CBORDecoder().decode(try await http.request("GET", "/v1/log/entries?start=0&count=1000").body).arrayValue("entries")
        var refusals: [String] = []
        for entry in entries {
            let bytes = try entry.bytesValue("entry")
            XCTAssertNil(bytes.firstRange(of: Array(Self.sentinel.utf8)), "a log entry quotes the upload")
            if case .uploadRefused(_, let code) = try LogRecord(bytes: bytes).body { refusals.append(code) }
        }
        XCTAssertEqual(refusals, Array(repeating: RefusalCode.invalidCSV.rawValue, count: Self.cases.count))
    }

    /// The source scan: an error raised while reading an upload may interpolate only public
    /// numbers and module identifiers, never the bytes or text of a field.
    func testUploadErrorsInterpolateNoFieldContents() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let allowed = try NSRegularExpression(pattern: #"^(limits\.\w+|schema\.name|schema\.columns\.map\(\\\.name\)\.joined\(separator: "[, ]*"\)|fileToSchema\.count( \+ 1)?|position|DecimalValue\.scale|bytes\.count|maxRecordBytes|dataset|u\.dataset|decl\.provider)$"#)
        let interpolation = try NSRegularExpression(pattern: #"\\\(((?:[^()]|\([^()]*(?:\([^()]*\))?[^()]*\))*)\)"#)
        var offending: [String] = []
        for file in ["Enclave/ParleyEngine/CSVLoader.swift", "Enclave/ParleyEngine/CSVReader.swift", "Enclave/ParleyEngine/CSVBatch.swift",
                     "Enclave/ParleyEngine/CSVStreamLoader.swift", "Enclave/ParleyWorker/WorkerRuntime.swift"] {
            let text = try String(contentsOf: root.appendingPathComponent(file), encoding: .utf8)
            for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
            where line.contains("fail(") || line.contains("CSVError(") || line.contains("Malformed(") || line.contains("failure = (")
                || line.contains("refusedUpload(") {
                let s = String(line)
                for match in interpolation.matches(in: s, range: NSRange(s.startIndex..., in: s)) {
                    guard let range = Range(match.range(at: 1), in: s) else { continue }
                    let expression = String(s[range])
                    if allowed.firstMatch(in: expression, range: NSRange(expression.startIndex..., in: expression)) == nil {
                        offending.append("\(file):\(number + 1): \\(\(expression))")
                    }
                }
            }
        }
        XCTAssertEqual(offending, [], "an upload refusal interpolates something that may be data")
    }
}
