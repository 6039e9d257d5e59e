import Foundation
import XCTest

/// `module inspect` and `query cost` say which partitions a query uses, its partition-selection
/// delta, and flag weak settings; `module seal` refuses what could fail after the charge.
final class ModuleInspectCLITests: CLITestCase {
    func parley(_ args: [String], in dir: String) throws -> (status: Int32, out: String, err: String) {
        let saved = FileManager.default.currentDirectoryPath
        FileManager.default.changeCurrentDirectoryPath(dir)
        defer { FileManager.default.changeCurrentDirectoryPath(saved) }
        return try run("parley", args)
    }

    func testInspectAndCostShowPartitionsDeltaAndWeakSettings() throws {
        let dir = try temporaryDirectory()
        for k in ["bank_a", "bank_b", "author"] { XCTAssertEqual(try parley(["keygen", k], in: dir).status, 0) }
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Enclave/Modules/bank-flags/bank-flags.toml")
        let text = try String(contentsOf: source, encoding: .utf8)
            .replacingOccurrences(of: "[queries.flagged_by_both]\nreceivers = [\"bank_a\", \"bank_b\"]",
                                  with: "[queries.flagged_by_both]\nreceivers = [\"bank_a\", \"bank_b\"]\ngroup_keys = { \"a.sector\" = [\"energy\", \"retail\"] }")
            + """

            [queries.total]
            receivers = ["bank_a"]
            sql = "SELECT COUNT(DISTINCT a.counterparty) AS n FROM flags_a a JOIN flags_b b ON a.counterparty = b.counterparty"

            [queries.sectors]
            receivers = ["bank_a"]
            sql = "SELECT a.sector, COUNT(DISTINCT a.counterparty) AS n FROM flags_a a GROUP BY a.sector"
            """
        try text.write(toFile: dir + "/bank-flags.toml", atomically: true, encoding: .utf8)
        let sealed = try parley(["module", "seal", "bank-flags.toml", "--key", "author.key"], in: dir)
        XCTAssertEqual(sealed.status, 0, sealed.err)

        let inspect = try parley(["module", "inspect", "bank-flags.parley"], in: dir)
        XCTAssertEqual(inspect.status, 0, inspect.err)
        XCTAssertTrue(inspect.out.contains("groups: declared public keys (2), each released, empty ones as a noisy zero"), inspect.out)
        XCTAssertTrue(inspect.out.contains("declared keys: (energy) (retail)"), inspect.out)
        XCTAssertTrue(inspect.out.contains("groups: one public partition (no GROUP BY), always computed and charged"), inspect.out)
        XCTAssertTrue(inspect.out.contains("WEAK: partition-selection delta 0.0069 is above 1e-06"), inspect.out)
        XCTAssertEqual(inspect.out.components(separatedBy: "WEAK:").count - 1, 1, "only the thresholded query is weak: \(inspect.out)")

        let json = try parley(["module", "inspect", "bank-flags.parley", "--json"], in: dir)
        let queries = (try JSONSerialization.jsonObject(with: Data(json.out.utf8)) as? [String: Any])?["queries"] as? [String: [String: Any]]
        let flagged = queries?["flagged_by_both"]?["cost"] as? [String: Any]
        XCTAssertEqual((flagged?["partitions"] as? [String: Any])?["kind"] as? String, "declared")
        XCTAssertEqual(flagged?["partition_selection_delta"] as? Double, 0)
        XCTAssertEqual(((queries?["sectors"]?["cost"] as? [String: Any])?["weak"] as? [String])?.count, 1)

        let cost = try parley(["query", "cost", "bank-flags.parley", "--query", "sectors"], in: dir)
        XCTAssertTrue(cost.out.contains("groups: groups from the data, released behind the noisy min_group_size threshold"), cost.out)
        XCTAssertTrue(cost.out.contains("partition-selection delta: 0.0069 (added to every run's delta)"), cost.out)
        XCTAssertTrue(cost.out.contains("WEAK:"), cost.out)
        let total = try parley(["query", "cost", "bank-flags.parley", "--query", "total"], in: dir)
        XCTAssertTrue(total.out.contains("partition-selection delta: 0 (public partitions)"), total.out)
        XCTAssertFalse(total.out.contains("WEAK"), total.out)

        // A weak threshold; and sums that could overflow are refused at seal time, with the position.
        try text.replacingOccurrences(of: "min_group_size = 10", with: "min_group_size = 5")
            .write(toFile: dir + "/weak.toml", atomically: true, encoding: .utf8)
        XCTAssertEqual(try parley(["module", "seal", "weak.toml", "--key", "author.key"], in: dir).status, 0)
        XCTAssertTrue(try parley(["module", "inspect", "weak.parley"], in: dir).out.contains("WEAK: min_group_size 5 is below 10"))
        try text.replacingOccurrences(of: "exposure = [0, 1000000]", with: "exposure = [0, 10000000000]")
            .write(toFile: dir + "/overflow.toml", atomically: true, encoding: .utf8)
        let overflow = try parley(["module", "seal", "overflow.toml", "--key", "author.key"], in: dir)
        XCTAssertNotEqual(overflow.status, 0)
        XCTAssertTrue(overflow.err.contains("overflow.toml:33:7: query flagged_by_both: SUM(a.exposure) could overflow"), overflow.err)
    }

    /// `query cost` lists each statistic's measurements with their share, sensitivity and noise
    /// (issue #18): a quantile as an exponential mechanism, a variance's squares in their unit,
    /// a histogram as one count measurement over its bins.
    func testCostShowsTheMechanismOfEachStatistic() throws {
        let dir = try temporaryDirectory()
        for k in ["bank_a", "bank_b", "author"] { XCTAssertEqual(try parley(["keygen", k], in: dir).status, 0) }
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Enclave/Modules/bank-flags/bank-flags.toml")
        let text = try String(contentsOf: source, encoding: .utf8) + """

            [queries.exposure_stats]
            receivers = ["bank_a"]
            sql = "SELECT MEDIAN(a.exposure) AS median_exposure, VAR_POP(a.exposure) AS var_exposure, HISTOGRAM(a.exposure, 0, 1000, 100000, 1000000) AS bands FROM flags_a a"
            """
        try text.write(toFile: dir + "/stats.toml", atomically: true, encoding: .utf8)
        let sealed = try parley(["module", "seal", "stats.toml", "--key", "author.key"], in: dir)
        XCTAssertEqual(sealed.status, 0, sealed.err)
        let cost = try parley(["query", "cost", "stats.parley", "--query", "exposure_stats"], in: dir)
        XCTAssertEqual(cost.status, 0, cost.err)
        // Five measurements (unit count, quantile, centred sum, centred squares, histogram): 1/5 each.
        for line in [
            "median_exposure: 1 measurement(s): quantile 0.5 of a.exposure per group (exponential mechanism), bounds [0, 10000000000], 1001 candidates at most 10000000 apart",
            "var_exposure: 3 measurement(s): distinct-unit count per group; centred sum of a.exposure",
            "10000000 apart: share 0.2, sensitivity L1 1, exponential mechanism, epsilon 0.2 per group",
            "squares in 1/10000000000: share 0.2, sensitivity L1 2500000000, discrete Laplace, scale 12500000000",
            "histogram of a.exposure per group, 3 bins: share 0.2, sensitivity L1 1, discrete Laplace, scale 5",
        ] {
            XCTAssertTrue(cost.out.contains(line), "missing '\(line)' in:\n\(cost.out)")
        }
        // A fraction outside [0, 1] is refused at seal time, with the position in the source.
        try text.replacingOccurrences(of: "MEDIAN(a.exposure)", with: "PERCENTILE_CONT(a.exposure, 2)")
            .write(toFile: dir + "/bad.toml", atomically: true, encoding: .utf8)
        let refused = try parley(["module", "seal", "bad.toml", "--key", "author.key"], in: dir)
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.err.contains("between 0 and 1"), refused.err)
    }
}
