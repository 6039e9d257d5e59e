import Crypto
import Foundation
import ParleyAnalysis
import ParleyCore
import ParleyEgress
import ParleyPrivacy
import ParleyEngine
import ParleyModule

extension WorkerRuntime {
    /// Runs a declared query for a declared receiver, through the egress gate, and returns the
    /// result signed by the worker and sealed to the receiver, or a refusal. Both come with a
    /// worker-signed log entry (the release entry carries no values, only their digest; a
    /// refusal entry carries only its code, and the charge if one was made).
    ///
    /// Order (docs/privacy.md, "Charge first"): checks that read only the request and the
    /// module; the charge; then everything that reads the data. A failure after the charge is
    /// the one generic refusal ``RefusalCode/notComputable``, with the charge kept.
    func query(_ m: WorkerMessage.Query) throws -> WorkerMessage {
        let name = m.query, receiver = m.receiver, nonce = m.nonce
        let started = releaseClock.now
        func refuse(_ code: RefusalCode, _ reason: String, charged: ChargedRun? = nil) throws -> WorkerMessage {
            let charge = charged.map {
                WorkerEntry.Charge(epsilon: $0.cost.epsilon.description, delta: $0.cost.delta.description,
                                   budgetLeft: $0.budgetRemaining.description)
            }
            let entry = try signedEntry(.queryRefused(.init(query: name, receiver: receiver, code: code, charge: charge)))
            return .queryRefused(.init(query: name, code: code, reason: reason, entry: entry))
        }
        guard let module, let gate, var budget else { return try refuse(.noModule, "the worker has no module yet") }
        // The rule the host already applied, asked again: the worker trusts no host.
        let signed = DataPlane.queryRequestMessage(job: job, query: name, receiver: receiver, nonce: nonce, parameters: m.parameters)
        let admission = QueryAdmission.decide(module: module, query: name, receiver: receiver, nonce: nonce) {
            DataPlane.check(m.signature, over: signed, by: $0.signing) == .valid
        }
        let party: PartyPublicKey
        switch admission {
        case .refused(let why): return try refuse(why.code, why.description)
        case .admitted(let key): party = key
        }
        guard let decl = module.queries[name], let declaredPlan = plans[name] else {
            return try refuse(.undeclaredQuery, "query \(name) is not declared by the module")
        }
        // The receiver's signed values, checked against the module before anything is charged.
        let plan: QueryPlan
        do {
            plan = try declaredPlan.binding(try ParameterDeclaration.bind(m.parameters, to: decl.parameters))
        } catch let refusal as ParameterDeclaration.Refusal {
            return try refuse(.invalidParameters, refusal.description)
        } catch {
            return try refuse(.invalidParameters, "the parameters do not fit the query")
        }
        guard !seenQueryNonces.contains(nonce) else { return try refuse(.replayed, "this request was already used (replayed nonce)") }
        seenQueryNonces.insert(nonce)
        let missing = Set(plan.datasetNames).subtracting(tables.keys)
        guard missing.isEmpty else {
            return try refuse(.datasetsMissing, "waiting for datasets: \(missing.sorted().joined(separator: ", "))")
        }

        // The charge, from the query and the policy alone.
        let run: ChargedRun
        do {
            let aggregates = try module.egressAggregates(of: plan)
            let partitions = try module.partitions(of: plan, query: decl)
            run = try gate.charge(aggregates, partitions: partitions, budget: &budget)
        } catch let error as EgressError {
            if case .budgetExceeded = error.refusal { return try refuse(.budgetExceeded, error.reason) }
            return try refuse(.invalidQuery, error.reason)
        } catch {
            return try refuse(.invalidQuery, "the query cannot be costed under the module's policy")
        }
        self.budget = budget

        // Everything below reads the data. Whatever fails says only the generic reason, and
        // every outcome waits for the same release time quantum.
        let release: Release
        do {
            release = try compute(plan, run: run, gate: gate, policy: module.policy)
        } catch {
            releaseClock.wait(untilQuantumAfter: started, quantum: releaseQuantum)
            return try refuse(.notComputable, RefusalCode.notComputableReason, charged: run)
        }
        releaseClock.wait(untilQuantumAfter: started, quantum: releaseQuantum)
        let doc = ResultDocument(job: job, query: name, columns: plan.outputs.map(Self.name),
                                 rows: release.rows.map { row in Self.resultRow(row, plan: plan) },
                                 suppressedGroups: release.suppressedGroupCount, mechanism: release.mechanism.rawValue,
                                 epsilonCharged: release.epsilonCharged.description, deltaCharged: release.deltaCharged.description,
                                 budgetLeft: release.budgetRemaining.description,
                                 inputs: digests.filter { plan.datasetNames.contains($0.key) },
                                 timestampMillis: UInt64(Date().timeIntervalSince1970 * 1000))
        let signedResult = try COSESign1.sign(payload: doc.encoded, with: .p384(signingKey))
        let sealed = try ParleyHPKE.seal(signedResult, to: party.agreement, info: DataPlane.resultInfo(job: job, query: name, nonce: nonce))
        let entry = try signedEntry(.release(.init(query: name, receiver: receiver, resultSHA256: Array(SHA256.hash(data: signedResult)),
                                                   epsilon: doc.epsilonCharged, delta: doc.deltaCharged, budgetLeft: doc.budgetLeft,
                                                   suppressedGroups: doc.suppressedGroups, inputs: doc.inputs,
                                                   parameters: m.parameters)))
        return .result(.init(query: name, sealed: sealed, entry: entry))
    }

    /// The data-dependent part of a charged run: the engine, then the gate's release.
    func compute(_ plan: QueryPlan, run: ChargedRun, gate: EgressGate,
                 policy: ModuleDefinition.PolicyDeclaration) throws -> Release {
        let bounds = ParleyEngine.ContributionBounds(maxGroupsPerUnit: policy.maxGroupsPerUnit, maxRowsPerUnit: Int64(policy.maxRowsPerUnit),
                                                     maxJoinRowsPerUnit: policy.maxJoinRowsPerUnit)
        // No global join cap: the per-unit cap bounds the work, and a cap that the data could
        // reach would make the outcome depend on the data.
        let grouped = try QueryEngine(datasets: tables, maxJoinedRows: .max).run(plan, bounds: bounds, key: boundingKey)
        let groups = grouped.groups.map { g in
            BoundedGroup(keys: g.key.map(Self.text), distinctUnits: g.distinctUnits, totals: g.totals.map { t -> Int64 in
                switch t {
                case .count(let c): return c
                case .sum(let s): return s
                case .average(let s, _): return s
                case .values, .moments, .bins: return 0
                }
            }, details: g.totals.map { t -> [Int64] in
                switch t {
                case .count, .sum, .average: return []
                case .values(let values): return values
                case .moments(let sum, let squares): return [sum, squares]
                case .bins(let counts): return counts
                }
            })
        }
        let aggregates = run.cost.aggregateCharges.map(\.aggregate)
        var generator = SystemRandomNumberGenerator()
        return try gate.release(BoundedQueryResult(aggregates: aggregates, groups: groups, partitions: run.cost.partitions),
                                for: run, using: &generator)
    }

    /// The cells of one released row, in the query's output order.
    static func resultRow(_ row: ReleasedRow, plan: QueryPlan) -> [CBOR] {
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
                case .variance(let v):
                    // In storage units, squared for a variance: scale a decimal's back to its unit.
                    let scale = isDecimal ? Double(DecimalValue.unit) : 1
                    return .text(Self.decimal(v.value / (v.standardDeviation ? scale : scale * scale)))
                case .counts:
                    // One noisy count per declared bin, as text: "[12,0,7]".
                    return .text(row.values[i].description)
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
