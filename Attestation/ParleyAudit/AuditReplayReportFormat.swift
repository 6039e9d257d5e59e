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
    /// `log`, `jobs`, `uploads`, `releases`, `refusals`, `epsilon_by_dataset`, `warnings`, `failures`.
    public var json: String {
        func failure(_ f: AuditReplayFailure) -> [String: Any] {
            var m: [String: Any] = ["code": f.reason.code, "reason": f.reason.description]
            if let index = f.entryIndex { m["entry"] = index }
            return m
        }
        var root: [String: Any] = [
            "log": ["entries": entryCount, "root": rootHash ?? NSNull(), "verified_checkpoints": verifiedCheckpoints,
                    "largest_checkpoint": largestCheckpoint.map { $0 as Any } ?? NSNull(),
                    "key": logKey ?? NSNull(), "key_pinned": logKeyPinned] as [String: Any],
            "jobs": jobs.map { j -> [String: Any] in
                ["id": j.id, "module_name": j.moduleName ?? NSNull(), "module_version": j.moduleVersion ?? NSNull(),
                 "module": j.module?.hex ?? NSNull(), "tier": j.tier?.rawValue ?? NSNull(), "state": j.state.description,
                 "epsilon_spent": j.epsilonSpent, "budget": j.budget ?? NSNull(), "launch_entry": j.launchEntry.map { $0 as Any } ?? NSNull()]
            },
            "uploads": uploads.map { u -> [String: Any] in
                ["job": u.job, "dataset": u.dataset, "provider": u.provider, "rows": u.rows, "sha256": Hex.encode(u.digest), "entry": u.entryIndex]
            },
            "releases": releases.map { r -> [String: Any] in
                ["job": r.job, "query": r.query, "receiver": r.receiver, "epsilon": r.epsilon, "delta": r.delta,
                 "budget_left": r.budgetLeft, "suppressed_groups": r.suppressedGroups, "entry": r.entryIndex]
            },
            "refusals": refusals.map { r -> [String: Any] in
                ["job": r.job, "kind": r.kind.rawValue, "subject": r.subject, "code": r.code, "entry": r.entryIndex]
            },
            "epsilon_by_dataset": epsilonByDataset.map { s -> [String: Any] in
                ["sha256": s.digest, "dataset": s.dataset, "jobs": s.jobs, "epsilon": s.epsilon]
            },
            "ledgers": ledgers.map { l -> [String: Any] in
                ["id": l.id, "name": l.name, "jobs": l.jobs, "spent": l.spent, "budget": l.budget, "open": l.open]
            },
            "warnings": warnings.map { ["code": $0.code, "message": $0.description] },
            "failures": failures.map(failure),
        ]
        switch verdict {
        case .passed: root["verdict"] = "passed"
        case .failed(let first):
            root["verdict"] = "failed"
            root["first_failure"] = failure(first)
        }
        guard let data = try? JSONSerialization.data(withJSONObject: root, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]) else {
            return "{\"verdict\": \"failed\", \"error\": \"the report could not be encoded\"}"
        }
        return String(decoding: data, as: UTF8.self)
    }
}
