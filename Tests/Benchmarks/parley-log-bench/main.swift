// Measures the durable log against a raw write+fsync loop of the same record sizes, so that the
// ratio says what the log's own work costs. Prints results; asserts nothing.
//
// Usage: parley-log-bench [entries (default 100000)] [payload bytes (default 256)]
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import ParleyLog

func seconds(_ work: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try work()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

func format(_ value: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", value) }

let arguments = CommandLine.arguments
let count = arguments.count > 1 ? Int(arguments[1]) ?? 100_000 : 100_000
let payloadSize = arguments.count > 2 ? Int(arguments[2]) ?? 256 : 256
let recordSize = payloadSize + 12 + 32
let base = FileManager.default.temporaryDirectory.appendingPathComponent("parley-log-bench-\(getpid())").path
try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: base) }
let payloads = (0..<count).map { i in (0..<payloadSize).map { UInt8(truncatingIfNeeded: i &+ $0) } }
print("parley-log-bench: \(count) entries of \(payloadSize) bytes (\(recordSize)-byte records)")

// Baseline: the same bytes per entry, written and fsynced one at a time, nothing else.
let rawPath = base + "/raw"
let fd = open(rawPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
let rawRecord = [UInt8](repeating: 7, count: recordSize)
let rawTime = seconds {
    for _ in 0..<count {
        _ = rawRecord.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        _ = fsync(fd)
    }
}
close(fd)

let signer = try NoteSignerKey.generate(name: "bench.parley.example/log")
let logDirectory = base + "/log"
var appendTime = 0.0
do {
    let log = try DurableLog(directory: logDirectory)
    appendTime = try seconds { for payload in payloads { try log.append(payload) } }
    _ = try log.publishCheckpoint(origin: signer.name, signer: signer)
}

let batchDirectory = base + "/batched"
let batch = 100
var batchTime = 0.0
do {
    let log = try DurableLog(directory: batchDirectory)
    batchTime = try seconds {
        var start = 0
        while start < count {
            try log.append(contentsOf: Array(payloads[start..<min(start + batch, count)]))
            start += batch
        }
    }
}

var reopened: DurableLog?
let reopenTime = try seconds { reopened = try DurableLog(directory: logDirectory) }
let auditor = LogAuditor(verifier: CheckpointVerifier(verifierKey: signer.verifierKey, origin: signer.name))
var report: AuditReport?
let replayTime = try seconds { report = try auditor.replay(directory: logDirectory) }
var proofTime = 0.0
if let tree = reopened?.merkleTree, tree.size > 0 {
    proofTime = try seconds {
        for i in 0..<1000 {
            let index = UInt64(i * 7919) % tree.size
            _ = try tree.inclusionProof(leafIndex: index, treeSize: tree.size)
            _ = try tree.consistencyProof(oldSize: index + 1, newSize: tree.size)
        }
    } / 1000
}

let rawRate = Double(count) / rawTime
let appendRate = Double(count) / appendTime
let batchRate = Double(count) / batchTime
print("raw write+fsync baseline : \(format(rawRate, 0)) entries/s (\(format(rawTime, 2)) s)")
print("DurableLog.append (fsync) : \(format(appendRate, 0)) entries/s (\(format(appendTime, 2)) s), \(format(appendRate / rawRate, 2))x baseline")
print("append batches of \(batch)    : \(format(batchRate, 0)) entries/s (\(format(batchTime, 2)) s), \(format(batchRate / rawRate, 2))x baseline")
print("reopen (scan + tree)      : \(format(reopenTime * 1000)) ms for \(reopened?.size ?? 0) entries")
print("LogAuditor.replay         : \(format(replayTime * 1000)) ms, verdict \(report.map { "\($0.verdict)" } ?? "none")")
print("inclusion+consistency proof: \(format(proofTime * 1e6)) us per pair at size \(reopened?.size ?? 0)")
