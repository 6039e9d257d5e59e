import Foundation
import ParleyAttestation
import ParleyAudit
import ParleyCore
import ParleyHost

extension HostServer {
    /// Connects the host's events to the job store and the log. Call once, before serving.
    ///
    /// Events raised by a request (launch, worker entries, refusals, stop) are recorded in the
    /// request's own context, before it answers, so the log holds them when the party hears the
    /// outcome. A failure a worker has on its own (it crashed, broke the protocol, stopped
    /// answering) is sent to one task that records it in the log and the store as it happens.
    /// If any event cannot be recorded, the host must stop serving: ``fatalError()`` returns
    /// the reason and the executable decides the exit.
    public func connect() {
        service.ledgerHandoff = { [weak self] ledger in
            guard let self else { return .null }
            return try self.log.ledgerHandoff(ledger: ledger).cbor
        }
        let (failures, failed) = AsyncStream.makeStream(of: (job: String, reason: String).self)
        service.onEvent = { [weak self] event in
            guard let self else { return }
            do {
                switch event {
                case .launched(let job, let claims, let module, let tier, let counted):
                    let nonce = try Nonce(bytes: self.service.configuration.random.bytes(32))
                    let evidence = try self.service.quotes.evidence(for: claims, nonce: nonce)
                    try self.log.recordLaunch(job: job, claims: claims, module: module.bytes, evidence: evidence, nonce: nonce, tier: tier,
                                              ledgerCounted: counted)
                    let m = module
                    let now = self.service.configuration.clock.now()
                    try self.store.insert(.init(id: job, moduleName: m.definition.name, moduleMeasurement: m.measurement.hex,
                                                tier: tier.rawValue, state: "collecting-datasets", reason: nil, createdAt: now, updatedAt: now))
                case .workerEntry(let job, let entry):
                    try self.log.recordWorkerEntry(job: job, entry: entry)
                case .uploadRefused(let job, let dataset, let code):
                    try self.log.recordUploadRefused(job: job, dataset: dataset, code: code.rawValue)
                case .stopped(let job):
                    try self.log.recordStopped(job: job)
                case .failed(let job, let reason):
                    failed.yield((job, reason))
                }
            } catch {
                self.stopServing("cannot record \(event) in the log or job store: \(error)")
            }
        }
        recorder = Task { [weak self] in
            for await failure in failures {
                guard let self else { return }
                do { try self.recordFailure(job: failure.job, reason: failure.reason) } catch {
                    self.stopServing("cannot record the failure of \(failure.job) in the log or job store: \(error)")
                }
            }
        }
    }

    /// Records that `job` failed, once: the store's state says whether the log has it already.
    func recordFailure(job: String, reason: String) throws {
        recordLock.lock()
        defer { recordLock.unlock() }
        guard let record = try store.record(job), record.state != "failed" else { return }
        try log.recordFailed(job: job, reason: reason)
        try store.update(id: job, state: "failed", reason: reason, at: service.configuration.clock.now())
    }

    /// Brings the job store (and the log, for failures) up to date with the workers' states
    /// before a read of the store (list, status).
    func syncStore() async {
        for job in await service.allJobs {
            let state = await job.session.state
            if case .failed(let why) = state {
                try? recordFailure(job: job.id, reason: why)
                continue
            }
            recordLock.withLock {
                if let record = try? store.record(job.id), record.state != state.name {
                    try? store.update(id: job.id, state: state.name, reason: nil, at: service.configuration.clock.now())
                }
            }
        }
    }
}
