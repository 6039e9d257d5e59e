import Foundation
import ParleyAttestation
import ParleyCore

/// What the party and operator verbs (and `parley demo`) do over HTTP.
public enum ClientOps {
    public static func launch(_ http: HTTP, token: String, bundle: [UInt8]) throws -> [String: Any] {
        let r = try http.request("POST", "/v1/jobs", body: bundle, headers: ["Authorization": "Bearer \(token)", "Content-Type": "application/cbor"])
        guard r.status == 201 else { throw ParleyError(.verificationFailed, "launch refused (\(r.status)): \(r.errorMessage)") }
        return try r.json()
    }

    /// Fetches evidence for a fresh nonce and verifies it against the party's policy; evidence whose
    /// launch names another job than `job` is refused.
    /// - Throws: the refusal, with every reason; nothing is sent to the worker in that case.
    public static func verifiedWorker(_ http: HTTP, job: String, policy: AppraisalPolicy) throws -> AttestationResult {
        let nonce = Nonce.random()
        let r = try http.request("GET", "/v1/jobs/\(job)/evidence?nonce=\(nonce.hex)")
        guard r.status == 200 else { throw ParleyError(.io, "no evidence for \(job) (\(r.status)): \(r.errorMessage)") }
        var ledger = InMemoryNonceLedger()
        switch AttestationVerifier(policy: policy, now: Date()).verify(r.body, nonce: nonce, ledger: &ledger, job: job) {
        case .trusted(let result):
            if let warning = result.warning { FileHandle.standardError.write(Data("parley: \(warning)\n".utf8)) }
            return result
        case .refused(let reasons):
            throw ParleyError(.verificationFailed, "the worker's evidence does not meet your policy, so nothing was sent: "
                              + reasons.map(\.description).joined(separator: "; "))
        }
    }

    /// Seals `file` to the attested worker into a private temporary file (bounded memory), then
    /// streams it to the host. - Returns: the receipt.
    public static func upload(_ http: HTTP, job: String, dataset: String, file: String, key: PartyPrivateKey, worker: AttestationResult,
                       progress: Bool = true) throws -> [String: Any] {
        let sealed = try PartyClient.SealedUpload(path: file, job: job, dataset: dataset, worker: worker.claims, key: key)
        let tmpDir = FileManager.default.temporaryDirectory.appendingPathComponent("parley-upload-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmpDir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        defer { try? FileManager.default.removeItem(at: tmpDir) }
        let tmp = tmpDir.appendingPathComponent("stream")
        FileManager.default.createFile(atPath: tmp.path, contents: nil, attributes: [.posixPermissions: 0o600])
        let out = try FileHandle(forWritingTo: tmp)
        let sealing = ProgressBar(label: "sealing  \(dataset)")
        while let piece = try sealed.next() {
            try out.write(contentsOf: piece)
            if progress { sealing.update(Int64(sealed.bytesRead), Int64(max(sealed.totalBytes, 1))) }
        }
        try out.close()
        if progress { sealing.finish() }
        let sending = ProgressBar(label: "uploading \(dataset)")
        if progress { http.onProgress = { sending.update($0, $1) } }
        defer { http.onProgress = nil }
        let r = try http.request("PUT", "/v1/jobs/\(job)/datasets/\(dataset)", file: tmp,
                                 headers: ["Parley-Signature": Hex.encode(sealed.signature), "Content-Type": "application/octet-stream"])
        if progress { sending.finish() }
        guard r.status == 200 else { throw ParleyError(.verificationFailed, "upload refused (\(r.status)): \(r.errorMessage)") }
        return try r.json()
    }

    /// Which of the module's parties `key` is, by its fingerprint in the job's status.
    public static func partyName(_ http: HTTP, job: String, key: PartyPrivateKey) throws -> String {
        let r = try http.request("GET", "/v1/jobs/\(job)")
        guard r.status == 200 else { throw ParleyError(.io, "no job \(job) (\(r.status)): \(r.errorMessage)") }
        let mine = DataPlane.keyFingerprint(key.signing.publicKey.derRepresentation)
        let parties = (try r.json()["parties"] as? [String: String]) ?? [:]
        guard let name = parties.first(where: { $0.value == mine })?.key else {
            throw ParleyError(.badKey, "this key is not one of the module's parties (\(parties.keys.sorted().joined(separator: ", ")))")
        }
        return name
    }

    /// Runs a query as `receiver` and returns the result, opened and checked against the attested worker.
    public static func runQuery(_ http: HTTP, job: String, query: String, receiver: String, key: PartyPrivateKey,
                         worker: AttestationResult) throws -> ResultDocument {
        let request = try PartyClient.queryRequest(job: job, query: query, receiver: receiver, key: key)
        let body = try JSONSerialization.data(withJSONObject: ["receiver": receiver, "nonce": Hex.encode(request.nonce),
                                                               "signature": Hex.encode(request.signature)])
        let r = try http.request("POST", "/v1/jobs/\(job)/queries/\(query)", body: Array(body), headers: ["Content-Type": "application/json"])
        guard r.status == 200 else { throw ParleyError(.verificationFailed, "query refused (\(r.status)): \(r.errorMessage)") }
        do {
            return try PartyClient.openResult(r.body, key: key, worker: worker.claims, query: query, request: request)
        } catch let e as PartyClient.ResultRefusal {
            throw ParleyError(.verificationFailed, "the result was refused: \(e)")
        }
    }

    public static func cell(_ c: CBOR) -> String {
        switch c {
        case .text(let t): return t
        default: return c.int64.map(String.init) ?? c.description
        }
    }

    /// Renders a result as a table, CSV or one JSON object.
    public static func render(_ doc: ResultDocument, format: String) -> String {
        switch format {
        case "json":
            let obj: [String: Any] = [
                "job": doc.job, "query": doc.query, "columns": doc.columns,
                "rows": doc.rows.map { $0.map { c -> Any in c.int64.map { $0 as Any } ?? cell(c) } },
                "suppressed_groups": doc.suppressedGroups, "epsilon_charged": doc.epsilonCharged, "budget_left": doc.budgetLeft,
            ]
            let data = (try? JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys])) ?? Data()
            return String(decoding: data, as: UTF8.self)
        case "csv":
            return ([doc.columns.joined(separator: ",")] + doc.rows.map { $0.map { csvField(cell($0)) }.joined(separator: ",") }).joined(separator: "\n")
        default:
            let cells = doc.rows.map { $0.map(cell) }
            let widths = doc.columns.indices.map { i in max(doc.columns[i].count, cells.map { $0[i].count }.max() ?? 0) }
            func line(_ v: [String]) -> String { zip(v, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ") }
            var out = [line(doc.columns), widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")] + cells.map(line)
            out.append("")
            out.append("about \(doc.suppressedGroups) group(s) suppressed (a noisy count of groups under the policy's minimum size); epsilon charged \(doc.epsilonCharged), budget left \(doc.budgetLeft); \(doc.mechanism) noise")
            return out.joined(separator: "\n")
        }
    }

    public static func csvField(_ s: String) -> String {
        s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }
}
