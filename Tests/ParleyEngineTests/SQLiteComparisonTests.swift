import Foundation
import XCTest
import ParleyAnalysis
@testable import ParleyEngine

/// With bounds too wide to clamp and no cap on groups per unit, the engine's exact totals must
/// equal what an independent SQL engine (the sqlite3 CLI) computes on the same generated data.
final class SQLiteComparisonTests: XCTestCase {
    static let sqlite = "/usr/bin/sqlite3"

    /// SplitMix64: a small deterministic generator, so failures reproduce.
    struct Generator {
        var state: UInt64
        mutating func next(_ bound: Int) -> Int {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Int((z ^ (z >> 31)) % UInt64(bound))
        }
    }

    static let wide = ClampBounds(lower: -1_000_000_000_000, upper: 1_000_000_000_000)
    static let exposures = try! DatasetSchema(
        name: "exposures", provider: "advertiser",
        columns: [ColumnSchema(name: "email_hash", type: .text), ColumnSchema(name: "campaign", type: .text),
                  ColumnSchema(name: "impressions", type: .int, bounds: wide), ColumnSchema(name: "exposed_on", type: .date)],
        privacyUnit: "email_hash")
    static let purchases = try! DatasetSchema(
        name: "purchases", provider: "retailer",
        columns: [ColumnSchema(name: "day", type: .date), ColumnSchema(name: "amount", type: .decimal, bounds: wide),
                  ColumnSchema(name: "category", type: .text), ColumnSchema(name: "email_hash", type: .text),
                  ColumnSchema(name: "quantity", type: .int)],
        privacyUnit: "email_hash")

    static func csvField(_ text: String) -> String {
        text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" })
            ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
    }

    static func generate() -> (exposures: String, purchases: String) {
        var random = Generator(state: 42)
        let campaigns = ["spring", "summer", "o'brien \"q\"", "fall, late", "winter"]
        let categories = ["soda", "juice", "water", "snacks", "bread", "milk"]
        func day() -> String { DateValue(daysSinceEpoch: 19_700 + Int64(random.next(60))).description }
        var exposures = "email_hash,campaign,impressions,exposed_on\r\n"
        for _ in 0..<3000 {
            let unit = String(format: "u%04d", random.next(800))
            exposures += [unit, csvField(campaigns[random.next(campaigns.count)]), String(random.next(51)), day()]
                .joined(separator: ",") + "\r\n"
        }
        var purchases = "day,amount,category,email_hash,quantity\n"
        for _ in 0..<5000 {
            let amount = "\(random.next(200)).\(String(format: "%02d", random.next(100)))"
            purchases += [day(), amount, categories[random.next(categories.count)],
                          String(format: "u%04d", random.next(1000)), String(1 + random.next(5))]
                .joined(separator: ",") + "\n"
        }
        return (exposures, purchases)
    }

    func testJoinGroupByMatchesSQLite() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.sqlite) else { return XCTFail("sqlite3 is not installed: run Scripts/setup.sh") }
        let (exposuresCSV, purchasesCSV) = Self.generate()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("parley-sqlite-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try exposuresCSV.write(to: directory.appendingPathComponent("exposures.csv"), atomically: true, encoding: .utf8)
        try purchasesCSV.write(to: directory.appendingPathComponent("purchases.csv"), atomically: true, encoding: .utf8)

        let condition = "p.category IN ('soda', 'juice', 'water') AND p.amount >= 10 AND p.day >= e.exposed_on"
        let script = """
            CREATE TABLE exposures (email_hash TEXT, campaign TEXT, impressions INTEGER, exposed_on TEXT);
            CREATE TABLE purchases (day TEXT, amount REAL, category TEXT, email_hash TEXT, quantity INTEGER);
            .import --csv --skip 1 \(directory.path)/exposures.csv exposures
            .import --csv --skip 1 \(directory.path)/purchases.csv purchases
            .mode json
            SELECT e.campaign AS campaign, p.category AS category, COUNT(DISTINCT e.email_hash) AS buyers,
                   COUNT(*) AS n, SUM(CAST(ROUND(p.amount * 10000) AS INTEGER)) AS revenue,
                   SUM(e.impressions) AS impressions
            FROM exposures e JOIN purchases p ON e.email_hash = p.email_hash
            WHERE \(condition)
            GROUP BY e.campaign, p.category;
            """
        let scriptURL = directory.appendingPathComponent("query.sql")
        try script.write(to: scriptURL, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.sqlite)
        process.arguments = [directory.appendingPathComponent("db.sqlite").path, ".read \(scriptURL.path)"]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let json = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        let rows = try XCTUnwrap(try JSONSerialization.jsonObject(with: json) as? [[String: Any]])

        var expected: [[String]: [Int64]] = [:]
        for row in rows {
            let key = [row["campaign"] as? String ?? "?", row["category"] as? String ?? "?"]
            expected[key] = ["buyers", "n", "revenue", "impressions"].map { (row[$0] as? NSNumber)?.int64Value ?? -1 }
        }

        let catalog = try DatasetCatalog([Self.exposures, Self.purchases])
        let plan = try QueryCompiler.compile("""
            SELECT e.campaign, p.category, COUNT(DISTINCT e.email_hash) AS buyers, COUNT(*) AS n,
                   SUM(p.amount) AS revenue, AVG(e.impressions) AS impressions
            FROM exposures e INNER JOIN purchases p ON e.email_hash = p.email_hash
            WHERE \(condition)
            GROUP BY e.campaign, p.category
            """, catalog: catalog)
        let engine = QueryEngine(datasets: [
            "exposures": try CSVLoader.load(Array(exposuresCSV.utf8), schema: Self.exposures),
            "purchases": try CSVLoader.load(Array(purchasesCSV.utf8), schema: Self.purchases),
        ])
        let result = try engine.run(plan, bounds: ContributionBounds(maxGroupsPerUnit: 1_000, maxRowsPerUnit: 1 << 40),
                                    key: BoundingKey(Array(repeating: 1, count: 32)))
        var actual: [[String]: [Int64]] = [:]
        for group in result.groups {
            guard case .text(let campaign) = group.key[0], case .text(let category) = group.key[1],
                  case .count(let buyers) = group.totals[0], case .count(let n) = group.totals[1],
                  case .sum(let revenue) = group.totals[2], case .average(let impressions, let count) = group.totals[3] else {
                return XCTFail("unexpected shape \(group)")
            }
            XCTAssertEqual(count, n)
            XCTAssertEqual(group.distinctUnits, buyers)
            actual[[campaign, category]] = [buyers, n, revenue, impressions]
        }
        XCTAssertEqual(actual.count, 15, "5 campaigns x 3 categories")
        XCTAssertEqual(actual, expected)
    }
}
