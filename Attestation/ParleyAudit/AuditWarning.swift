import ParleyCore

/// Something the auditor should look at that does not, alone, fail the replay.
public enum AuditWarning: Sendable, Equatable, CustomStringConvertible {
    /// The log key came from the bundle: the replay shows the log is self-consistent, not that
    /// it is the host's log.
    case logKeyNotPinned
    /// The pinned log key differs from the bundle's `log-key.pub` (the pinned one was used).
    case bundleLogKeyDiffers
    /// A trust anchor came from the bundle rather than the policy.
    case anchorNotPinned(String)
    /// The bundle's files differ from its (unsigned) MANIFEST.
    case manifest(String)
    /// A job's worker ran without its sandbox.
    case debugWorker(job: String)
    /// An entry was logged for a job after it was recorded as stopped or failed.
    case entryAfterJobEnded(job: String, entryIndex: UInt64)
    /// The same dataset digest was accepted in more than one job: a relaunch may have reset the budget.
    case datasetDigestInSeveralJobs(digest: String, dataset: String, jobs: [String], epsilon: String)
    /// The same module ran in more than one job that received data: each job has its own budget,
    /// so together they may have spent more than one module budget on the same parties' data.
    case moduleRelaunched(module: String, measurement: String, jobs: [String], epsilon: String, budget: String)

    /// A stable identifier for scripts.
    public var code: String {
        switch self {
        case .logKeyNotPinned: "logKeyNotPinned"
        case .bundleLogKeyDiffers: "bundleLogKeyDiffers"
        case .anchorNotPinned: "anchorNotPinned"
        case .manifest: "manifest"
        case .debugWorker: "debugWorker"
        case .entryAfterJobEnded: "entryAfterJobEnded"
        case .datasetDigestInSeveralJobs: "datasetDigestInSeveralJobs"
        case .moduleRelaunched: "moduleRelaunched"
        }
    }

    /// An English explanation.
    public var description: String {
        switch self {
        case .logKeyNotPinned:
            "the log key was taken from the bundle, not pinned: this shows the log is self-consistent, not that it is the host's"
        case .bundleLogKeyDiffers: "the bundle's log-key.pub differs from the pinned key (the pinned key was used)"
        case .anchorNotPinned(let name): "\(name) was taken from the bundle, not pinned: pin the host's own copy to trust the launches"
        case .manifest(let problem): "MANIFEST: \(problem)"
        case .debugWorker(let job): "job \(job) ran its worker in debug mode, without its sandbox"
        case .entryAfterJobEnded(let job, let index): "entry \(index) is for job \(job) after it was recorded as stopped or failed"
        case .datasetDigestInSeveralJobs(let digest, let dataset, let jobs, let epsilon):
            "dataset \(dataset) with digest \(digest.prefix(16))... was accepted in jobs \(jobs.joined(separator: ", ")) (epsilon \(epsilon) in all): a relaunch may have reset its budget"
        case .moduleRelaunched(let module, let measurement, let jobs, let epsilon, let budget):
            "module \(module) (\(measurement.prefix(16))...) ran as jobs \(jobs.joined(separator: ", ")), which spent epsilon \(epsilon) together against a budget of \(budget) each: a relaunch resets the budget"
        }
    }
}
