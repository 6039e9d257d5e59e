import Foundation
import ParleyAttestation
import ParleyCore
import ParleyModule
import ParleyParty
import XCTest

/// Load on loopback: 50 concurrent uploads of 10 MB complete with the host's memory bounded
/// (streaming, not buffering), and a slow or idle client does not block anyone else.
final class HTTPLoadTests: HTTPTestCase {
    /// 50 workers and 50 sealing clients on two shared cores can starve a worker's heartbeat for
    /// 15 s; this test is about memory and blocking, not supervision.
    override var heartbeatTimeout: TimeInterval { 120 }

    static func peakRSSMiB() -> Int {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") } ?? ""
        return (Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) / 1024
    }

    /// A CSV of about `megabytes` MB for the exposures dataset.
    func writeBig(_ path: String, megabytes: Int) {
        let row = Array("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef,spring,1\n".utf8)
        var out = Array("email_hash,campaign,region\n".utf8)
        let rows = megabytes * 1_000_000 / row.count
        out.reserveCapacity(rows * row.count + 32)
        for _ in 0..<rows { out += row }
        FileManager.default.createFile(atPath: path, contents: Data(out))
    }

    func testFiftyConcurrentUploadsOfTenMegabytes() async throws {
        let uploads = 50, jobs = 25
        writeBig(dir + "/big.csv", megabytes: 10)
        var ids: [String] = []
        for _ in 0..<jobs { ids.append(try await launch()) }
        let (http, brand, dir, policy) = (http!, brand, dir, try policy())
        // Every upload is a 10 MB exposures file, so the 50 uploads go to 50 jobs.
        for _ in 0..<(uploads - jobs) { ids.append(try await launch()) }
        let before = Self.peakRSSMiB()
        let results = try await withThrowingTaskGroup(of: Int.self) { group in
            for id in ids.prefix(uploads) {
                group.addTask {
                    let w = try await ClientOps.verifiedWorker(http, job: id, policy: policy)
                    let r = try await ClientOps.upload(http, job: id, dataset: "exposures", file: dir + "/big.csv", key: brand, worker: w, progress: false)
                    return Int(r.receipt.rows)
                }
            }
            var all: [Int] = []
            for try await rows in group { all.append(rows) }
            return all
        }
        XCTAssertEqual(results.count, uploads)
        XCTAssertTrue(results.allSatisfy { $0 == results[0] && $0 > 100_000 }, "every upload accepted whole: \(results.prefix(3))")
        let growth = Self.peakRSSMiB() - before
        print("HTTPLoadTests: peak RSS grew by \(growth) MiB over \(uploads) concurrent uploads of 10 MB (client and host in one process)")
        // 500 MB went through this process (sealed by 50 clients, relayed by the host); a host
        // that buffered uploads would have grown by at least that much. What remains is per
        // request: the clients' and the relay's buffers, a few MiB each.
        XCTAssertLessThan(growth, 350, "peak RSS grew by \(growth) MiB while 500 MB were uploaded")
    }

    func testASlowClientDoesNotBlockOthers() async throws {
        let job = try await launch()
        let port = http.base.port ?? 0
        // A client that starts an upload and then goes quiet.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        XCTAssertEqual(connected, 0)
        defer { close(fd) }
        let head = "PUT /v1/jobs/\(job)/datasets/exposures HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10000000\r\nParley-Signature: \(String(repeating: "00", count: 64))\r\n\r\n\u{0}\u{0}"
        _ = head.withCString { send(fd, $0, strlen($0), 0) }
        // Meanwhile a whole upload and query by others goes through (a module with its own budget
        // ledger: a second job of the same ledger would start with nothing left while `job` is open).
        var separate = module.definition
        separate.ledger = "load-test-other"
        let sealed = try SealedModule.seal(separate, key: author)
        let (http0, token0) = (http!, token)
        let other = try await blocking { try await ClientOps.launch(http0, token: token0, bundle: sealed.bytes).job }
        let (http, brand, retailer, dir, policy) = (http!, brand, retailer, dir, try policy(module: sealed.measurement))
        let start = Date()
        let doc = try await blocking { () -> ResultDocument in
            let w = try await ClientOps.verifiedWorker(http, job: other, policy: policy)
            _ = try await ClientOps.upload(http, job: other, dataset: "exposures", file: dir + "/exposures.csv", key: brand, worker: w, progress: false)
            _ = try await ClientOps.upload(http, job: other, dataset: "purchases", file: dir + "/purchases.csv", key: retailer, worker: w, progress: false)
            return try await ClientOps.runQuery(http, job: other, query: "reach", receiver: "brand", key: brand, worker: w)
        }
        XCTAssertEqual(doc.query, "reach")
        XCTAssertLessThan(Date().timeIntervalSince(start), 60, "the idle client must not hold the others up")
    }
}
