import Foundation
import ParleyAnalysis
import ParleyCore
import ParleyEngine
import ParleyModule
import XCTest

/// For every query of every shipped example module, the engine's exact (noise-free) answers on
/// generated data equal what the sqlite3 CLI computes from the same CSV files and the same SQL.
/// Each privacy unit has one row per dataset, so per-unit and per-row semantics coincide and
/// generated values stay inside the declared bounds (nothing is clamped).
final class ExampleQueriesMatchSQLiteTests: ModuleFixtureCase {
    struct SplitMix { var state: UInt64
        mutating func next(_ bound: Int) -> Int {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Int((z ^ (z >> 31)) % UInt64(bound))
        }
    }

    static let words = ["soda", "juice", "water", "cleared", "fraud", "spring", "summer", "a,b", "o'k \"q\""]

    /// A CSV for one dataset: `rows` distinct units drawn from a shared pool, so joins overlap.
    /// With `disjointFrom` set, units come from a pool of their own (datasets read as a union
    /// must not share people, or per-row SQL and per-unit bounding would differ).
    func csv(for d: ModuleDefinition.DatasetDeclaration, rows: Int, poolOffset: Int, rng: inout SplitMix) -> String {
        var units = Array(poolOffset..<(poolOffset + rows * 2)).map { String(format: "%064x", $0 &* 2_654_435_761) }
        for i in stride(from: units.count - 1, to: 0, by: -1) { units.swapAt(i, rng.next(i + 1)) }
        func field(_ s: String) -> String { s.contains(where: { $0 == "," || $0 == "\"" }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s }
        var lines = [d.columns.map(\.name).joined(separator: ",")]
        for r in 0..<rows {
            lines.append(d.columns.map { c -> String in
                if c.name == d.privacyUnit { return units[r] }
                switch c.type {
                case .text: return field(Self.words[rng.next(4)])
                case .int:
                    let b = d.bounds[c.name].map { (Int($0.lower)!, Int($0.upper)!) } ?? (0, 4)
                    return String(b.0 + rng.next(b.1 - b.0 + 1))
                case .decimal:
                    let hi = d.bounds[c.name].map { Int(Double($0.upper)!) } ?? 100
                    return "\(rng.next(hi)).\(String(format: "%02d", rng.next(100)))"
                case .date: return "2024-0\(1 + rng.next(9))-1\(rng.next(10))"
                case .email, .phone, .sha256Email, .sha256Phone: return units[r]
                }
            }.joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    func testEveryExampleQueryMatchesSQLite() throws {
        let sqlite = "/usr/bin/sqlite3"
        guard FileManager.default.isExecutableFile(atPath: sqlite) else { return XCTFail("sqlite3 is not installed: run Scripts/setup.sh") }
        var rng = SplitMix(state: 2026)
        var compared = 0
        // Modules with identifier columns are left out: SQLite neither normalises nor hashes, and
        // their person matching is checked by IdentifierColumnTests and ThreePartyCLITests.
        for example in Self.examples {
            let module = try load(example)
            if module.datasets.values.contains(where: { $0.columns.contains { $0.type.isIdentifier } }) { continue }
            var tables: [String: Table] = [:]
            var script = ""
            let catalog = try module.catalog()
            let hasUnion = try module.compiledQueries().values.contains { $0.sources.contains(where: \.isUnion) }
            for (i, (name, d)) in module.datasets.sorted(by: { $0.key < $1.key }).enumerated() {
                let text = csv(for: d, rows: 1500, poolOffset: hasUnion ? i * 10_000 : 0, rng: &rng)
                try text.write(toFile: "\(dir)/\(name).csv", atomically: true, encoding: .utf8)
                tables[name] = try CSVLoader.load(Array(text.utf8), schema: try XCTUnwrap(catalog.datasets[name]))
                let cols = d.columns.map { "\($0.name) \($0.type == .int ? "INTEGER" : $0.type == .decimal ? "REAL" : "TEXT")" }
                script += "CREATE TABLE \(name) (\(cols.joined(separator: ", ")));\n.import --csv --skip 1 \(dir)/\(name).csv \(name)\n"
            }
            let engine = QueryEngine(datasets: tables)
            for (qname, plan) in try module.compiledQueries() {
                let sql = try XCTUnwrap(module.queries[qname]).sql
                try (script + ".mode json\n" + sql + ";\n").write(toFile: "\(dir)/q.sql", atomically: true, encoding: .utf8)
                let p = Process()
                p.executableURL = URL(fileURLWithPath: sqlite)
                p.arguments = [":memory:", ".read \(dir)/q.sql"]
                let out = Pipe()
                p.standardOutput = out
                try p.run()
                let data = out.fileHandleForReading.readDataToEndOfFile()
                p.waitUntilExit()
                XCTAssertEqual(p.terminationStatus, 0, "sqlite3 failed on \(example).\(qname)")
                let rows = (try JSONSerialization.jsonObject(with: data.isEmpty ? Data("[]".utf8) : data) as? [[String: Any]]) ?? []

                let names = plan.outputs.map { o -> String in
                    switch o { case .groupKey(_, let n), .aggregate(_, let n): return n }
                }
                let keyNames = plan.groupBy.map(\.name)
                var expected: [String: [Double]] = [:]
                for row in rows {
                    let key = keyNames.map { "\(row[$0] ?? "nil")" }.joined(separator: "|")
                    expected[key] = plan.aggregates.map { (row[$0.outputName] as? NSNumber)?.doubleValue ?? .nan }
                }
                let result = try engine.run(plan, bounds: ContributionBounds(maxGroupsPerUnit: module.policy.maxGroupsPerUnit, maxRowsPerUnit: 1_000),
                                            key: BoundingKey(Array(repeating: 7, count: 32)))
                var actual: [String: [Double]] = [:]
                for g in result.groups {
                    let key = g.key.map { v -> String in
                        switch v {
                        case .text(let s): return s
                        case .int(let i): return String(i)
                        default: return v.description
                        }
                    }.joined(separator: "|")
                    actual[key] = zip(plan.aggregates, g.totals).map { a, t -> Double in
                        let scale = a.column?.type == .decimal ? Double(DecimalValue.unit) : 1
                        switch t {
                        case .count(let c): return Double(c)
                        case .sum(let s): return Double(s) / scale
                        case .average(let s, let c): return Double(s) / scale / Double(c)
                        case .values, .moments, .bins: return .nan  // the examples use none (yet)
                        }
                    }
                }
                XCTAssertEqual(Set(actual.keys), Set(expected.keys), "\(example).\(qname): groups differ")
                XCTAssertFalse(actual.isEmpty, "\(example).\(qname) produced no groups; the data generator must make some")
                for (k, v) in actual {
                    guard let e = expected[k] else { continue }
                    for (a, b) in zip(v, e) {
                        XCTAssertEqual(a, b, accuracy: max(1e-6, abs(b) * 1e-9), "\(example).\(qname) group \(k) in \(names)")
                    }
                }
                compared += 1
            }
        }
        XCTAssertEqual(compared, 5, "every example query was compared")
    }
}
