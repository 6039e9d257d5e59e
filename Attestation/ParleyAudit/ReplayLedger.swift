import ParleyAttestation
import ParleyCore
import ParleyPrivacy
import ParleyLog
import ParleyModule

/// The replay's walk over the entries, in order: what each job launched, accepted, released and
/// spent, and every failure and warning met on the way. One `visit` per entry; no I/O.
struct ReplayLedger {
    /// What the walk knows of one job.
    struct JobState {
        let id: String
        var launchIndex: UInt64?
        var claims: LaunchClaims?
        var tier: AssuranceTier?
        var module: SealedModule?
        var budget: Rational?
        var accepted: [String: AuditReplayReport.Upload] = [:]
        var spent: Rational = .zero
        /// What the worker says earlier jobs of its ledger spent (its launch claims).
        var inherited: Rational = .zero
        var ended: AuditReplayReport.JobState?
    }

    let launches: LaunchVerification
    /// The platform logs launch entries carried so far, to rebuild each stored TPM evidence.
    private var platform = PlatformLogState()
    private(set) var jobs: [String: JobState] = [:]
    private(set) var jobOrder: [String] = []
    private(set) var uploads: [AuditReplayReport.Upload] = []
    private(set) var releases: [AuditReplayReport.Release] = []
    private(set) var refusals: [AuditReplayReport.Refusal] = []
    private(set) var failures: [AuditReplayFailure] = []
    private(set) var warnings: [AuditWarning] = []
    /// Dataset digest (hex) -> dataset name, jobs that accepted it, epsilon spent reading it.
    private(set) var spending: [String: (dataset: String, jobs: [String], epsilon: Rational)] = [:]

    init(launches: LaunchVerification) {
        self.launches = launches
    }

    mutating func visit(_ entry: LogEntry) {
        let index = entry.index
        let record: LogRecord
        do { record = try LogRecord(bytes: entry.bytes) } catch {
            return fail(index, .unreadableEntry(LaunchVerification.reason(error)))
        }
        if case .launch(let launch) = record.body {
            return visitLaunch(launch, record: record, at: index)
        }
        if case .failed(let reason) = record.body, jobs[record.job] == nil {
            // A launch that failed before it was measured has no launch entry.
            track(JobState(id: record.job, ended: .failed(reason)))
            return
        }
        guard var job = jobs[record.job] else { return fail(index, .entryForUnlaunchedJob(kind: record.kind)) }
        if job.ended != nil, !isEnd(record.body) {
            warnings.append(.entryAfterJobEnded(job: job.id, entryIndex: index))
        }
        switch record.body {
        case .launch: break
        case .worker(let bytes): visitWorkerEntry(bytes, job: &job, at: index)
        case .uploadRefused(let dataset, let code):
            refusals.append(.init(job: job.id, kind: .upload, subject: dataset, code: code, entryIndex: index))
        case .stopped: job.ended = job.ended ?? .stopped
        case .failed(let reason): job.ended = job.ended ?? .failed(reason)
        }
        jobs[job.id] = job
    }

    private func isEnd(_ body: LogRecordBody) -> Bool {
        switch body {
        case .stopped, .failed: true
        default: false
        }
    }

    private mutating func visitLaunch(_ launch: LaunchRecord, record: LogRecord, at index: UInt64) {
        if let existing = jobs[record.job], existing.launchIndex != nil {
            return fail(index, .jobLaunchedTwice)
        }
        var launch = launch
        if let delta = launch.platform {
            do throws(PlatformLogState.Unavailable) {
                launch = LaunchRecord(claims: launch.claims, tier: launch.tier, ledgerCounted: launch.ledgerCounted, moduleBundle: launch.moduleBundle,
                                      evidence: try platform.expand(stored: launch.evidence, delta: delta), nonce: launch.nonce)
            } catch {
                fail(index, .platformLogsUnavailable(error.reason))
            }
        }
        let (module, launchFailures) = launches.verify(launch, recordedAt: record.timeMillis)
        for failure in launchFailures { fail(index, failure) }
        if launch.claims.debug { warnings.append(.debugWorker(job: record.job)) }
        var job = jobs[record.job] ?? JobState(id: record.job)
        job.launchIndex = index
        job.claims = launch.claims
        job.tier = launch.tier
        job.module = module
        if let text = launch.claims.ledger?.inherited {
            do throws(EpsilonText.Unreadable) { job.inherited = try EpsilonText.parse(text) } catch { fail(index, .unreadableEpsilon(error.reason)) }
        }
        if let module {
            do { job.budget = try module.definition.privacyPolicy().budgetEpsilon } catch {
                fail(index, .moduleUnreadable(LaunchVerification.reason(error)))
            }
        }
        track(job)
    }

    private mutating func track(_ job: JobState) {
        if jobs[job.id] == nil { jobOrder.append(job.id) }
        jobs[job.id] = job
    }

    private mutating func visitWorkerEntry(_ bytes: [UInt8], job: inout JobState, at index: UInt64) {
        guard let claims = job.claims else { return fail(index, .entryForUnlaunchedJob(kind: "worker")) }
        let entry: WorkerEntry
        switch WorkerEntry.verify(bytes, signingKey: claims.signingKey) {
        case .rejected(let rejection): return fail(index, .workerEntryRejected(rejection))
        case .verified(let verified): entry = verified
        }
        guard entry.job == job.id else { return fail(index, .workerEntryForOtherJob(signedFor: entry.job)) }
        switch entry.kind {
        case .uploadAccepted(let upload): accept(upload, job: &job, at: index)
        case .release(let release): self.release(release, job: &job, at: index)
        case .queryRefused(let refused):
            refusals.append(.init(job: job.id, kind: .query, subject: "\(refused.query) for \(refused.receiver)", code: refused.code,
                                  entryIndex: index))
            // A refusal after the charge spent the budget like a release.
            if let charge = refused.charge {
                let read = (try? job.module?.definition.compiledQueries()[refused.query]?.datasetNames) ?? []
                spend(epsilonText: charge.epsilon, deltaText: charge.delta, budgetLeftText: charge.budgetLeft,
                      inputs: read.compactMap { job.accepted[$0]?.digest }, job: &job, at: index)
            }
        case .closed(let spent, let left):
            do throws(EpsilonText.Unreadable) {
                _ = try EpsilonText.parse(spent)
                _ = try EpsilonText.parse(left)
            } catch {
                fail(index, .unreadableEpsilon(error.reason))
            }
        }
    }

    private mutating func accept(_ upload: WorkerEntry.UploadAccepted, job: inout JobState, at index: UInt64) {
        let summary = AuditReplayReport.Upload(job: job.id, dataset: upload.dataset, provider: upload.provider, rows: upload.rows,
                                               digest: upload.ciphertextSHA256, entryIndex: index)
        if let declarations = job.module?.definition.datasets {
            guard let declared = declarations[upload.dataset] else { return fail(index, .undeclaredDataset(upload.dataset)) }
            if declared.provider != upload.provider {
                fail(index, .providerMismatch(dataset: upload.dataset, declared: declared.provider, logged: upload.provider))
            }
        }
        guard job.accepted[upload.dataset] == nil else { return fail(index, .datasetAcceptedTwice(upload.dataset)) }
        job.accepted[upload.dataset] = summary
        uploads.append(summary)
        let key = Hex.encode(upload.ciphertextSHA256)
        var spent = spending[key] ?? (dataset: upload.dataset, jobs: [], epsilon: .zero)
        if !spent.jobs.contains(job.id) { spent.jobs.append(job.id) }
        spending[key] = spent
    }

    private mutating func release(_ release: WorkerEntry.Release, job: inout JobState, at index: UInt64) {
        releases.append(.init(job: job.id, query: release.query, receiver: release.receiver, epsilon: release.epsilon,
                              delta: release.delta, budgetLeft: release.budgetLeft, suppressedGroups: release.suppressedGroups,
                              entryIndex: index))
        if let definition = job.module?.definition {
            if definition.queries[release.query]?.receivers.contains(release.receiver) != true {
                fail(index, .undeclaredRelease(query: release.query, receiver: release.receiver))
            }
            let missing = definition.datasets.keys.filter { job.accepted[$0] == nil }.sorted()
            if !missing.isEmpty { fail(index, .releaseBeforeDatasets(query: release.query, missing: missing)) }
        }
        for (dataset, digest) in release.inputs.sorted(by: { $0.key < $1.key }) where job.accepted[dataset]?.digest != digest {
            fail(index, .releaseInputMismatch(dataset: dataset))
        }
        spend(epsilonText: release.epsilon, deltaText: release.delta, budgetLeftText: release.budgetLeft,
              inputs: Array(release.inputs.values), job: &job, at: index)
    }

    /// Adds a run's charge to the job's and its inputs' spending, and checks the budget left
    /// the worker stated.
    private mutating func spend(epsilonText: String, deltaText: String, budgetLeftText: String, inputs: [[UInt8]],
                                job: inout JobState, at index: UInt64) {
        do throws(EpsilonText.Unreadable) {
            let epsilon = try EpsilonText.parse(epsilonText)
            _ = try EpsilonText.parse(deltaText)
            job.spent = try EpsilonText.sum(job.spent, epsilon)
            for digest in Set(inputs) {
                let key = Hex.encode(digest)
                if var spent = spending[key] {
                    spent.epsilon = try EpsilonText.sum(spent.epsilon, epsilon)
                    spending[key] = spent
                }
            }
            guard let budget = job.budget else { return }
            let total = try EpsilonText.sum(job.inherited, job.spent)
            guard total <= budget else {
                return fail(index, .budgetExceeded(spent: total.description, budget: budget.description))
            }
            let stated = try EpsilonText.parse(budgetLeftText)
            let expected = (try? budget.subtracting(total)) ?? .zero
            if stated != expected { fail(index, .budgetLeftMismatch(stated: budgetLeftText, expected: expected.description)) }
        } catch {
            fail(index, .unreadableEpsilon(error.reason))
        }
    }

    private mutating func fail(_ index: UInt64, _ reason: AuditReplayFailureReason) {
        failures.append(AuditReplayFailure(entryIndex: index, reason: reason))
    }

    // MARK: - After the walk

    /// The jobs, in launch order, for the report.
    var jobSummaries: [AuditReplayReport.Job] {
        jobOrder.compactMap { jobs[$0] }.map { job in
            let declared = job.module?.definition.datasets.count ?? 0
            let state = job.ended ?? (job.accepted.count >= declared && job.module != nil
                                          ? .ready : .collectingDatasets(received: job.accepted.count, declared: declared))
            return AuditReplayReport.Job(id: job.id, moduleName: job.module?.definition.name, moduleVersion: job.module?.definition.version,
                                         module: job.claims?.module, tier: job.tier, state: state,
                                         epsilonSpent: job.spent.description, budget: job.budget?.description, launchEntry: job.launchIndex)
        }
    }

    /// Epsilon spent per dataset digest, largest first.
    var datasetSpending: [AuditReplayReport.DatasetSpending] {
        spending.map { key, value in
            AuditReplayReport.DatasetSpending(digest: key, dataset: value.dataset, jobs: value.jobs, epsilon: value.epsilon.description)
        }.sorted { ($0.dataset, $0.digest) < ($1.dataset, $1.digest) }
    }

    /// Relaunch warnings: a digest accepted in several jobs, a module run as several jobs with data.
    var relaunchWarnings: [AuditWarning] {
        var out: [AuditWarning] = datasetSpending.filter { $0.jobs.count > 1 }.map {
            .datasetDigestInSeveralJobs(digest: $0.digest, dataset: $0.dataset, jobs: $0.jobs, epsilon: $0.epsilon)
        }
        var byModule: [MeasurementDigest: [JobState]] = [:]
        for id in jobOrder {
            // Jobs whose workers counted their ledger are checked across jobs (AuditReplay's ledger check).
            guard let job = jobs[id], let module = job.claims?.module, !job.accepted.isEmpty, job.claims?.ledger == nil else { continue }
            byModule[module, default: []].append(job)
        }
        for (measurement, group) in byModule.sorted(by: { $0.key.hex < $1.key.hex }) where group.count > 1 {
            let total = group.reduce(Rational.zero) { (try? $0.adding($1.spent)) ?? $0 }
            out.append(.moduleRelaunched(module: group.first?.module?.definition.name ?? "?", measurement: measurement.hex,
                                         jobs: group.map(\.id), epsilon: total.description,
                                         budget: group.first?.budget?.description ?? "?"))
        }
        return out
    }
}
