import Crypto
import Foundation
import ParleyAttestation
import ParleyAudit
import ParleyCore
import ParleyLog

/// What the party and operator verbs (and `parley demo`) do over HTTP.
public enum ClientOps {
    public static func launch(_ http: HTTP, token: String, bundle: [UInt8]) async throws -> LaunchedJob {
        let r = try await http.request("POST", "/v1/jobs", body: bundle, headers: ["Authorization": "Bearer \(token)", "Content-Type": "application/cbor"])
        guard r.status == 201 else { throw ParleyError(.verificationFailed, "launch refused (\(r.status)): \(r.errorMessage)") }
        return try r.decode(LaunchedJob.self, what: "the launch answer")
    }

    /// The evidence interaction: with `log`, first proves the host's log extends what the client
    /// saw (``LogFollower/follow()``), then fetches the job's evidence for `nonce`.
    /// - Returns: the unverified evidence, and the checkpoint the log was followed to (nil without `log`).
    /// - Throws: ``LogRefusal`` before anything is requested if the log does not extend the
    ///   remembered checkpoint; ``ParleyError`` if the host has no evidence.
    public static func fetchEvidence(_ http: HTTP, job: String, nonce: Nonce, log: LogFollower?) async throws -> (evidence: [UInt8], head: VerifiedCheckpoint?) {
        let head = try await log?.follow()
        let r = try await http.request("GET", "/v1/jobs/\(job)/evidence?nonce=\(nonce.hex)")
        guard r.status == 200 else { throw ParleyError(.io, "no evidence for \(job) (\(r.status)): \(r.errorMessage)") }
        return (r.body, head)
    }

    /// Fetches evidence for a fresh nonce and verifies it against the party's policy; evidence whose
    /// launch names another job than `job` is refused.
    /// - Parameter log: the client's memory of the host's log; when given, the host's log must
    ///   first be proved to extend what the client saw (``LogFollower/follow()``).
    /// - Throws: the refusal, with every reason; nothing is sent to the worker in that case.
    public static func verifiedWorker(_ http: HTTP, job: String, policy: AppraisalPolicy, log: LogFollower? = nil) async throws -> AttestationResult {
        let nonce = Nonce.random()
        let (evidence, head) = try await fetchEvidence(http, job: job, nonce: nonce, log: log)
        var ledger = InMemoryNonceLedger()
        switch AttestationVerifier(policy: policy, now: Date()).verify(evidence, nonce: nonce, ledger: &ledger, job: job) {
        case .trusted(let result):
            if let warning = result.warning { FileHandle.standardError.write(Data("parley: \(warning)\n".utf8)) }
            if let log, let head { try await log.checkLedger(result.claims, head: head) }
            return result
        case .refused(let reasons):
            throw ParleyError(.verificationFailed, "the worker's evidence does not meet your policy, so nothing was sent: "
                              + reasons.map(\.description).joined(separator: "; "))
        case .failed(let failure):
            throw ParleyError(.internal, "\(failure); nothing was sent")
        }
    }

    /// Seals `file` to the attested worker and streams the ciphertext to the host as it is
    /// produced: one chunk is read, sealed and hashed only when the connection has taken the
    /// previous one, so memory stays bounded by a chunk and nothing touches the disk.
    /// - Returns: the host's answer; with `log`, also `log_index`, the index of the worker's
    ///   `upload-accepted` entry, proved into a checkpoint and kept as a receipt.
    /// - Parameter log: the client's memory of the host's log (see ``verifiedWorker(_:job:policy:log:)``).
    public static func upload(_ http: HTTP, job: String, dataset: String, file: String, key: PartyPrivateKey, worker: AttestationResult,
                       progress: Bool = true, log: LogFollower? = nil) async throws -> UploadResult {
        try await log?.follow()
        try await log?.checkBeforeUpload(worker.claims)
        let sealed = try PartyClient.SealedUpload(path: file, job: job, dataset: dataset, worker: worker.claims, key: key)
        let producer = UploadProducer(sealed, progress: progress ? ProgressBar(label: "uploading \(dataset)") : nil)
        let r: HTTP.Reply
        do {
            r = try await http.stream("PUT", "/v1/jobs/\(job)/datasets/\(dataset)",
                                      headers: ["Parley-Signature": Hex.encode(sealed.signature), "Content-Type": "application/octet-stream",
                                                "Parley-Upload-Size": String(sealed.totalBytes)]) {
                try producer.next()
            }
        } catch {
            producer.abandon()
            throw error
        }
        producer.finish()
        guard r.status == 200 else { throw ParleyError(.verificationFailed, "upload refused (\(r.status)): \(r.errorMessage)") }
        let answer = try r.decode(UploadReceiptBody.self, what: "the upload receipt")
        guard let log else { return UploadResult(receipt: answer, logIndex: nil) }
        let digest = producer.digest
        let receipt = try await log.receipt(job: job, signingKey: worker.claims.signingKey, hint: answer.logSize,
                                            what: "your upload of \(dataset)") { kind in
            if case .uploadAccepted(let u) = kind { return u.dataset == dataset && u.ciphertextSHA256 == digest }
            return false
        }
        return UploadResult(receipt: answer, logIndex: receipt.index)
    }

    /// Which of the module's parties `key` is, by its fingerprint in the job's status.
    public static func partyName(_ http: HTTP, job: String, key: PartyPrivateKey) async throws -> String {
        let r = try await http.request("GET", "/v1/jobs/\(job)")
        guard r.status == 200 else { throw ParleyError(.io, "no job \(job) (\(r.status)): \(r.errorMessage)") }
        let mine = DataPlane.keyFingerprint(key.signing.publicKey.derRepresentation)
        let parties = try r.decode(LiveJobStatus.self, what: "the job's status (is the job still running?)").parties
        guard let name = parties.first(where: { $0.value == mine })?.key else {
            throw ParleyError(.badKey, "this key is not one of the module's parties (\(parties.keys.sorted().joined(separator: ", ")))")
        }
        return name
    }

    /// Runs a query as `receiver` and returns the result, opened and checked against the attested worker.
    /// - Parameter log: the client's memory of the host's log; when given, the log must extend what
    ///   the client saw, and the worker's `release` entry for this very result (by its SHA-256) must
    ///   be in it: a result the host did not account for is refused (and its receipt kept otherwise).
    /// - Parameter parameters: values for the query's `@parameters` (name -> text); they are
    ///   signed with the request, and the release entry checked below must carry them.
    public static func runQuery(_ http: HTTP, job: String, query: String, receiver: String, key: PartyPrivateKey,
                         worker: AttestationResult, log: LogFollower? = nil, parameters: [String: String] = [:]) async throws -> ResultDocument {
        try await log?.follow()
        let request = try PartyClient.queryRequest(job: job, query: query, receiver: receiver, key: key, parameters: parameters)
        let body = APIJSON.encode(QueryRequestBody(receiver: receiver, nonce: request.nonce, signature: request.signature,
                                                   parameters: parameters))
        let r = try await http.request("POST", "/v1/jobs/\(job)/queries/\(query)", body: body, headers: ["Content-Type": "application/json"])
        guard r.status == 200 else { throw ParleyError(.verificationFailed, "query refused (\(r.status)): \(r.errorMessage)") }
        let opened: PartyClient.OpenedResult
        do {
            opened = try PartyClient.openSignedResult(r.body, key: key, worker: worker.claims, query: query, request: request)
        } catch let e as PartyClient.ResultRefusal {
            throw ParleyError(.verificationFailed, "the result was refused: \(e)")
        }
        if let log {
            _ = try await log.receipt(job: job, signingKey: worker.claims.signingKey, what: "the release of your result of \(query)") { kind in
                if case .release(let rel) = kind {
                    return rel.query == query && rel.receiver == receiver && rel.resultSHA256 == opened.signedSHA256 && rel.parameters == parameters
                }
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
            return String(decoding: APIJSON.encode(ResultJSON(doc)), as: UTF8.self)
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

/// What an upload got: the worker's receipt as the host relayed it and, when the client follows
/// the log, the index of the worker's `upload-accepted` entry, proved into a checkpoint.
public struct UploadResult: Sendable, Equatable {
    public var receipt: UploadReceiptBody
    public var logIndex: UInt64?
}

/// Hands the HTTP client the sealed stream one piece at a time, hashing what it hands over (the
/// receipt names the ciphertext by its SHA-256) and drawing the progress bar.
final class UploadProducer: @unchecked Sendable {
    // @unchecked: every field is touched only under `lock` (the client pulls serially anyway).
    private let lock = NSLock()
    private let sealed: PartyClient.SealedUpload
    private let progress: ProgressBar?
    private var hash = SHA256()
    private var finalDigest: [UInt8]?

    init(_ sealed: PartyClient.SealedUpload, progress: ProgressBar?) {
        self.sealed = sealed
        self.progress = progress
    }

    /// The next piece of ciphertext, or nil at the end.
    func next() throws -> [UInt8]? {
        lock.lock()
        defer { lock.unlock() }
        guard let piece = try sealed.next() else { return nil }
        hash.update(data: piece)
        progress?.update(Int64(sealed.bytesRead), Int64(max(sealed.totalBytes, 1)))
        return piece
    }

    /// Ends the progress bar with its closing line (bytes, seconds, average rate).
    func finish() {
        progress?.finish()
    }

    /// Ends the progress bar's line without a summary (the upload failed).
    func abandon() {
        progress?.abandon()
    }

    /// SHA-256 of everything handed over.
    var digest: [UInt8] {
        lock.lock()
        defer { lock.unlock() }
        if let finalDigest { return finalDigest }
        let d = Array(hash.finalize())
        finalDigest = d
        return d
    }
}
