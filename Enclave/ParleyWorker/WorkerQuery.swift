import Crypto
import Foundation
import ParleyAnalysis
import ParleyCore
import ParleyEgress
import ParleyEngine
import ParleyModule

extension WorkerRuntime {
    /// Runs a declared query for a declared receiver, through the egress gate, and returns the
    /// result signed by the worker and sealed to the receiver, or a refusal. Both come with a
    /// worker-signed log entry (the release entry carries no values, only their digest).
    func query(_ m: WorkerMessage) throws -> WorkerMessage {
        let name = try m["query"].textValue("query")
        let receiver = try m["receiver"].textValue("receiver")
        let nonce = try m["nonce"].bytesValue("nonce")
        func refuse(_ reason: String) throws -> WorkerMessage {
            let entry = try signedEntry(["kind": .text("query-refused"), "query": .text(name), "receiver": .text(receiver),
                                         "reason": .text(reason)])
            return WorkerMessage(.queryRefused, ["query": .text(name), "reason": .text(reason), "entry": .bytes(entry)])
        }
        guard let module, let gate, var budget else { return try refuse("the worker has no module yet") }
        guard let decl = module.queries[name], let plan = plans[name] else { return try refuse("query \(name) is not declared by the module") }
        guard decl.receivers.contains(receiver), let party = module.parties[receiver] else {
            return try refuse("\(receiver) is not a declared receiver of \(name)")
        }
        guard (16...64).contains(nonce.count) else { return try refuse("the request nonce must be 16 to 64 bytes") }
        guard !seenQueryNonces.contains(nonce) else { return try refuse("this request was already used (replayed nonce)") }
        let signed = DataPlane.queryRequestMessage(job: job, query: name, receiver: receiver, nonce: nonce)
        guard DataPlane.check(try m["signature"].bytesValue("signature"), over: signed, by: party.signing) == .valid else {
            return try refuse("the request is not signed by \(receiver)")
        }
        seenQueryNonces.insert(nonce)
        let missing = Set(plan.datasetNames).subtracting(tables.keys)
        guard missing.isEmpty else { return try refuse("waiting for datasets: \(missing.sorted().joined(separator: ", "))") }

        let aggregates = try module.egressAggregates(of: plan)
        let grouped: GroupedAggregates
        do {
            grouped = try QueryEngine(datasets: tables).run(
                plan, bounds: ParleyEngine.ContributionBounds(maxGroupsPerUnit: module.policy.maxGroupsPerUnit, maxRowsPerUnit: Int64(module.policy.maxRowsPerUnit)),
                key: boundingKey)
        } catch {
            return try refuse("the query failed: \(error)")
        }
        let groups = grouped.groups.map { g in
            BoundedGroup(keys: g.key.map(Self.text), distinctUnits: g.distinctUnits, totals: g.totals.map { t -> Int64 in
                switch t {
                case .count(let c): return c
                case .sum(let s): return s
                case .average(let s, _): return s
                }
            })
        }
        let release: Release
        do {
            release = try gate.release(BoundedQueryResult(aggregates: aggregates, groups: groups), budget: &budget)
        } catch {
            return try refuse(error.reason)
        }
        self.budget = budget
        let doc = ResultDocument(job: job, query: name, columns: plan.outputs.map(Self.name),
                                 rows: release.rows.map { row in resultRow(row, plan: plan) },
                                 suppressedGroups: release.suppressedGroupCount, mechanism: release.mechanism.rawValue,
                                 epsilonCharged: release.epsilonCharged.description, deltaCharged: release.deltaCharged.description,
                                 budgetLeft: release.budgetRemaining.description,
                                 inputs: digests.filter { plan.datasetNames.contains($0.key) },
                                 timestampMillis: UInt64(Date().timeIntervalSince1970 * 1000))
        let signedResult = try COSESign1.sign(payload: doc.encoded, with: .p384(signingKey))
        let sealed = try ParleyHPKE.seal(signedResult, to: party.agreement, info: DataPlane.resultInfo(job: job, query: name, nonce: nonce))
        var inputs: [String: CBOR] = [:]
        for (k, v) in doc.inputs { inputs[k] = .bytes(v) }
        let entry = try signedEntry([
            "kind": .text("release"), "query": .text(name), "receiver": .text(receiver),
            "result_sha256": .bytes(Array(SHA256.hash(data: signedResult))), "epsilon": .text(doc.epsilonCharged),
            "delta": .text(doc.deltaCharged), "budget_left": .text(doc.budgetLeft),
            "suppressed_groups": .unsigned(doc.suppressedGroups), "inputs": .textMap(inputs),
        ])
        return WorkerMessage(.result, ["query": .text(name), "sealed": .bytes(sealed), "entry": .bytes(entry)])
    }

    /// The cells of one released row, in the query's output order.
    func resultRow(_ row: ReleasedRow, plan: QueryPlan) -> [CBOR] {
        plan.outputs.map { o -> CBOR in
            switch o {
            case .groupKey(let i, _): return .text(i < row.keys.count ? row.keys[i] : "")
            case .aggregate(let i, _):
                guard i < row.values.count else { return .null }
                let isDecimal = plan.aggregates[i].column?.type == .decimal
                switch row.values[i] {
                case .integer(let v):
                    return isDecimal ? .text(Self.decimal(Double(v) / Double(DecimalValue.unit))) : .int(v)
                case .average(let a):
                    let value = Double(a.numerator) / Double(a.denominator) / (isDecimal ? Double(DecimalValue.unit) : 1)
                    return .text(Self.decimal(value))
                }
            }
        }
    }

    static func decimal(_ v: Double) -> String { String(format: "%.4f", v) }

    static func name(_ o: OutputColumn) -> String {
        switch o { case .groupKey(_, let n), .aggregate(_, let n): return n }
    }

    static func text(_ v: ScalarValue) -> String {
        switch v {
        case .text(let s): return s
        case .int(let i): return String(i)
        default: return v.description
        }
    }
}
