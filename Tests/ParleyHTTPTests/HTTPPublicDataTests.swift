import Foundation
import ParleyCore
import ParleyParty
import XCTest

/// The log and the audit export are public by design (anyone may read them, docs/api.md): after
/// a whole job they must hold no secret of the host and no plaintext of the parties.
final class HTTPPublicDataTests: HTTPTestCase {
    func testLogAndExportHoldNoSecretAndNoPlaintext() async throws {
        let job = try await launch()
        let (http, brand, retailer, dir, policy) = (http!, brand, retailer, dir, try policy())
        _ = try await blocking { () -> ResultDocument in
            let w = try await ClientOps.verifiedWorker(http, job: job, policy: policy)
            _ = try await ClientOps.upload(http, job: job, dataset: "exposures", file: dir + "/exposures.csv", key: brand, worker: w, progress: false)
            _ = try await ClientOps.upload(http, job: job, dataset: "purchases", file: dir + "/purchases.csv", key: retailer, worker: w, progress: false)
            return try await ClientOps.runQuery(http, job: job, query: "conversions", receiver: "brand", key: brand, worker: w)
        }
        let export = try await blocking { try await http.request("GET", "/v1/audit/export") }
        XCTAssertEqual(export.status, 200)
        guard case .map(let files) = try CBORDecoder().decode(export.body) else { return XCTFail("the export is a CBOR map") }
        let names = files.keys.compactMap { if case .text(let t) = $0 { return t } else { return nil } }
        XCTAssertFalse(names.isEmpty)
        for name in names {
            XCTAssertFalse(name == "log-key" || name.hasSuffix("/log-key"), name)
            XCTAssertFalse(name.contains("operator-token") || name.contains("quoting-ca") || name.contains("-key.pem")
                           || name.hasSuffix(".sqlite"), "the export must not carry \(name)")
        }
        let entries = try await blocking { try await http.request("GET", "/v1/log/entries?start=0&count=1000") }
        XCTAssertEqual(entries.status, 200)
        var published = entries.body
        for case .bytes(let b) in files.values { published += b }
        // What must never appear: the host's secrets and any plaintext row.
        let data = dir + "/host"
        let logKey = try FileIO.readText(data + "/log-key").trimmingCharacters(in: .whitespacesAndNewlines)
        var secrets = [("the log signing key", String(logKey.split(separator: "+", maxSplits: 4).last ?? "")),
                       ("the operator token", token),
                       ("the quoting root key", try Self.pemBody(data + "/quoting-ca/root-key.pem")),
                       ("the quoting key", try Self.pemBody(data + "/quoting-ca/quoting-key.pem"))]
        let exposures = try FileIO.readText(dir + "/exposures.csv").split(separator: "\n")
        let purchases = try FileIO.readText(dir + "/purchases.csv").split(separator: "\n")
        secrets.append(("an exposures email hash", String(exposures[1].split(separator: ",")[0])))
        secrets.append(("a purchases row", String(purchases[1])))
        let text = String(decoding: published, as: UTF8.self)
        for (what, value) in secrets {
            XCTAssertGreaterThan(value.count, 16, what)
            XCTAssertFalse(text.contains(value), "\(what) is in the public log or export")
            XCTAssertNil(Self.find(Array(value.utf8), in: published), "\(what) is in the public log or export")
        }
    }

    /// The base64 body of a PEM file, first line (enough to recognise the key anywhere).
    static func pemBody(_ path: String) throws -> String {
        let lines = try FileIO.readText(path).split(separator: "\n").filter { !$0.hasPrefix("-----") }
        return String(lines.first ?? "")
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard !needle.isEmpty, haystack.count >= needle.count else { return nil }
        for i in 0...(haystack.count - needle.count) where haystack[i] == needle[0] && Array(haystack[i..<i + needle.count]) == needle {
            return i
        }
        return nil
    }
}
