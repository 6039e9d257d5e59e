import Foundation
import ParleyAnalysis
import ParleyEngine

// The engine benchmark: CSV bytes in memory to aggregated groups, for the campaign-attribution
// query below, over the files Scripts/bench-engine-data.py writes. Scripts/bench-engine.sh runs
// it beside DuckDB and sqlite3 on the same files and compares times, peak memory and answers.
//
// Bounds: maxGroupsPerUnit is 1_000 and maxRowsPerUnit 1_000_000, far above what any person in
// the generated data reaches (one row per person per file, so one group and one joined row
// each), so bounding drops nothing and the exact totals equal plain SQL's. The amount bounds
// [0, 500] are the generator's range, so clamping changes nothing either.

/// The benchmarked query, as a module would ship it.
let engineBenchQuery = """
    SELECT e.campaign, COUNT(DISTINCT e.email_hash) AS buyers, SUM(p.amount) AS revenue
    FROM exposures e JOIN purchases p ON e.email_hash = p.email_hash
    GROUP BY e.campaign
    """

/// Runs the engine benchmark in a child process (`parley-bench engine-child DIR`), so that the
/// peak resident memory it reports belongs to this benchmark alone, and relays its lines.
///
/// - Parameter dataDirectory: Where `exposures.csv` and `purchases.csv` are.
/// - Throws: If the child cannot be started or fails.
func benchEngine(dataDirectory: String) throws {
    let child = Process()
    child.executableURL = URL(fileURLWithPath: try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
    child.arguments = ["engine-child", dataDirectory]
    fflush(nil)  // flushes every C stream, stdout included, before the child writes to it
    try child.run()
    child.waitUntilExit()
    guard child.terminationReason == .exit, child.terminationStatus == 0 else {
        throw EngineBenchError("engine-child failed (status \(child.terminationStatus))")
    }
}

/// The child's work: reads both files into memory, then times (median of several repetitions,
/// one thread) loading both into tables, compiling and running the query. Prints
/// `engine.total_seconds`, `engine.load_seconds`, `engine.query_seconds`, `engine.cpu_seconds`,
/// `engine.input_rss_mb` (VmHWM once the files are in memory) and `engine.peak_rss_mb` (VmHWM
/// at the end). With `PARLEY_BENCH_ANSWERS` set, writes the groups there as
/// `campaign,buyers,revenue` lines for the script to compare with DuckDB's and sqlite3's.
/// `PARLEY_BENCH_REPS` sets the repetitions (default 5).
///
/// - Parameter dataDirectory: Where `exposures.csv` and `purchases.csv` are.
/// - Throws: If a file cannot be read, or loading, compiling or running fails.
func benchEngineChild(dataDirectory: String) throws {
    let environment = ProcessInfo.processInfo.environment
    let repetitions = max(1, Int(environment["PARLEY_BENCH_REPS"] ?? "") ?? 5)
    let exposuresCSV = try readBytes(dataDirectory + "/exposures.csv")
    let purchasesCSV = try readBytes(dataDirectory + "/purchases.csv")
    let inputMegabytes = try peakResidentMegabytes()
    let exposures = try DatasetSchema(name: "exposures", provider: "publisher", columns: [
        ColumnSchema(name: "email_hash", type: .text),
        ColumnSchema(name: "campaign", type: .text),
        ColumnSchema(name: "region", type: .int),
    ], privacyUnit: "email_hash")
    let purchases = try DatasetSchema(name: "purchases", provider: "retailer", columns: [
        ColumnSchema(name: "email_hash", type: .text),
        ColumnSchema(name: "amount", type: .decimal, bounds: ClampBounds(lower: 0, upper: 500 * DecimalValue.unit)),
        ColumnSchema(name: "category", type: .text),
    ], privacyUnit: "email_hash")
    let catalog = try DatasetCatalog([exposures, purchases])
    let bounds = ContributionBounds(maxGroupsPerUnit: 1_000, maxRowsPerUnit: 1_000_000)
    let key = try BoundingKey(Array(repeating: 0x42, count: 32))

    var loadTimes: [Double] = [], queryTimes: [Double] = [], totalTimes: [Double] = [], cpuTimes: [Double] = []
    var answer: GroupedAggregates?
    for _ in 0..<repetitions {
        let start = DispatchTime.now().uptimeNanoseconds
        let cpuStart = processCPUSeconds()
        let tables = ["exposures": try CSVLoader.load(exposuresCSV, schema: exposures),
                      "purchases": try CSVLoader.load(purchasesCSV, schema: purchases)]
        let loaded = DispatchTime.now().uptimeNanoseconds
        let plan = try QueryCompiler.compile(engineBenchQuery, catalog: catalog)
        answer = try QueryEngine(datasets: tables).run(plan, bounds: bounds, key: key)
        let end = DispatchTime.now().uptimeNanoseconds
        cpuTimes.append(processCPUSeconds() - cpuStart)
        loadTimes.append(Double(loaded - start) / 1e9)
        queryTimes.append(Double(end - loaded) / 1e9)
        totalTimes.append(Double(end - start) / 1e9)
    }
    print("engine.total_seconds\t\(String(format: "%.3f", median(totalTimes)))\ts")
    print("engine.load_seconds\t\(String(format: "%.3f", median(loadTimes)))\ts")
    print("engine.query_seconds\t\(String(format: "%.3f", median(queryTimes)))\ts")
    print("engine.cpu_seconds\t\(String(format: "%.3f", median(cpuTimes)))\ts")
    print("engine.input_rss_mb\t\(String(format: "%.1f", inputMegabytes))\tMiB")
    print("engine.peak_rss_mb\t\(String(format: "%.1f", try peakResidentMegabytes()))\tMiB")
    if let path = environment["PARLEY_BENCH_ANSWERS"], let answer {
        try answerCSV(answer).write(toFile: path, atomically: true, encoding: .utf8)
    }
}

/// A failure of the engine benchmark's harness.
struct EngineBenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The whole file, read straight into one array (no intermediate `Data`, so no second copy
/// inflates the peak).
private func readBytes(_ path: String) throws -> [UInt8] {
    let descriptor = open(path, O_RDONLY)
    guard descriptor >= 0 else { throw EngineBenchError("cannot open \(path); generate it with Scripts/bench-engine-data.py") }
    defer { close(descriptor) }
    var info = stat()
    guard fstat(descriptor, &info) == 0 else { throw EngineBenchError("cannot stat \(path)") }
    let size = Int(info.st_size)
    var failed = false
    let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
        guard let base = buffer.baseAddress else { return }
        while count < size {
            let got = read(descriptor, base + count, size - count)
            if got <= 0 { failed = true; break }
            count += got
        }
    }
    guard !failed else { throw EngineBenchError("cannot read \(path)") }
    return bytes
}

private func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

/// CPU time (user and system, all threads) this process has used: unlike wall-clock time,
/// barely moved by other work on a shared machine.
private func processCPUSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

/// VmHWM (the peak resident set size) of this process, in MiB.
private func peakResidentMegabytes() throws -> Double {
    let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        if let kilobytes = Double(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") {
            return kilobytes / 1024
        }
    }
    throw EngineBenchError("no VmHWM in /proc/self/status")
}

/// `campaign,buyers,revenue` per group, revenue with two decimals (the data has cents).
private func answerCSV(_ answer: GroupedAggregates) -> String {
    var lines: [String] = []
    for group in answer.groups {
        guard case .text(let campaign)? = group.key.first,
              case .count(let buyers)? = group.totals.first,
              case .sum(let revenue)? = group.totals.last else { continue }
        let cents = revenue / (DecimalValue.unit / 100)
        lines.append("\(campaign),\(buyers),\(cents / 100).\(String(format: "%02lld", cents % 100))")
    }
    return lines.joined(separator: "\n") + "\n"
}
