import Foundation
import ParleyAttestation
import ParleyCore
import ParleyQuoting
import ParleyModule

/// The host: launches a worker per job from a sealed module, measures and quotes it, relays
/// uploads and queries (ciphertext only), and supervises every worker. It never sees plaintext
/// and cannot forge what the worker signs. The HTTP API and the CLI are thin layers over this.
public final class HostService: @unchecked Sendable {
    // @unchecked: `onEvent` and `ledgerHandoff` are set once, before the host serves (as
    // `HostServer.connect()` does); the job table is the ``JobTable`` actor; `image` is guarded by
    // `imageLock`; each job's session is an actor that serialises its own worker requests.
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

        private var stopAsked = false
        /// True the first time a stop is asked for a job still running.
        func stopOnce() async -> Bool {
            let ended = await session.state.isTerminal
            return lock.withLock {
                if stopAsked || ended { return false }
                stopAsked = true
                return true
            }
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
        /// The worker's report on unusable identifier fields (datasets with identifier columns).
        public var identifiers: IdentifierSummary? = nil
        /// CSV bytes the worker parsed.
        public var bytes: UInt64 = 0
        /// Milliseconds the worker spent on the upload (receiving, opening and parsing overlap).
        public var millis: UInt64 = 0
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
    /// Gives a new worker its ledger handoff (docs/privacy.md, "The ledger across jobs"): the
    /// entries of the ledger with this id, each with an inclusion proof into a signed checkpoint,
    /// as CBOR. The log writer sets it; nil starts workers without one (their evidence then binds
    /// no ledger, which a party following the log refuses).
    public var ledgerHandoff: (@Sendable (_ ledger: [UInt8]) throws -> CBOR)?
    /// Held from a launch's handoff until its launch entry is logged, so that a worker's handoff
    /// always includes every earlier launch.
    private let launchGate = AsyncGate()
    private let imageLock = NSLock()
    private let table = JobTable()
    private var image: WorkerLauncher.Image?

    /// The worker image, staged in a sealed memfd and measured on first use, then reused: the
    /// seals make it immutable, so every job runs the bytes measured here.
    func workerImage() throws -> WorkerLauncher.Image {
        imageLock.lock()
        defer { imageLock.unlock() }
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
    public func job(_ id: String) async throws -> Job {
        guard let j = await table.job(id) else { throw ParleyError(.notFound, "no job \(id) on this host") }
        return j
    }

    public var allJobs: [Job] {
        get async { await table.all }
    }

    /// Launches a job: verifies the bundle, starts a worker, sends it the module, measures the
    /// launch with the quote provider. - Returns: the running job.
    public func launch(bundle: [UInt8]) async throws -> Job {
        let module = try SealedModule(bytes: bundle)
        return try await launchGate.serially { try await self.launch(module) }
    }

    private func launch(_ module: SealedModule) async throws -> Job {
        let id = "job-" + Hex.encode(configuration.random.bytes(8))
        let session = try WorkerSession(image: try workerImage(), debug: configuration.debugWorkers,
                                        environment: configuration.workerEnvironment,
                                        heartbeatInterval: configuration.heartbeatInterval,
                                        heartbeatTimeout: configuration.heartbeatTimeout, clock: configuration.clock)
        await session.requireDatasets(Set(module.definition.datasets.keys))
        do {
            let ledgerID = module.definition.ledgerID
            let handoff = try await Blocking.run { [ledgerHandoff] in try ledgerHandoff?(ledgerID) }
            let reply = try await session.request(.start(.init(job: id, module: module.bytes, debug: configuration.debugWorkers,
                                                               ledger: handoff == .null ? nil : handoff)),
                                                  expecting: [.ready], timeout: 60)
            guard case .ready(let ready) = reply else { throw ParleyError(.internal, "the session let \(reply.kind.rawValue) through as ready") }
            await session.handle(.workerReady)
            let claims = LaunchClaims(job: id, runtime: session.runtime, module: module.measurement, moduleSigner: module.signer,
                                      debug: ready.debug, publicKey: ready.publicKey, signingKey: ready.signingKey, ledger: ready.ledger,
                                      sandbox: ready.sandbox)
            guard claims.debug == configuration.debugWorkers else {
                throw ParleyError(.internal, "the worker's debug flag differs from how it was launched")
            }
            try await Blocking.run { [quotes] in try quotes.recordLaunch(claims) }
            await session.handle(.launchMeasured)
            let job = Job(id: id, module: module, claims: claims, session: session, launchedAt: configuration.clock.now())
            await table.insert(job)
            onEvent?(.launched(job: id, claims: claims, module: module, tier: quotes.tier, ledgerCounted: ready.ledgerCounted))
            // From now on a failure (the worker exits, breaks the protocol, stops answering)
            // reaches the log as it happens, from the context that saw it.
            await session.setFailureHandler { [weak self] reason in self?.onEvent?(.failed(job: id, reason: reason)) }
            return job
        } catch {
            await session.handle(.protocolViolation("launch failed: \(error)"))
            throw error
        }
    }

    /// Evidence for a party's nonce (the quote provider may block on a TPM: run off the pool).
    public func evidence(job id: String, nonce: Nonce) async throws -> [UInt8] {
        let j = try await job(id)
        let state = await j.session.state
        guard !state.isTerminal else { throw ParleyError(.conflict, "job \(id) is \(state)") }
        return try await Blocking.run { [quotes] in try quotes.evidence(for: j.claims, nonce: nonce) }
    }

    /// An upload being relayed to a job's worker, begun by ``beginUpload(job:dataset:signature:)``.
    public final class UploadRelay: @unchecked Sendable {
        // @unchecked: used by one request at a time (the job admits one upload of a dataset at once).
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

        /// Bytes of ciphertext gathered into one `upload_data` frame before it is sent.
        public static let frameBytes = 1 << 20

        /// Relays the next piece: gathered into frames of ``frameBytes``, each sent when full.
        /// The ciphertext is never decoded here, and copied once, into the frame; sending waits
        /// until the worker's socket takes it, so a slow worker slows the upload instead of
        /// filling the host's memory.
        public func send(_ bytes: some Collection<UInt8>) async throws {
            bytesRelayed += bytes.count
            var rest = bytes[...]
            while !rest.isEmpty {
                if buffer.capacity < Self.frameBytes { buffer.reserveCapacity(Self.frameBytes) }
                let cut = rest.index(rest.startIndex, offsetBy: min(rest.count, Self.frameBytes - buffer.count))
                buffer.append(contentsOf: rest[..<cut])
                rest = rest[cut...]
                if buffer.count >= Self.frameBytes {
                    var frame: [UInt8] = []
                    swap(&frame, &buffer)
                    try await job.session.send(.uploadData(dataset: dataset, bytes: frame))
                }
            }
        }

        /// Ends the upload and returns the worker's verdict. A stream cut short (a client gone
        /// mid-upload) ends here too, and the worker refuses it: nothing of it is kept.
        public func finish() async throws -> Outcome<UploadReceipt> {
            guard !done else { throw ParleyError(.internal, "upload finished twice") }
            done = true
            let reply: WorkerMessage
            do {
                if !buffer.isEmpty { try await job.session.send(.uploadData(dataset: dataset, bytes: buffer)) }
                buffer = []
                reply = try await job.session.request(.uploadEnd(dataset: dataset), expecting: [.uploadAccepted, .uploadRefused], timeout: 600)
            } catch {
                job.endUpload(dataset)
                throw error
            }
            // The slot is free before anyone hears the outcome, so a retry after it never sees 409.
            job.endUpload(dataset)
            switch reply {
            case .uploadAccepted(let accepted):
                let receipt = UploadReceipt(dataset: dataset, rows: accepted.rows, digest: accepted.digest, entry: accepted.entry,
                                            identifiers: accepted.identifiers, bytes: accepted.bytes, millis: accepted.millis)
                await job.session.handle(.datasetAccepted(dataset))
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
    /// - Parameter sizeHint: The plaintext size the uploader announced, passed on to the worker
    ///   as a hint (it sizes the worker's buffers; nothing relies on it).
    public func beginUpload(job id: String, dataset: String, signature: [UInt8], sizeHint: UInt64? = nil) async throws -> Outcome<UploadRelay> {
        let j = try await job(id)
        // The signature is the worker's to check again at the stream's end (the HTTP handler
        // asked ``admitUpload(job:dataset:signedByProvider:)`` with it before relaying a byte).
        if case .refused(let why) = JobStateMachine.admitUpload(dataset, module: j.module.definition, state: await j.session.state) {
            return .refused(reason: why.description, entry: nil)
        }
        guard j.startUpload(dataset) else {
            return .refused(reason: "another upload of dataset \(dataset) to job \(id) is in progress; retry when it ends", entry: nil)
        }
        do {
            try await j.session.send(.uploadBegin(dataset: dataset, signature: signature, sizeHint: sizeHint))
        } catch {
            j.endUpload(dataset)
            throw error
        }
        return .accepted(UploadRelay(service: self, job: j, dataset: dataset))
    }

    /// Asks the job's state machine whether an upload may go on (``UploadAdmission``).
    /// - Throws: `ParleyError` `.notFound` if there is no such job.
    public func admitUpload(job id: String, dataset: String, signedByProvider: (PartyPublicKey) -> Bool? = { _ in nil }) async throws -> UploadAdmission {
        let j = try await job(id)
        return JobStateMachine.admitUpload(dataset, module: j.module.definition, state: await j.session.state, signedByProvider: signedByProvider)
    }

    /// Relays one whole upload; `chunks` yields the ciphertext in pieces (nil at the end).
    public func upload(job id: String, dataset: String, signature: [UInt8], chunks: () throws -> [UInt8]?) async throws -> Outcome<UploadReceipt> {
        switch try await beginUpload(job: id, dataset: dataset, signature: signature) {
        case .refused(let reason, let entry): return .refused(reason: reason, entry: entry)
        case .accepted(let relay):
            var failure: (any Error)?
            do { while let piece = try chunks() { try await relay.send(piece) } } catch { failure = error }
            let outcome = try await relay.finish()
            if let failure { throw failure }
            return outcome
        }
    }

    /// Runs a declared query. - Returns: the sealed result for the receiver, or the refusal.
    public func query(job id: String, query: String, receiver: String, nonce: [UInt8], signature: [UInt8],
                      parameters: [String: String] = [:]) async throws -> Outcome<[UInt8]> {
        let j = try await job(id)
        let state = await j.session.state
        guard state == .ready else {
            return .refused(reason: "job \(id) is \(state); queries run once every dataset is uploaded", entry: nil)
        }
        await j.session.handle(.queryStarted(query))
        let reply: WorkerMessage
        do {
            reply = try await j.session.request(.query(.init(query: query, receiver: receiver, nonce: nonce, signature: signature,
                                                             parameters: parameters)),
                                                expecting: [.result, .queryRefused], timeout: 600)
        } catch {
            await j.session.handle(.queryFinished)
            throw error
        }
        await j.session.handle(.queryFinished)
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
    /// spent all it could). A job already stopped or failed is left as it is, and nothing more
    /// is logged for it: one `stopped` record per job, however often it is asked.
    /// - Returns: false if the job had already ended.
    @discardableResult
    public func stop(job id: String) async throws -> Bool {
        let j = try await job(id)
        guard await j.stopOnce() else { return false }
        await close(j)
        await j.session.stop()
        onEvent?(.stopped(job: id))
        return true
    }

    /// Closes and stops every worker (host shutdown).
    public func shutdown() async {
        for j in await allJobs where !(await j.session.state.isTerminal) {
            await close(j)
            await j.session.stop()
        }
    }

    private func close(_ j: Job) async {
        guard !(await j.session.state.isTerminal),
              case .closed(let entry)? = try? await j.session.request(.close, expecting: [.closed], timeout: 30) else { return }
        onEvent?(.workerEntry(job: j.id, entry: entry))
    }
}

/// The host's live jobs, by id: one actor owns the table.
actor JobTable {
    private var jobs: [String: HostService.Job] = [:]
    func job(_ id: String) -> HostService.Job? { jobs[id] }
    var all: [HostService.Job] { Array(jobs.values) }
    func insert(_ job: HostService.Job) { jobs[job.id] = job }
}

/// Runs async work one caller at a time, in arrival order (a lock that may be held across
/// suspension points, which an `NSLock` must never be).
public actor AsyncGate {
    private var busy = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    public init() {}

    public func serially<T: Sendable>(_ body: @Sendable () async throws -> T) async rethrows -> T {
        if busy { await withCheckedContinuation { waiting.append($0) } } else { busy = true }
        defer { if waiting.isEmpty { busy = false } else { waiting.removeFirst().resume() } }
        return try await body()
    }
}

/// Blocking work (a TPM command, an fsync, a log read) on a Dispatch queue, never on the
/// cooperative pool, whose few threads must stay free for the event loops' tasks.
public enum Blocking {
    public static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { c in
            DispatchQueue.global().async { c.resume(with: Result { try body() }) }
        }
    }
}

/// What the host reports to the log writer.
public enum HostEvent: Sendable {
    /// A worker is ready; `ledgerCounted` lists the earlier jobs of its ledger it counted (their
    /// launch entries' indexes), which its claims bind by digest.
    case launched(job: String, claims: LaunchClaims, module: SealedModule, tier: AssuranceTier, ledgerCounted: [UInt64])
    /// An entry the worker signed (upload accepted, release, query refused).
    case workerEntry(job: String, entry: [UInt8])
    /// The worker refused an upload; only the code is logged.
    case uploadRefused(job: String, dataset: String, code: RefusalCode)
    case stopped(job: String)
    /// The job failed (its worker exited, broke the protocol or stopped answering); reported
    /// once per job, when it happens.
    case failed(job: String, reason: String)
}
