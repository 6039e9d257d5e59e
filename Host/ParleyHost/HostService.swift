import Foundation
import ParleyAttestation
import ParleyCore
import ParleyQuoting
import ParleyModule

/// The host: launches a worker per job from a sealed module, measures and quotes it, relays
/// uploads and queries (ciphertext only), and supervises every worker. It never sees plaintext
/// and cannot forge what the worker signs. The HTTP API and the CLI are thin layers over this.
public final class HostService: @unchecked Sendable {
    // @unchecked: `jobs` is guarded by `lock`; each job serialises its own worker requests.
    public struct Configuration: Sendable {
        public var dataDirectory: String
        /// The `parley-enclave` executable to launch (measured from the bytes launched).
        public var workerExecutable: String
        /// Start workers without their sandbox. The evidence says so and verifiers refuse it by default.
        public var debugWorkers = false
        /// Extra environment for workers (resource limits).
        public var workerEnvironment: [String: String] = [:]
        public var heartbeatInterval: TimeInterval = 1
        public var heartbeatTimeout: TimeInterval = 15
        /// Where the host reads the time and waits (heartbeats, timestamps); a test drives it.
        public var clock: any HostClock = SystemClock()
        /// Where the host draws job ids and nonces from.
        public var random: any HostRandom = SystemRandom()

        public init(dataDirectory: String, workerExecutable: String) {
            self.dataDirectory = dataDirectory
            self.workerExecutable = workerExecutable
        }
    }

    /// One launched job.
    public final class Job: @unchecked Sendable {
        public let id: String
        public let module: SealedModule
        public let claims: LaunchClaims
        public let session: WorkerSession
        public let launchedAt: Date
        private let lock = NSLock()
        private var _receipts: [String: UploadReceipt] = [:]
        /// Datasets with an upload under way: one slot per dataset, so a stuck upload of one
        /// party never blocks another's.
        private var uploading: Set<String> = []

        /// Dataset -> receipt of its accepted upload.
        public var receipts: [String: UploadReceipt] {
            lock.lock()
            defer { lock.unlock() }
            return _receipts
        }

        func setReceipt(_ r: UploadReceipt) {
            lock.lock()
            _receipts[r.dataset] = r
            lock.unlock()
        }

        func startUpload(_ dataset: String) -> Bool {
            lock.lock()
            defer { lock.unlock() }
            return uploading.insert(dataset).inserted
        }

        func endUpload(_ dataset: String) {
            lock.lock()
            uploading.remove(dataset)
            lock.unlock()
        }

        init(id: String, module: SealedModule, claims: LaunchClaims, session: WorkerSession, launchedAt: Date) {
            self.id = id
            self.module = module
            self.claims = claims
            self.session = session
            self.launchedAt = launchedAt
        }
    }

    /// What an accepted upload leaves behind.
    public struct UploadReceipt: Sendable, Equatable {
        public let dataset: String
        public let rows: UInt64
        /// SHA-256 of the ciphertext stream, as the worker computed it.
        public let digest: [UInt8]
        /// The worker-signed log entry.
        public let entry: [UInt8]
    }

    /// The outcome of an upload or a query, with the worker-signed entry either way.
    public enum Outcome<Value: Sendable>: Sendable {
        case accepted(Value)
        case refused(reason: String, entry: [UInt8]?)
    }

    public let configuration: Configuration
    public let quotes: any QuoteProvider
    /// Called for every event that must reach the log (the log writer subscribes).
    public var onEvent: (@Sendable (HostEvent) -> Void)?
    /// Gives a new worker its ledger handoff (`parley/ledger` docs/privacy.md): the log up to a
    /// signed checkpoint, as CBOR. The log writer sets it; nil starts workers without one (their
    /// evidence then binds no ledger, which a party following the log refuses).
    public var ledgerHandoff: (@Sendable () throws -> CBOR)?
    /// Held from a launch's handoff until its launch entry is logged, so that a worker's handoff
    /// always includes every earlier launch.
    private let launchLock = NSLock()
    private let lock = NSLock()
    private var jobs: [String: Job] = [:]
    private var image: WorkerLauncher.Image?

    /// The worker image, staged in a sealed memfd and measured on first use, then reused: the
    /// seals make it immutable, so every job runs the bytes measured here.
    func workerImage() throws -> WorkerLauncher.Image {
        lock.lock()
        defer { lock.unlock() }
        if let image { return image }
        let staged = try WorkerLauncher.Image(executable: configuration.workerExecutable)
        image = staged
        return staged
    }
    public init(configuration: Configuration, quotes: any QuoteProvider) {
        self.configuration = configuration
        self.quotes = quotes
    }

    /// The live job `id`. - Throws: `ParleyError` `.notFound` when this host runs no such job.
    public func job(_ id: String) throws -> Job {
        lock.lock()
        defer { lock.unlock() }
        guard let j = jobs[id] else { throw ParleyError(.notFound, "no job \(id) on this host") }
        return j
    }

    public var allJobs: [Job] {
        lock.lock()
        defer { lock.unlock() }
        return Array(jobs.values)
    }

    /// Launches a job: verifies the bundle, starts a worker, sends it the module, measures the
    /// launch with the quote provider. - Returns: the running job.
    public func launch(bundle: [UInt8]) throws -> Job {
        let module = try SealedModule(bytes: bundle)
        launchLock.lock()
        defer { launchLock.unlock() }
        let id = "job-" + Hex.encode(configuration.random.bytes(8))
        let session = try WorkerSession(image: try workerImage(), debug: configuration.debugWorkers,
                                        environment: configuration.workerEnvironment,
                                        heartbeatInterval: configuration.heartbeatInterval,
                                        heartbeatTimeout: configuration.heartbeatTimeout, clock: configuration.clock)
        session.requireDatasets(Set(module.definition.datasets.keys))
        do {
            let handoff = try ledgerHandoff?()
            let reply = try session.request(.start(.init(job: id, module: bundle, debug: configuration.debugWorkers,
                                                         ledger: handoff == .null ? nil : handoff)),
                                            expecting: [.ready], timeout: 60)
            guard case .ready(let ready) = reply else { throw ParleyError(.internal, "the session let \(reply.kind.rawValue) through as ready") }
            session.handle(.workerReady)
            let claims = LaunchClaims(job: id, runtime: session.runtime, module: module.measurement, moduleSigner: module.signer,
                                      debug: ready.debug, publicKey: ready.publicKey, signingKey: ready.signingKey, ledger: ready.ledger)
            guard claims.debug == configuration.debugWorkers else {
                throw ParleyError(.internal, "the worker's debug flag differs from how it was launched")
            }
            try quotes.recordLaunch(claims)
            session.handle(.launchMeasured)
            let job = Job(id: id, module: module, claims: claims, session: session, launchedAt: configuration.clock.now())
            lock.lock()
            jobs[id] = job
            lock.unlock()
            onEvent?(.launched(job: id, claims: claims, module: bundle, tier: quotes.tier))
            // From now on a failure (the worker exits, breaks the protocol, stops answering)
            // reaches the log as it happens, from the context that saw it.
            session.onFailure = { [weak self] reason in self?.onEvent?(.failed(job: id, reason: reason)) }
            return job
        } catch {
            session.handle(.protocolViolation("launch failed: \(error)"))
            throw error
        }
    }

    /// Evidence for a party's nonce.
    public func evidence(job id: String, nonce: Nonce) throws -> [UInt8] {
        let j = try job(id)
        guard !j.session.state.isTerminal else { throw ParleyError(.io, "job \(id) is \(j.session.state)") }
        return try quotes.evidence(for: j.claims, nonce: nonce)
    }

    /// An upload being relayed to a job's worker, begun by ``beginUpload(job:dataset:signature:)``.
    public final class UploadRelay: @unchecked Sendable {
        // @unchecked: used by one request at a time (the job admits one upload at once).
        let service: HostService
        let job: Job
        public let dataset: String
        private var buffer: [UInt8] = []
        private var done = false
        /// Ciphertext bytes relayed so far.
        public private(set) var bytesRelayed = 0

        init(service: HostService, job: Job, dataset: String) {
            self.service = service
            self.job = job
            self.dataset = dataset
        }

        /// Relays the next piece (buffered into frames of up to 1 MiB).
        public func send(_ bytes: some Collection<UInt8>) throws {
            buffer.append(contentsOf: bytes)
            bytesRelayed += bytes.count
            while buffer.count >= 1 << 20 {
                try job.session.send(.uploadData(dataset: dataset, bytes: Array(buffer.prefix(1 << 20))))
                buffer.removeFirst(1 << 20)
            }
        }

        /// Ends the upload and returns the worker's verdict. A stream cut short (a client gone
        /// mid-upload) ends here too, and the worker refuses it: nothing of it is kept.
        public func finish() throws -> Outcome<UploadReceipt> {
            guard !done else { throw ParleyError(.internal, "upload finished twice") }
            done = true
            let reply: WorkerMessage
            do {
                if !buffer.isEmpty { try job.session.send(.uploadData(dataset: dataset, bytes: buffer)) }
                buffer = []
                reply = try job.session.request(.uploadEnd(dataset: dataset), expecting: [.uploadAccepted, .uploadRefused], timeout: 600)
            } catch {
                job.endUpload(dataset)
                throw error
            }
            // The slot is free before anyone hears the outcome, so a retry after it never sees 409.
            job.endUpload(dataset)
            switch reply {
            case .uploadAccepted(let accepted):
                let receipt = UploadReceipt(dataset: dataset, rows: accepted.rows, digest: accepted.digest, entry: accepted.entry)
                job.session.handle(.datasetAccepted(dataset))
                job.setReceipt(receipt)
                service.onEvent?(.workerEntry(job: job.id, entry: receipt.entry))
                return .accepted(receipt)
            case .uploadRefused(let refused):
                // The public log gets the code only; the reason goes back to the provider.
                service.onEvent?(.uploadRefused(job: job.id, dataset: dataset, code: refused.code))
                return .refused(reason: refused.reason, entry: nil)
            default:
                throw ParleyError(.internal, "the session let \(reply.kind.rawValue) through as an upload's answer")
            }
        }
    }

    /// Starts relaying an upload: checks the job is collecting, the dataset is declared and not
    /// yet uploaded, and no other upload of this dataset is under way (uploads of different
    /// datasets run side by side).
    public func beginUpload(job id: String, dataset: String, signature: [UInt8]) throws -> Outcome<UploadRelay> {
        let j = try job(id)
        // The signature is the worker's to check again at the stream's end (the HTTP handler
        // asked ``admitUpload(job:dataset:signedByProvider:)`` with it before relaying a byte).
        if case .refused(let why) = JobStateMachine.admitUpload(dataset, module: j.module.definition, state: j.session.state) {
            return .refused(reason: why.description, entry: nil)
        }
        guard j.startUpload(dataset) else {
            return .refused(reason: "another upload of dataset \(dataset) to job \(id) is in progress; retry when it ends", entry: nil)
        }
        do {
            try j.session.send(.uploadBegin(dataset: dataset, signature: signature))
        } catch {
            j.endUpload(dataset)
            throw error
        }
        return .accepted(UploadRelay(service: self, job: j, dataset: dataset))
    }

    /// Asks the job's state machine whether an upload may go on (``UploadAdmission``).
    /// - Throws: `ParleyError` `.notFound` if there is no such job.
    public func admitUpload(job id: String, dataset: String, signedByProvider: (PartyPublicKey) -> Bool? = { _ in nil }) throws -> UploadAdmission {
        let j = try job(id)
        return JobStateMachine.admitUpload(dataset, module: j.module.definition, state: j.session.state, signedByProvider: signedByProvider)
    }

    /// Relays one whole upload; `chunks` yields the ciphertext in pieces (nil at the end).
    public func upload(job id: String, dataset: String, signature: [UInt8], chunks: () throws -> [UInt8]?) throws -> Outcome<UploadReceipt> {
        switch try beginUpload(job: id, dataset: dataset, signature: signature) {
        case .refused(let reason, let entry): return .refused(reason: reason, entry: entry)
        case .accepted(let relay):
            var failure: (any Error)?
            do { while let piece = try chunks() { try relay.send(piece) } } catch { failure = error }
            let outcome = try relay.finish()
            if let failure { throw failure }
            return outcome
        }
    }

    /// Runs a declared query. - Returns: the sealed result for the receiver, or the refusal.
    public func query(job id: String, query: String, receiver: String, nonce: [UInt8], signature: [UInt8]) throws -> Outcome<[UInt8]> {
        let j = try job(id)
        guard j.session.state == .ready else {
            return .refused(reason: "job \(id) is \(j.session.state); queries run once every dataset is uploaded", entry: nil)
        }
        j.session.handle(.queryStarted(query))
        defer { j.session.handle(.queryFinished) }
        let reply = try j.session.request(.query(.init(query: query, receiver: receiver, nonce: nonce, signature: signature)),
                                          expecting: [.result, .queryRefused], timeout: 600)
        switch reply {
        case .result(let result):
            onEvent?(.workerEntry(job: id, entry: result.entry))
            return .accepted(result.sealed)
        case .queryRefused(let refused):
            onEvent?(.workerEntry(job: id, entry: refused.entry))
            return .refused(reason: refused.reason, entry: refused.entry)
        default:
            throw ParleyError(.internal, "the session let \(reply.kind.rawValue) through as a query's answer")
        }
    }

    /// Stops a job's worker, after asking it to close the job's spending (its signed `closed`
    /// entry goes to the log; without one, later jobs of the ledger count this one as having
    /// spent all it could).
    public func stop(job id: String) throws {
        let j = try job(id)
        close(j)
        j.session.stop()
        onEvent?(.stopped(job: id))
    }

    /// Closes and stops every worker (host shutdown).
    public func shutdown() {
        for j in allJobs where !j.session.state.isTerminal {
            close(j)
            j.session.stop()
        }
    }

    private func close(_ j: Job) {
        guard !j.session.state.isTerminal,
              case .closed(let entry)? = try? j.session.request(.close, expecting: [.closed], timeout: 30) else { return }
        onEvent?(.workerEntry(job: j.id, entry: entry))
    }
}

/// What the host reports to the log writer.
public enum HostEvent: Sendable {
    case launched(job: String, claims: LaunchClaims, module: [UInt8], tier: AssuranceTier)
    /// An entry the worker signed (upload accepted, release, query refused).
    case workerEntry(job: String, entry: [UInt8])
    /// The worker refused an upload; only the code is logged.
    case uploadRefused(job: String, dataset: String, code: RefusalCode)
    case stopped(job: String)
    /// The job failed (its worker exited, broke the protocol or stopped answering); reported
    /// once per job, when it happens.
    case failed(job: String, reason: String)
}
