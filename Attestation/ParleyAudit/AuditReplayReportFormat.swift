import Foundation
import ParleyCore

extension AuditReplayReport {
    /// The report for a person: verdict first, then the log, jobs, data, releases, spending,
    /// warnings and every failure.
    public var text: String {
        var lines: [String] = []
        switch verdict {
        case .passed: lines.append("verdict: PASSED")
        case .failed(let first): lines.append("verdict: FAILED at \(first)")
        }
        lines.append("log: \(entryCount) entries, root \(rootHash ?? "-"), \(verifiedCheckpoints) signed checkpoints"
                     + (largestCheckpoint.map { " (largest covers \($0))" } ?? ""))
        lines.append("log key: \(logKey ?? "none") (\(logKeyPinned ? "pinned" : "from the bundle, not pinned"))")
        lines.append("jobs: \(jobs.count)")
        for job in jobs {
            let module = job.moduleName.map { "\($0) v\(job.moduleVersion ?? "?")" } ?? "module unknown"
            lines.append("  \(job.id): \(module) \(job.module.map { String($0.hex.prefix(16)) + "..." } ?? ""), "
                         + "tier \(job.tier?.rawValue ?? "-"), \(job.state), epsilon \(job.epsilonSpent) of \(job.budget ?? "?")")
        }
        lines.append("datasets accepted: \(uploads.count)")
        for u in uploads {
            lines.append("  [\(u.entryIndex)] \(u.job) \(u.dataset) from \(u.provider): \(u.rows) rows, sha256 \(Hex.encode(u.digest).prefix(16))...")
        }
        lines.append("releases: \(releases.count)")
        for r in releases {
            lines.append("  [\(r.entryIndex)] \(r.job) \(r.query) to \(r.receiver): epsilon \(r.epsilon), delta \(r.delta), "
                         + "budget left \(r.budgetLeft), \(r.suppressedGroups) groups suppressed")
        }
        if !refusals.isEmpty {
            lines.append("refusals: \(refusals.count)")
            for r in refusals { lines.append("  [\(r.entryIndex)] \(r.job) \(r.kind.rawValue) \(r.subject): \(r.code)") }
        }
        lines.append("epsilon spent per dataset digest:")
        for s in epsilonByDataset {
            lines.append("  \(s.dataset) \(s.digest.prefix(16))...: \(s.epsilon) (jobs \(s.jobs.joined(separator: ", ")))")
        }
        lines.append("epsilon spent per budget ledger, across jobs:")
        for l in ledgers {
            lines.append("  \(l.name) \(l.id.prefix(16))...: \(l.spent) of \(l.budget) (jobs \(l.jobs.joined(separator: ", "))"
                         + (l.open.isEmpty ? ")" : "; open, counted in full: \(l.open.joined(separator: ", ")))"))
        }
        if !warnings.isEmpty {
            lines.append("warnings: \(warnings.count)")
            for w in warnings { lines.append("  - \(w)") }
        }
        if !failures.isEmpty {
            lines.append("failures: \(failures.count)")
            for f in failures { lines.append("  - \(f)") }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The report as JSON (sorted keys): `verdict` (`"passed"` or `"failed"`), `first_failure`,
    /// `log`, `jobs`, `uploads`, `releases`, `refusals`, `epsilon_by_dataset`, `ledgers`, `warnings`, `failures`.
    public var json: String {
        String(decoding: APIJSON.encode(AuditReplayReportJSON(self), pretty: true), as: UTF8.self)
    }
}

/// The JSON shape of ``AuditReplayReport`` (snake_case keys; absent values are `null`, never omitted).
struct AuditReplayReportJSON: Encodable {
    struct Failure: Encodable {
        let code: String, reason: String, entry: UInt64?
        init(_ f: AuditReplayFailure) { code = f.reason.code; reason = f.reason.description; entry = f.entryIndex }
    }
    struct Log: Encodable {
        let entries: UInt64, root: Nullable<String>, verifiedCheckpoints: Int, largestCheckpoint: Nullable<UInt64>
        let key: Nullable<String>, keyPinned: Bool
        enum CodingKeys: String, CodingKey {
            case entries, root, key, verifiedCheckpoints = "verified_checkpoints", largestCheckpoint = "largest_checkpoint", keyPinned = "key_pinned"
        }
    }
    struct Job: Encodable {
        let id: String, moduleName: Nullable<String>, moduleVersion: Nullable<String>, module: Nullable<String>, tier: Nullable<String>
        let state: String, epsilonSpent: String, budget: Nullable<String>, launchEntry: Nullable<UInt64>
        enum CodingKeys: String, CodingKey {
            case id, module, tier, state, budget
            case moduleName = "module_name", moduleVersion = "module_version", epsilonSpent = "epsilon_spent", launchEntry = "launch_entry"
        }
    }
    struct Upload: Encodable { let job: String, dataset: String, provider: String, rows: UInt64, sha256: String, entry: UInt64 }
    struct Release: Encodable {
        let job: String, query: String, receiver: String, epsilon: String, delta: String, budgetLeft: String, suppressedGroups: UInt64, entry: UInt64
        enum CodingKeys: String, CodingKey {
            case job, query, receiver, epsilon, delta, entry, budgetLeft = "budget_left", suppressedGroups = "suppressed_groups"
        }
    }
    struct Refusal: Encodable { let job: String, kind: String, subject: String, code: String, entry: UInt64 }
    struct Spending: Encodable { let sha256: String, dataset: String, jobs: [String], epsilon: String }
    struct Ledger: Encodable { let id: String, name: String, jobs: [String], spent: String, budget: String, open: [String] }
    struct Warning: Encodable { let code: String, message: String }

    let verdict: String
    let firstFailure: Failure?
    let log: Log
    let jobs: [Job]
    let uploads: [Upload]
    let releases: [Release]
    let refusals: [Refusal]
    let epsilonByDataset: [Spending]
    let ledgers: [Ledger]
    let warnings: [Warning]
    let failures: [Failure]
    enum CodingKeys: String, CodingKey {
        case verdict, log, jobs, uploads, releases, refusals, ledgers, warnings, failures
        case firstFailure = "first_failure", epsilonByDataset = "epsilon_by_dataset"
    }

    init(_ r: AuditReplayReport) {
        switch r.verdict {
        case .passed: verdict = "passed"; firstFailure = nil
        case .failed(let first): verdict = "failed"; firstFailure = Failure(first)
        }
        log = Log(entries: r.entryCount, root: Nullable(r.rootHash), verifiedCheckpoints: r.verifiedCheckpoints,
                  largestCheckpoint: Nullable(r.largestCheckpoint), key: Nullable(r.logKey), keyPinned: r.logKeyPinned)
        jobs = r.jobs.map { j in
            Job(id: j.id, moduleName: Nullable(j.moduleName), moduleVersion: Nullable(j.moduleVersion), module: Nullable(j.module?.hex),
                tier: Nullable(j.tier?.rawValue), state: j.state.description, epsilonSpent: j.epsilonSpent, budget: Nullable(j.budget),
                launchEntry: Nullable(j.launchEntry))
        }
        uploads = r.uploads.map { Upload(job: $0.job, dataset: $0.dataset, provider: $0.provider, rows: $0.rows, sha256: Hex.encode($0.digest), entry: $0.entryIndex) }
        releases = r.releases.map {
            Release(job: $0.job, query: $0.query, receiver: $0.receiver, epsilon: $0.epsilon, delta: $0.delta,
                    budgetLeft: $0.budgetLeft, suppressedGroups: $0.suppressedGroups, entry: $0.entryIndex)
        }
        refusals = r.refusals.map { Refusal(job: $0.job, kind: $0.kind.rawValue, subject: $0.subject, code: $0.code, entry: $0.entryIndex) }
        epsilonByDataset = r.epsilonByDataset.map { Spending(sha256: $0.digest, dataset: $0.dataset, jobs: $0.jobs, epsilon: $0.epsilon) }
        ledgers = r.ledgers.map { Ledger(id: $0.id, name: $0.name, jobs: $0.jobs, spent: $0.spent, budget: $0.budget, open: $0.open) }
        warnings = r.warnings.map { Warning(code: $0.code, message: $0.description) }
        failures = r.failures.map(Failure.init)
    }
}
