import XCTest
import ParleyAnalysis
@testable import ParleyEngine

/// Exact, noise-free inputs of MEDIAN, PERCENTILE_CONT, VAR_POP, STDDEV_POP and HISTOGRAM on
/// small data, worked out by hand: what the engine hands the gate.
final class StatisticsEngineTests: XCTestCase {
    static let visits = try! DatasetSchema(
        name: "visits", provider: "clinic",
        columns: [ColumnSchema(name: "patient", type: .text), ColumnSchema(name: "ward", type: .text),
                  ColumnSchema(name: "minutes", type: .int, bounds: ClampBounds(lower: 0, upper: 100)),
                  ColumnSchema(name: "fee", type: .decimal, bounds: ClampBounds(lower: 0, upper: 10 * DecimalValue.unit))],
        privacyUnit: "patient")
    static let catalog = try! DatasetCatalog([visits])
    // Per unit and ward (rows summed, then clamped to the bounds):
    //   north: a 30+50 = 80, b 10, c 250 -> 100, d 40; fees a 3.0000, b 1.5000, c 12 -> 10, d 0.5000
    //   south: e 5, f 5
    static let engine = QueryEngine(datasets: ["visits": try! CSVLoader.load(Array("""
        patient,ward,minutes,fee
        a,north,30,1
        a,north,50,2
        b,north,10,1.5
        c,north,250,12
        d,north,40,0.5
        e,south,5,1
        f,south,5,1
        """.utf8), schema: visits)])
    static let bounds = ContributionBounds(maxGroupsPerUnit: 10, maxRowsPerUnit: 10)

    func run(_ sql: String) throws -> [String: [AggregateTotal]] {
        let result = try Self.engine.run(try QueryCompiler.compile(sql, catalog: Self.catalog), bounds: Self.bounds,
                                         key: try BoundingKey(Array(repeating: 1, count: 32)))
        var out: [String: [AggregateTotal]] = [:]
        for group in result.groups {
            out[group.key.map { value in if case .text(let text) = value { text } else { value.description } }.joined(separator: ",")] = group.totals
        }
        return out
    }

    func testQuantilesGetEveryUnitsClampedTotalSorted() throws {
        let result = try run("SELECT ward, MEDIAN(minutes), PERCENTILE_CONT(fee, 0.9) FROM visits GROUP BY ward")
        XCTAssertEqual(result["north"], [.values([10, 40, 80, 100]), .values([5_000, 15_000, 30_000, 100_000])])
        XCTAssertEqual(result["south"], [.values([5, 5]), .values([10_000, 10_000])])
    }

    func testVarianceGetsCentredSumAndSquares() throws {
        let result = try run("SELECT ward, VAR_POP(minutes), STDDEV_POP(fee) FROM visits GROUP BY ward")
        // minutes centred on 50: north -40, -10, 30, 50 -> sum 30, squares 1600+100+900+2500 = 5100.
        // fee centred on 5.0000: -3.5, -2, 0.5... a 3 -> -2, b 1.5 -> -3.5, c 10 -> 5, d 0.5 -> -4.5:
        // sum -5.0000 = -50000; squares 4 + 12.25 + 25 + 20.25 = 61.5 -> 615000 in ten-thousandths.
        XCTAssertEqual(result["north"], [.moments(centredSum: 30, centredSquares: 5100),
                                         .moments(centredSum: -50_000, centredSquares: 615_000)])
        // south: -45, -45 -> -90, 4050; fees 1 -> -4 each: -80000, 32 -> 320000.
        XCTAssertEqual(result["south"], [.moments(centredSum: -90, centredSquares: 4050),
                                         .moments(centredSum: -80_000, centredSquares: 320_000)])
    }

    func testHistogramCountsUnitsPerBinAndDropsValuesOutside() throws {
        // Bins [0, 10), [10, 50), [50, 90]; north 10, 40, 80, 100 -> 0, 2, 1 (100 is outside).
        let result = try run("SELECT ward, HISTOGRAM(minutes, 0, 10, 50, 90), COUNT(DISTINCT patient) FROM visits GROUP BY ward")
        XCTAssertEqual(result["north"], [.bins([0, 2, 1]), .count(4)])
        XCTAssertEqual(result["south"], [.bins([2, 0, 0]), .count(2)])
    }

    func testHistogramOfAColumnWithoutBoundsUsesTheUnitsTotal() throws {
        let catalog = try DatasetCatalog([try DatasetSchema(
            name: "t", provider: "p", columns: [ColumnSchema(name: "id", type: .text), ColumnSchema(name: "n", type: .int)],
            privacyUnit: "id")])
        let table = try CSVLoader.load(Array("id,n\nx,3\nx,4\ny,9\nz,-1\n".utf8), schema: catalog["t"]!)
        let result = try QueryEngine(datasets: ["t": table]).run(
            try QueryCompiler.compile("SELECT HISTOGRAM(n, 0, 5, 10) FROM t", catalog: catalog),
            bounds: Self.bounds, key: try BoundingKey(Array(repeating: 1, count: 32)))
        // x: 3 + 4 = 7 -> [5, 10]; y: 9 -> [5, 10]; z: -1 is outside.
        XCTAssertEqual(result.groups.map(\.totals), [[.bins([0, 2])]])
    }

    func testBinRuleAtTheEdges() {
        let edges: [Int64] = [0, 10, 50, 100]
        XCTAssertEqual([-1, 0, 9, 10, 49, 50, 99, 100, 101].map { DetailRule.bin(of: $0, edges: edges) },
                       [nil, 0, 0, 1, 1, 2, 2, 2, nil])
        XCTAssertEqual([Int64.min, 0, 1, Int64.max].map { DetailRule.bin(of: $0, edges: [0, 1]) }, [nil, 0, 0, nil])
    }

    func testNoGroupByGivesOneGroupEvenWithoutRows() throws {
        let result = try run("SELECT MEDIAN(minutes), VAR_POP(minutes), HISTOGRAM(minutes, 0, 50, 100) FROM visits WHERE ward = 'east'")
        XCTAssertEqual(result[""], [.values([]), .moments(centredSum: 0, centredSquares: 0), .bins([0, 0])])
    }
}
