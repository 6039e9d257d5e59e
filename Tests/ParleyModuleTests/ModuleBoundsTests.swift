import Foundation
import ParleyAnalysis
import ParleyCore
import ParleyEgress
import ParleyPrivacy
import ParleyModule
import XCTest

/// Seal-time proofs (no accumulator overflows, no join grows past its cap), the floor on
/// min_group_size, and declared public group keys (issue #13).
final class ModuleBoundsTests: ModuleFixtureCase {
    func testASumThatCouldOverflowIsRefusedAtSealTime() throws {
        // 50,000,000 units x 10^9 (in ten-thousandths: 10^13) exceeds 2^63 - 1.
        let r = try refusal("bank-flags") { $0.replacingOccurrences(of: "bounds = { exposure = [0, 1000000] }", with: "bounds = { exposure = [0, 1000000000] }") }
        XCTAssertTrue(r.contains("edited.toml:32:7: query flagged_by_both: SUM(a.exposure) could overflow a 64-bit total"), r)
        XCTAssertTrue(r.contains("narrow the column's clamping bounds"), r)
        // The shipped bounds (10^6, so 10^10 per unit) are proven safe: 5 x 10^17 < 2^63.
        XCTAssertNoThrow(try load("bank-flags"))
        // Negative bounds count by magnitude.
        let negative = try refusal("bank-flags") { $0.replacingOccurrences(of: "bounds = { exposure = [0, 1000000] }", with: "bounds = { exposure = [-1000000000, 0] }") }
        XCTAssertTrue(negative.contains("could overflow"), negative)
    }

    func testAJoinThatCouldGrowPastItsCapIsRefusedAtSealTime() throws {
        let r = try refusal { $0.replacingOccurrences(of: "max_groups_per_unit = 1\n", with: "max_groups_per_unit = 1\nmax_join_rows_per_unit = 1001\n") }
        XCTAssertTrue(r.contains("query conversions") || r.contains("query conversions_by_region"), r)
        XCTAssertTrue(r.contains("1001^2 row combinations, above the engine's cap of 1000000"), r)
        XCTAssertTrue(r.contains("edited.toml:"), r)
        // 1000^2 is within the cap.
        let path = "\(dir)/ok.toml"
        try (try String(contentsOfFile: "\(dir)/campaign-lift.toml", encoding: .utf8))
            .replacingOccurrences(of: "max_groups_per_unit = 1\n", with: "max_groups_per_unit = 1\nmax_join_rows_per_unit = 1000\n")
            .write(toFile: path, atomically: true, encoding: .utf8)
        let module = try ModuleDefinition.load(source: path, author: authorDER)
        XCTAssertEqual(module.policy.maxJoinRowsPerUnit, 1000)
        let reopened = try SealedModule(bytes: try SealedModule.seal(module, key: author).bytes)
        XCTAssertEqual(reopened.definition.policy.maxJoinRowsPerUnit, 1000)
    }

    func testTheProofItself() throws {
        let a = try DatasetSchema(name: "a", provider: "p", columns: [ColumnSchema(name: "id", type: .int),
                                                                      ColumnSchema(name: "v", type: .int, bounds: ClampBounds(lower: -5, upper: 184_467_440_737))],
                                  privacyUnit: "id")
        let catalog = try DatasetCatalog([a])
        let safe = try QueryCompiler.compile("SELECT SUM(v) FROM a", catalog: catalog)
        XCTAssertNil(ExecutionBounds.problem(with: safe, maxRowsPerUnit: 1, maxJoinRowsPerUnit: 100), "5e7 x 184467440737 < 2^63")
        let b = try DatasetSchema(name: "b", provider: "p", columns: [ColumnSchema(name: "id", type: .int),
                                                                      ColumnSchema(name: "v", type: .int, bounds: ClampBounds(lower: 0, upper: 184_467_440_738))],
                                  privacyUnit: "id")
        let unsafe = try QueryCompiler.compile("SELECT SUM(v) FROM b", catalog: try DatasetCatalog([b]))
        XCTAssertNotNil(ExecutionBounds.problem(with: unsafe, maxRowsPerUnit: 1, maxJoinRowsPerUnit: 100), "5e7 x 184467440738 > 2^63 - 1")
        XCTAssertEqual(ExecutionBounds.maxUnits(of: safe), 50_000_000)
    }

    func testMinGroupSizeBelowTwoIsRefused() throws {
        let r = try refusal { $0.replacingOccurrences(of: "min_group_size = 50", with: "min_group_size = 1") }
        XCTAssertTrue(r.contains("edited.toml:") && r.contains("min_group_size") && r.contains("from 2"), r)
    }

    static func keyed(_ text: String) -> String {
        text.replacingOccurrences(of: "[queries.flagged_by_both]\nreceivers = [\"bank_a\", \"bank_b\"]",
                                  with: "[queries.flagged_by_both]\nreceivers = [\"bank_a\", \"bank_b\"]\ngroup_keys = { \"a.sector\" = [\"energy\", \"retail\", \"shipping\"] }")
    }

    func testDeclaredGroupKeysAreSealedAndGiveAPublicDomainWithoutDelta() throws {
        let path = "\(dir)/keyed.toml"
        try Self.keyed(try String(contentsOfFile: "\(dir)/bank-flags.toml", encoding: .utf8)).write(toFile: path, atomically: true, encoding: .utf8)
        let module = try ModuleDefinition.load(source: path, author: authorDER)
        XCTAssertEqual(module.queries["flagged_by_both"]?.groupKeys, [.init(column: "a.sector", values: ["energy", "retail", "shipping"])])
        let sealed = try SealedModule.seal(module, key: author)
        let reopened = try SealedModule(bytes: sealed.bytes)
        XCTAssertNotEqual(sealed.measurement, try SealedModule.seal(try load("bank-flags"), key: author).measurement,
                          "the declared keys are covered by the measurement")
        let cost = try reopened.definition.cost(ofQuery: "flagged_by_both")
        XCTAssertEqual(cost.partitions, .declared(keys: [["energy"], ["retail"], ["shipping"]]))
        XCTAssertEqual(cost.partitionSelectionDelta, 0)
        let plain = try load("bank-flags").cost(ofQuery: "flagged_by_both")
        XCTAssertEqual(plain.partitions, .threshold)
        XCTAssertGreaterThan(plain.partitionSelectionDelta, 0)
    }

    func testDeclaredKeysAreCheckedAgainstTheQuery() throws {
        let cases: [(String, (String) -> String, String)] = [
            ("bank-flags", { $0.replacingOccurrences(of: "receivers = [\"bank_a\", \"bank_b\"]\n",
                                                    with: "receivers = [\"bank_a\", \"bank_b\"]\ngroup_keys = { reason = [\"x\"] }\n") },
             "group_keys names \"reason\", which is not a GROUP BY column; they are a.sector"),
            ("campaign-lift", { $0.replacingOccurrences(of: "[queries.conversions_by_region]\nreceivers = [\"brand\", \"retailer\"]",
                                                       with: "[queries.conversions_by_region]\nreceivers = [\"brand\", \"retailer\"]\ngroup_keys = { campaign = [\"spring\"], region = [\"north\"] }") },
             "every value must be a int"),
            ("campaign-lift", { $0.replacingOccurrences(of: "[queries.conversions_by_region]\nreceivers = [\"brand\", \"retailer\"]",
                                                       with: "[queries.conversions_by_region]\nreceivers = [\"brand\", \"retailer\"]\ngroup_keys = { campaign = [\"spring\"] }") },
             "e.region is missing"),
            ("campaign-lift", { $0.replacingOccurrences(of: "[queries.reach]\nreceivers = [\"brand\"]",
                                                       with: "[queries.reach]\nreceivers = [\"brand\"]\ngroup_keys = { campaign = [\"spring\", \"spring\"] }") },
             "lists \"spring\" twice"),
        ]
        for (name, edit, expected) in cases {
            let r = try refusal(name, edit)
            XCTAssertTrue(r.contains(expected), "expected «\(expected)» in «\(r)»")
            XCTAssertTrue(r.contains("edited.toml:"), "no position in «\(r)»")
        }
        // Declared int keys are canonicalised (as results print them) and the cross product formed.
        let path = "\(dir)/regions.toml"
        try (try String(contentsOfFile: "\(dir)/campaign-lift.toml", encoding: .utf8))
            .replacingOccurrences(of: "[queries.conversions_by_region]\nreceivers = [\"brand\", \"retailer\"]",
                                  with: "[queries.conversions_by_region]\nreceivers = [\"brand\", \"retailer\"]\ngroup_keys = { campaign = [\"spring\", \"fall\"], region = [0, \"+1\"] }")
            .write(toFile: path, atomically: true, encoding: .utf8)
        let cost = try ModuleDefinition.load(source: path, author: authorDER).cost(ofQuery: "conversions_by_region")
        XCTAssertEqual(cost.partitions, .declared(keys: [["spring", "0"], ["spring", "1"], ["fall", "0"], ["fall", "1"]]))
    }

    func testAQueryWithoutGroupByIsOnePublicPartition() throws {
        let path = "\(dir)/whole.toml"
        try (try String(contentsOfFile: "\(dir)/bank-flags.toml", encoding: .utf8))
            .replacingOccurrences(of: "SELECT a.sector, COUNT", with: "SELECT COUNT")
            .replacingOccurrences(of: "GROUP BY a.sector\n", with: "")
            .write(toFile: path, atomically: true, encoding: .utf8)
        let cost = try ModuleDefinition.load(source: path, author: authorDER).cost(ofQuery: "flagged_by_both")
        XCTAssertEqual(cost.partitions, .whole)
        XCTAssertEqual(cost.partitionSelectionDelta, 0)
        XCTAssertFalse(cost.measurements.contains { $0.measurement == .groupCount })
    }
}
