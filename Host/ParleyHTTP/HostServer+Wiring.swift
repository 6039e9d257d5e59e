import Foundation
import ParleyAttestation
import ParleyAudit
import ParleyCore
import ParleyHost

extension HostServer {
    /// Connects the host's events to the job store and the log, and starts the watcher that
    /// records jobs whose workers fail between requests. Call once, before serving.
    public func connect() {
        service.ledgerHandoff = { [weak self] in
            guard let self else { return .null }
            return try self.log.ledgerHandoff().cbor
        }
        service.onEvent = { [weak self] event in
            guard let self else { return }
            do {
                switch event {
                case .launched(let job, let claims, let module, let tier):
                    let nonce = Nonce.random()
                    let evidence = try self.service.evidence(job: job, nonce: nonce)
                    try self.log.recordLaunch(job: job, claims: claims, module: module, evidence: evidence, nonce: nonce, tier: tier)
                    let m = try self.service.job(job).module
                    let now = Date()
                    try self.store.insert(.init(id: job, moduleName: m.definition.name, moduleMeasurement: m.measurement.hex,
                                                tier: tier.rawValue, state: "collecting-datasets", reason: nil, createdAt: now, updatedAt: now))
                case .workerEntry(let job, let entry):
                    try self.log.recordWorkerEntry(job: job, entry: entry)
                case .uploadRefused(let job, let dataset, let code):
                    try self.log.recordUploadRefused(job: job, dataset: dataset, code: code.rawValue)
                case .stopped(let job):
                    try self.log.recordStopped(job: job)
                case .failed(let job, let reason):
                    try self.log.recordFailed(job: job, reason: reason)
                }
            } catch {
                // The log must not silently miss an event: stop serving rather than carry on.
                FileHandle.standardError.write(Data("parley serve: cannot record \(event) in the log or job store: \(error); stopping\n".utf8))
                exit(75)
            }
        }
        Thread.detachNewThread { [weak self] in
            while let self {
                self.syncStore()
                Thread.sleep(forTimeInterval: 1)
            }
        }
    }

    /// Brings the job store (and the log, for failures) up to date with the workers' states.
    func syncStore() {
        recordLock.lock()
        defer { recordLock.unlock() }
        for job in service.allJobs {
            let state = job.session.state
            guard let record = try? store.record(job.id), record.state != state.name else { continue }
            var reason: String?
            if case .failed(let why) = state {
                reason = why
                try? log.recordFailed(job: job.id, reason: why)
            }
            try? store.update(id: job.id, state: state.name, reason: reason, at: Date())
        }
    }
}
