import Crypto
import Foundation
import ParleyAttestation
import ParleyAudit
import ParleyCore
import ParleyLog

/// What the party and operator verbs (and `parley demo`) do over HTTP.
public enum ClientOps {
    public static func launch(_ http: HTTP, token: String, bundle: [UInt8]) throws -> [String: Any] {
        let r = try http.request("POST", "/v1/jobs", body: bundle, headers: ["Authorization": "Bearer \(token)", "Content-Type": "application/cbor"])
        guard r.status == 201 else { throw ParleyError(.verificationFailed, "launch refused (\(r.status)): \(r.errorMessage)") }
        return try r.json()
    }

    /// The evidence interaction: with `log`, first proves the host's log extends what the client
    /// saw (``LogFollower/follow()``), then fetches the job's evidence for `nonce`.
    /// - Returns: the unverified evidence, and the checkpoint the log was followed to (nil without `log`).
    /// - Throws: ``LogRefusal`` before anything is requested if the log does not extend the
    ///   remembered checkpoint; ``ParleyError`` if the host has no evidence.
    public static func fetchEvidence(_ http: HTTP, job: String, nonce: Nonce, log: LogFollower?) throws -> (evidence: [UInt8], head: VerifiedCheckpoint?) {
        let head = try log?.follow()
        let r = try http.request("GET", "/v1/jobs/\(job)/evidence?nonce=\(nonce.hex)")
        guard r.status == 200 else { throw ParleyError(.io, "no evidence for \(job) (\(r.status)): \(r.errorMessage)") }
        return (r.body, head)
    }

    /// Fetches evidence for a fresh nonce and verifies it against the party's policy; evidence whose
    /// launch names another job than `job` is refused.
    /// - Parameter log: the client's memory of the host's log; when given, the host's log must
    ///   first be proved to extend what the client saw (``LogFollower/follow()``).
    /// - Throws: the refusal, with every reason; nothing is sent to the worker in that case.
    public static func verifiedWorker(_ http: HTTP, job: String, policy: AppraisalPolicy, log: LogFollower? = nil) throws -> AttestationResult {
        let nonce = Nonce.random()
        let (evidence, head) = try fetchEvidence(http, job: job, nonce: nonce, log: log)
        var ledger = InMemoryNonceLedger()
        switch AttestationVerifier(policy: policy, now: Date()).verify(evidence, nonce: nonce, ledger: &ledger, job: job) {
        case .trusted(let result):
            if let warning = result.warning { FileHandle.standardError.write(Data("parley: \(warning)\n".utf8)) }
            if let log, let head { try log.checkLedger(result.claims, head: head) }
            return result
        case .refused(let reasons):
            throw ParleyError(.verificationFailed, "the worker's evidence does not meet your policy, so nothing was sent: "
                              + reasons.map(\.description).joined(separator: "; "))
        }
    }

    /// Seals `file` to the attested worker into a private temporary file (bounded memory), then
    /// streams it to the host. - Returns: the host's answer; with `log`, also `log_index`, the
    /// index of the worker's `upload-accepted` entry, proved into a checkpoint and kept as a receipt.
    /// - Parameter log: the client's memory of the host's log (see ``verifiedWorker(_:job:policy:log:)``).
    public static func upload(_ http: HTTP, job: String, dataset: String, file: String, key: PartyPrivateKey, worker: AttestationResult,
                       progress: Bool = true, log: LogFollower? = nil) throws -> [String: Any] {
        try log?.follow()
        try log?.checkBeforeUpload(worker.claims)
        var streamHash = SHA256()
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
            streamHash.update(data: piece)
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
        var answer = try r.json()
        if let log {
            let digest = Array(streamHash.finalize())
            let receipt = try log.receipt(job: job, signingKey: worker.claims.signingKey, hint: (answer["log_size"] as? NSNumber)?.uint64Value,
                                          what: "your upload of \(dataset)") { kind in
                if case .uploadAccepted(let u) = kind { return u.dataset == dataset && u.ciphertextSHA256 == digest }
                return false
            }
            answer["log_index"] = receipt.index
        }
        return answer
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
    /// - Parameter log: the client's memory of the host's log; when given, the log must extend what
    ///   the client saw, and the worker's `release` entry for this very result (by its SHA-256) must
    ///   be in it: a result the host did not account for is refused (and its receipt kept otherwise).
    public static func runQuery(_ http: HTTP, job: String, query: String, receiver: String, key: PartyPrivateKey,
                         worker: AttestationResult, log: LogFollower? = nil) throws -> ResultDocument {
        try log?.follow()
        let request = try PartyClient.queryRequest(job: job, query: query, receiver: receiver, key: key)
        let body = try JSONSerialization.data(withJSONObject: ["receiver": receiver, "nonce": Hex.encode(request.nonce),
                                                               "signature": Hex.encode(request.signature)])
        let r = try http.request("POST", "/v1/jobs/\(job)/queries/\(query)", body: Array(body), headers: ["Content-Type": "application/json"])
        guard r.status == 200 else { throw ParleyError(.verificationFailed, "query refused (\(r.status)): \(r.errorMessage)") }
        let opened: PartyClient.OpenedResult
        do {
            opened = try PartyClient.openSignedResult(r.body, key: key, worker: worker.claims, query: query, request: request)
        } catch let e as PartyClient.ResultRefusal {
            throw ParleyError(.verificationFailed, "the result was refused: \(e)")
        }
        if let log {
            _ = try log.receipt(job: job, signingKey: worker.claims.signingKey, what: "the release of your result of \(query)") { kind in
                if case .release(let rel) = kind { return rel.query == query && rel.receiver == receiver && rel.resultSHA256 == opened.signedSHA256 }
                return false
            }
        }
        return opened.document
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
