import Foundation
import Hummingbird
import HTTPTypes
import NIOCore
import ParleyAttestation
import ParleyAudit
import ParleyCore
import ParleyHostLog
import ParleyHost
import ParleyModule

extension HTTPField.Name {
    /// The provider's signature over the upload stream's header (hex).
    static let parleySignature = HTTPField.Name("Parley-Signature")!
    /// The plaintext size an uploader announces (decimal bytes; optional, a hint for the worker).
    static let parleyUploadSize = HTTPField.Name("Parley-Upload-Size")!
}

extension HostServer {
    /// Operator only (``OperatorAuthMiddleware``).
    func launch(_ req: Request) async throws -> Response {
        var req = req
        let body: ByteBuffer
        do { body = try await req.collectBody(upTo: limits.maxBundleBytes) } catch {
            return Self.error(.contentTooLarge, "a sealed module is at most \(limits.maxBundleBytes) bytes", code: "too-large")
        }
        let bundle = Array(buffer: body)
        // Any bundle that does not open (bad CBOR, non-canonical, over a cap, bad signature or
        // key) is the operator's to fix: 422, never the 500 an unlisted error code used to give.
        do { _ = try await offload { try SealedModule(bytes: bundle) } } catch {
            return Self.error(.unprocessableContent, "the module bundle was refused: \((error as? ParleyError)?.reason ?? "\(error)")", code: "bad-module")
        }
        // The bundle opened: whatever fails from here (the worker, the quote provider, the TPM)
        // is the host's failure, 500 `internal`, never the operator's "bad module".
        let job = try await service.launch(bundle: bundle)
        return Self.json(LaunchedJob(job: job.id, state: await job.session.state.name, tier: service.quotes.tier.rawValue,
                                     module: job.module.definition.name, measurement: job.module.measurement.hex,
                                     runtime: job.claims.runtime.hex), status: .created)
    }

    /// Operator only (``OperatorAuthMiddleware``).
    func list() async throws -> Response {
        await syncStore()
        let records = try store.all()
        return Self.json(JobList(jobs: records.map { JobSummary(job: $0.id, state: $0.state, reason: $0.reason, module: $0.moduleName, tier: $0.tier) }))
    }

    func status(_ id: String) async throws -> Response {
        await syncStore()
        if let job = try? await service.job(id) {
            let state = await job.session.state
            let d = job.module.definition
            let receipts = job.receipts
            var datasets: [String: LiveJobStatus.Dataset] = [:]
            for (name, decl) in d.datasets {
                let r = receipts[name]
                datasets[name] = LiveJobStatus.Dataset(provider: decl.provider, accepted: r != nil, rows: r?.rows, digest: r.map { Hex.encode($0.digest) })
            }
            var reason: String?
            if case .failed(let why) = state { reason = why }
            return Self.json(LiveJobStatus(
                job: id, state: state.name, reason: reason, tier: service.quotes.tier.rawValue,
                module: .init(name: d.name, version: d.version, measurement: job.module.measurement.hex, signer: job.module.signer.hex),
                runtime: job.claims.runtime.hex, datasets: datasets,
                queries: d.queries.mapValues { LiveJobStatus.Query(receivers: $0.receivers) },
                parties: d.parties.mapValues { DataPlane.keyFingerprint($0.signing.derRepresentation) }))
        }
        guard let r = try store.record(id) else { return Self.error(.notFound, "no job \(id) on this host", code: "no-job") }
        return Self.json(StoredJobStatus(job: r.id, state: r.state, reason: r.reason, tier: r.tier,
                                         module: .init(name: r.moduleName, measurement: r.moduleMeasurement)))
    }

    func evidence(_ req: Request, _ id: String) async throws -> Response {
        guard let hex = Self.query(req, "nonce"), let nonce = try? Nonce(hex: hex) else {
            return Self.error(.badRequest, "give a fresh nonce of 16 to 64 bytes in hex: ?nonce=…", code: "bad-nonce")
        }
        guard (try? await service.job(id)) != nil else { return Self.error(.notFound, "no live job \(id) on this host", code: "no-job") }
        do {
            return Self.bytes(try await service.evidence(job: id, nonce: nonce), type: "application/cbor")
        } catch let e as ParleyError where e.code == .conflict {
            // The job ended (here or while the quote was being made): a conflict, never a 500.
            return Self.error(.conflict, e.reason, code: "job-ended")
        }
    }

    func upload(_ req: Request, _ id: String, _ dataset: String) async throws -> Response {
        guard let sigHex = req.headers[.parleySignature], let signature = try? Hex.decode(sigHex), signature.count == 64 else {
            return Self.error(.unauthorized, "uploads carry the provider's signature in the Parley-Signature header", code: "unsigned")
        }
        guard (try? await service.job(id)) != nil else { return Self.error(.notFound, "no live job \(id) on this host", code: "no-job") }
        // Who may upload which dataset when is the job's state machine's to say. Before the
        // stream's header is read only "is it declared" is answered here; the rest after it.
        if case .refused(let why) = try await service.admitUpload(job: id, dataset: dataset), case .undeclaredDataset = why {
            return Self.error(.notFound, why.description, code: "no-dataset")
        }
        var iterator = req.body.makeAsyncIterator()
        var pending: [UInt8] = []
        // Read the stream header first: the provider's signature must cover it before anything is relayed.
        func headerLength() -> Int? { pending.count >= 4 ? LengthPrefix.length(in: pending) : nil }
        while pending.count < 4 + (headerLength() ?? 0) || headerLength() == nil {
            guard let buf = try await iterator.next() else { break }
            pending += Array(buffer: buf)
            if let n = headerLength(), n > SealedStream.maxHeaderSize { break }
        }
        guard let headerLength = headerLength(), headerLength <= SealedStream.maxHeaderSize, pending.count >= 4 + headerLength else {
            return Self.error(.badRequest, "the body is not a parley/stream/1 upload stream", code: "bad-stream")
        }
        let headerDigest = DataPlane.sha256(Array(pending[4..<4 + headerLength]))
        let signed = DataPlane.uploadSignedMessage(job: id, dataset: dataset, headerDigest: headerDigest)
        switch try await service.admitUpload(job: id, dataset: dataset, signedByProvider: { DataPlane.check(signature, over: signed, by: $0.signing) == .valid }) {
        case .admitted: break
        case .refused(let why):
            switch why {
            case .undeclaredDataset: return Self.error(.notFound, why.description, code: "no-dataset")
            case .notProvider: return Self.error(.forbidden, why.description, code: "not-provider")
            case .notCollecting, .alreadyUploaded: return Self.error(.conflict, why.description, code: "upload-refused")
            }
        }
        let relay: HostService.UploadRelay
        // The uploader's announced plaintext size (optional, unsigned: a hint for the worker).
        let sizeHint = req.headers[.parleyUploadSize].flatMap { UInt64($0) }
        switch try await service.beginUpload(job: id, dataset: dataset, signature: signature, sizeHint: sizeHint) {
        case .refused(let reason, _): return Self.error(.conflict, reason, code: "upload-refused")
        case .accepted(let r): relay = r
        }
        var total = pending.count
        var failure: String?
        do {
            try await relay.send(pending)
            pending = []
            // Each piece as it arrives, straight into the relay's frame (one copy).
            while failure == nil, let buf = try await iterator.next() {
                total += buf.readableBytes
                if total > limits.maxUploadBytes { failure = "the upload is over the host's limit of \(limits.maxUploadBytes) bytes"; break }
                try await relay.send(buf.readableBytesView)
            }
        } catch {
            failure = "the upload stream broke off: \(error)"
        }
        let outcome = try await relay.finish()
        if let failure { return Self.error(.contentTooLarge, failure, code: "upload-broken") }
        switch outcome {
        case .accepted(let r):
            return Self.json(UploadReceiptBody(dataset: r.dataset, rows: r.rows, digest: Hex.encode(r.digest), logSize: log.size,
                                                identifiers: r.identifiers, plaintextBytes: r.bytes, seconds: Double(r.millis) / 1000))
        case .refused(let reason, _):
            return Self.error(.unprocessableContent, reason, code: "upload-refused")
        }
    }

    func query(_ req: Request, _ id: String, _ name: String) async throws -> Response {
        var req = req
        let request: QueryRequestBody
        do {
            guard let body = try? await req.collectBody(upTo: limits.maxQueryRequestBytes) else {
                throw ParleyError(.malformed, "the query request is over \(limits.maxQueryRequestBytes) bytes")
            }
            request = try APIJSON.decode(QueryRequestBody.self, from: Array(buffer: body), what: "the query request")
        } catch let e as ParleyError {
            return Self.error(.badRequest, "\(e.reason); a query request is JSON {\"receiver\", \"nonce\" (hex, 16 to 64 bytes), \"signature\" (hex)}", code: "bad-request")
        }
        let receiver = request.receiver, nonce = request.nonce, signature = request.signature
        guard let job = try? await service.job(id) else { return Self.error(.notFound, "no live job \(id) on this host", code: "no-job") }
        let signed = DataPlane.queryRequestMessage(job: id, query: name, receiver: receiver, nonce: nonce, parameters: request.parameters)
        switch QueryAdmission.decide(module: job.module.definition, query: name, receiver: receiver, nonce: nonce,
                                     signedByReceiver: { DataPlane.check(signature, over: signed, by: $0.signing) == .valid }) {
        case .admitted: break
        case .refused(let why):
            switch why {
            case .undeclaredQuery: return Self.error(.notFound, "the module declares no query \(name)", code: "no-query")
            case .notReceiver: return Self.error(.forbidden, why.description, code: "not-receiver")
            case .badNonce: return Self.error(.badRequest, why.description, code: "bad-request")
            case .badSignature: return Self.error(.forbidden, why.description, code: "bad-signature")
            }
        }
        // The worker checks them again; this answers a mistaken request before it costs a nonce.
        if let declaration = job.module.definition.queries[name] {
            do { _ = try ParameterDeclaration.bind(request.parameters, to: declaration.parameters) } catch {
                return Self.error(.badRequest, error.description, code: "bad-params")
            }
        }
        guard claimNonce(nonce) else { return Self.error(.conflict, "this request was already used (replayed nonce)", code: "replayed") }
        let outcome = try await service.query(job: id, query: name, receiver: receiver, nonce: nonce, signature: signature,
                                              parameters: request.parameters)
        switch outcome {
        case .accepted(let sealed): return Self.bytes(sealed, type: "application/octet-stream")
        case .refused(let reason, _): return Self.error(.unprocessableContent, reason, code: "query-refused")
        }
    }

    func claimNonce(_ nonce: [UInt8]) -> Bool {
        nonceLock.lock()
        defer { nonceLock.unlock() }
        return seenQueryNonces.insert(nonce).inserted
    }

    /// Operator only (``OperatorAuthMiddleware``).
    func stop(_ id: String) async throws -> Response {
        guard (try? await service.job(id)) != nil else { return Self.error(.notFound, "no live job \(id) on this host", code: "no-job") }
        try await service.stop(job: id)
        await syncStore()
        return Self.json(StoppedJob(job: id, state: "stopped"))
    }

    // MARK: Log

    func logCheckpoint() async throws -> Response {
        Self.bytes(try await witnesses.cosignedCheckpoint(log), type: "text/plain; charset=utf-8")
    }

    func logEntries(_ req: Request) async throws -> Response {
        let startText = Self.query(req, "start"), countText = Self.query(req, "count")
        // Absent: the default; present: must be a number.
        let startValue: UInt64? = startText.map { UInt64($0) } ?? 0
        let countValue: Int? = countText.map { Int($0) } ?? 100
        guard let start = startValue, let count = countValue, (1...HostLog.maxEntriesPerRead).contains(count) else {
            return Self.error(.badRequest, "give ?start=N&count=M with M from 1 to \(HostLog.maxEntriesPerRead)", code: "bad-request")
        }
        return try await logRead { CBOREncoder.encode(.array(try self.log.entries(from: start, count: count).map { .bytes($0) })) }
    }

    /// `GET /v1/log/index?job=J[&kind=K][&before=N][&limit=M]`: indexes of a job's entries,
    /// newest first (CBOR array of uints). A pointer only: clients prove each entry they use.
    func logIndex(_ req: Request) async throws -> Response {
        let kinds: Set<String> = ["launch", "worker", "upload-refused", "stopped", "failed"]
        let kind = Self.query(req, "kind"), beforeText = Self.query(req, "before"), limitText = Self.query(req, "limit")
        // Absent: the default (every entry, the newest page); present: must be a number.
        let before: UInt64? = beforeText.map { UInt64($0) } ?? .max
        let limit: Int? = limitText.map { Int($0) } ?? HostLog.maxIndexesPerRead
        guard let job = Self.query(req, "job"), (try? LaunchClaims.validateJobID(job)) != nil, kind.map(kinds.contains) ?? true,
              let before, let limit, (1...HostLog.maxIndexesPerRead).contains(limit) else {
            return Self.error(.badRequest, "give ?job=ID, and optionally &kind= one of \(kinds.sorted().joined(separator: ", ")), &before=N, "
                              + "&limit=M with M from 1 to \(HostLog.maxIndexesPerRead)", code: "bad-request")
        }
        return try await logRead { CBOREncoder.encode(.array(self.log.jobEntries(job: job, kind: kind, before: before, limit: limit).map { .unsigned($0) })) }
    }

    func inclusion(_ req: Request) async throws -> Response {
        guard let index = Self.query(req, "index").flatMap(UInt64.init), let size = Self.query(req, "size").flatMap(UInt64.init) else {
            return Self.error(.badRequest, "give ?index=N&size=M", code: "bad-request")
        }
        return try await logRead { CBOREncoder.encode(.array(try self.log.inclusionProof(index: index, size: size).map { .bytes($0) })) }
    }

    func consistency(_ req: Request) async throws -> Response {
        guard let first = Self.query(req, "first").flatMap(UInt64.init), let second = Self.query(req, "second").flatMap(UInt64.init) else {
            return Self.error(.badRequest, "give ?first=N&second=M", code: "bad-request")
        }
        return try await logRead { CBOREncoder.encode(.array(try self.log.consistencyProof(from: first, to: second).map { .bytes($0) })) }
    }

    /// Runs a log read off the event loop; a range the log does not have is the caller's
    /// mistake (400 `out-of-range`, with the log's size), not a server failure.
    private func logRead(_ body: @escaping @Sendable () throws -> [UInt8]) async throws -> Response {
        do {
            return Self.bytes(try await offload(body), type: "application/cbor")
        } catch let e as AuditError where e.code == .outOfRange {
            return Self.error(.badRequest, "\(e.reason); ask for a range within the log's size (GET /v1/log/checkpoint)", code: "out-of-range")
        }
    }
}

extension HostServer {
    /// `GET /v1/audit/export`: the audit bundle as a CBOR map of relative path -> bytes.
    func auditExport() async throws -> Response {
        let bytes = try await offload { () -> [UInt8] in
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("parley-export-\(Hex.encode(self.service.configuration.random.bytes(16)))").path
            defer { try? FileManager.default.removeItem(atPath: dir) }
            _ = try AuditBundle.export(from: self.log, to: dir)
            var files: [String: CBOR] = [:]
            let base = URL(fileURLWithPath: dir).standardizedFileURL.path
            if let e = FileManager.default.enumerator(atPath: base) {
                for case let rel as String in e {
                    var isDir: ObjCBool = false
                    guard FileManager.default.fileExists(atPath: base + "/" + rel, isDirectory: &isDir), !isDir.boolValue else { continue }
                    files[rel] = .bytes(try FileIO.read(base + "/" + rel, maxBytes: 1 << 30))
                }
            }
            return CBOREncoder.encode(.textMap(files))
        }
        return Self.bytes(bytes, type: "application/cbor")
    }
}
