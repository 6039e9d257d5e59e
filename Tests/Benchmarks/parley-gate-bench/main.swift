import Foundation
import ParleyAnalysis
import ParleyEgress
import ParleyPrivacy
import ParleyEngine

// parley-gate-bench: the egress gate's running time as a side channel (issue #13, point 6): how it varies with the
// noise drawn and with the number of groups, min/median/max over many runs, and the probe's
// engine + gate time with and without the target. The worker releases every answer at a whole
// multiple of its release quantum (WorkerRuntime.defaultReleaseQuantum); the printed spreads
// are set against it. Lines: `name<TAB>value<TAB>unit`. Run by `Scripts/bench.sh gate` in
// release mode; it depends only on the gate, the engine and the analysis language, so its
// release build is quick.

private func nanoseconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start)
}

private func summary(_ name: String, _ samples: [Double]) {
    let sorted = samples.sorted()
    let median = sorted[sorted.count / 2]
    print("\(name).min\t\(String(format: "%.1f", sorted[0] / 1000))\tus")
    print("\(name).median\t\(String(format: "%.1f", median / 1000))\tus")
    print("\(name).p99\t\(String(format: "%.1f", sorted[sorted.count * 99 / 100] / 1000))\tus")
    print("\(name).max\t\(String(format: "%.1f", sorted[sorted.count - 1] / 1000))\tus")
}

func benchGate() throws {
    let policy = try PrivacyPolicy(minGroupSize: 10, epsilonPerQuery: "1.0", budgetEpsilon: "100000000", maxGroupsPerUnit: 1)
    let gate = EgressGate(policy: policy)
    let aggregates = [ParleyPrivacy.AggregateSpec(name: "n", kind: .countDistinctUnits),
                      ParleyPrivacy.AggregateSpec(name: "s", kind: .sum(column: "x", bounds: try ParleyPrivacy.ContributionBounds(lower: 0, upper: 100)))]
    var budget = PrivacyBudget(policy: policy)

    // Number of groups: the same per-group data, 1 to 1000 groups.
    for groups in [1, 10, 100, 1000] {
        let result = BoundedQueryResult(aggregates: aggregates, groups: (0..<groups).map {
            BoundedGroup(keys: ["g\($0)"], distinctUnits: 50, totals: [50, 2500])
        })
        let runs = groups >= 1000 ? 300 : 2000
        var samples: [Double] = []
        for _ in 0..<runs { samples.append(try nanoseconds { _ = try gate.release(result, budget: &budget) }) }
        summary("gate.groups.\(groups)", samples)
    }

    // Noise drawn: one group, 20,000 runs, time bucketed by the magnitude of the count's noise.
    let one = BoundedQueryResult(aggregates: [aggregates[0]], groups: [BoundedGroup(keys: ["g"], distinctUnits: 1000, totals: [1000])])
    var buckets: [String: [Double]] = [:]
    for _ in 0..<20_000 {
        var release: Release?
        let time = try nanoseconds { release = try gate.release(one, budget: &budget) }
        guard case .integer(let value)? = release?.rows.first?.values.first else { continue }
        let noise = abs(value - 1000)
        let bucket = noise == 0 ? "0" : noise <= 2 ? "1-2" : noise <= 5 ? "3-5" : "6+"
        buckets[bucket, default: []].append(time)
    }
    for bucket in ["0", "1-2", "3-5", "6+"] where (buckets[bucket]?.count ?? 0) > 10 {
        summary("gate.noise.\(bucket)", buckets[bucket] ?? [])
    }

    // The membership probe, engine and gate as the worker runs them, target absent and present.
    let schemaA = try DatasetSchema(name: "a", provider: "p", columns: [ColumnSchema(name: "id", type: .text)], privacyUnit: "id")
    let schemaB = try DatasetSchema(name: "b", provider: "q", columns: [ColumnSchema(name: "id", type: .text)], privacyUnit: "id")
    let plan = try QueryCompiler.compile("SELECT COUNT(DISTINCT a.id) AS n FROM a JOIN b ON a.id = b.id", catalog: DatasetCatalog([schemaA, schemaB]))
    let probeAggregates = [ParleyPrivacy.AggregateSpec(name: "n", kind: .countDistinctUnits)]
    let key = try BoundingKey(Array(repeating: 1, count: 32))
    for present in [false, true] {
        var list = "id\n"
        for i in 0..<10_000 { list += "other-\(i)\n" }
        if present { list += "target\n" }
        let tables = ["a": try CSVLoader.load(Array("id\ntarget\n".utf8), schema: schemaA),
                      "b": try CSVLoader.load(Array(list.utf8), schema: schemaB)]
        var samples: [Double] = []
        for _ in 0..<2000 {
            samples.append(try nanoseconds {
                let run = try gate.charge(probeAggregates, partitions: .whole, budget: &budget)
                let grouped = try QueryEngine(datasets: tables, maxJoinedRows: .max)
                    .run(plan, bounds: ParleyEngine.ContributionBounds(maxGroupsPerUnit: 1, maxRowsPerUnit: 1), key: key)
                let groups = grouped.groups.map { BoundedGroup(keys: [], distinctUnits: $0.distinctUnits, totals: [$0.distinctUnits]) }
                var generator = SystemRandomNumberGenerator()
                _ = try gate.release(BoundedQueryResult(aggregates: probeAggregates, groups: groups, partitions: .whole), for: run, using: &generator)
            })
        }
        summary("gate.probe.\(present ? "present" : "absent")", samples)
    }
}

try benchGate()
