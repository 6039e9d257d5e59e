import Foundation
import ParleyAudit
import ParleyCore
import ParleyHost
import ParleyParty
import XCTest

/// The streaming data plane end to end: uploads cut off at every phase, a 64 MiB upload with
/// the worker's and the client's memory bounded, receipts that say what the worker did.
final class StreamingUploadTests: HTTPTestCase {
    var port: Int { http.base.port ?? 0 }

    /// A process's `VmHWM` or `VmRSS` (bytes) from /proc.
    static func memory(_ field: String, pid: String = "self") -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return -1 }
        for line in status.split(separator: "\n") where line.hasPrefix(field + ":") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            if parts.count >= 2, let kib = Int(parts[1]) { return kib << 10 }
        }
        return -1
    }

    /// Cut after the header's length prefix, inside the header, at its end (the relay has
    /// begun), inside the first chunk, at a chunk boundary, before the final chunk and one byte
    /// short; by a body that ends early and by a connection that drops. Each is refused, the
    /// dataset stays missing and its slot free, the log holds one `upload-refused` per cut that
    /// reached the worker, and then the whole stream is accepted with every row.
    func testAnUploadCutOffAtEveryPhaseLeavesNothingBehind() async throws {
        let job = try await launch()
        let (http, brand, dir, policy, port) = (http!, brand, dir, try policy(), port)
        let worker = try await blocking { try await ClientOps.verifiedWorker(http, job: job, policy: policy) }
        let sealed = try PartyClient.SealedUpload(path: dir + "/exposures.csv", job: job, dataset: "exposures",
                                                  worker: worker.claims, key: brand, chunkSize: 4096)
        var pieces: [[UInt8]] = []
        while let piece = try sealed.next() { pieces.append(piece) }
        XCTAssertGreaterThan(pieces.count, 4)
        let stream = Array(pieces.joined())
        let headerEnd = pieces[0].count, firstChunkEnd = headerEnd + pieces[1].count
        let lastChunkStart = stream.count - pieces[pieces.count - 1].count
        let signature = Hex.encode(sealed.signature)
        var refusedByWorker = 0
        let refusals = LockedCounter()
        let forward = service.onEvent
        service.onEvent = { event in
            forward?(event)
            if case .uploadRefused(let j, "exposures", _) = event, j == job { refusals.increment() }
        }
        func assertNothingKept(_ what: String) async throws {
            let status = try await http.request("GET", "/v1/jobs/\(job)").json()
            XCTAssertEqual(status["state"] as? String, "collecting-datasets", what)
            XCTAssertEqual(((status["datasets"] as? [String: Any])?["exposures"] as? [String: Any])?["accepted"] as? Bool, false, what)
        }
        // A body that ends early: the host sees a clean end of a short stream.
        for cut in [2, headerEnd - 1, firstChunkEnd, lastChunkStart, stream.count - 1] {
            let reply = try await http.request("PUT", "/v1/jobs/\(job)/datasets/exposures", body: Array(stream[..<cut]),
                                               headers: ["Parley-Signature": signature])
            XCTAssertTrue([400, 422].contains(reply.status), "cut at \(cut): \(reply.status) \(reply.text)")
            if cut >= headerEnd { refusedByWorker += 1 }
            try await assertNothingKept("cut at \(cut)")
        }
        // A connection that drops mid-body (the request said the whole stream was coming).
        for cut in [headerEnd, headerEnd + 10, lastChunkStart] {
            let before = refusals.value
            try await blocking {
                let connection = try RawHTTPConnection(port: port)
                XCTAssertTrue(connection.send("PUT /v1/jobs/\(job)/datasets/exposures HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                              + "Content-Length: \(stream.count)\r\nParley-Signature: \(signature)\r\n\r\n"))
                XCTAssertTrue(connection.send(Array(stream[..<cut])))
                // Closed by deinit: the host's body stream ends inside the upload.
            }
            refusedByWorker += 1
            // The worker refuses asynchronously: wait for it before the next attempt.
            for _ in 0 ..< 200 where refusals.value == before { try await Task.sleep(nanoseconds: 50_000_000) }
            XCTAssertEqual(refusals.value, before + 1, "a dropped connection at \(cut) is refused by the worker")
            try await assertNothingKept("dropped at \(cut)")
        }
        XCTAssertEqual(refusals.value, refusedByWorker)
        let fresh = try HTTP(server: "http://127.0.0.1:\(port)")
        let whole = try await fresh.request("PUT", "/v1/jobs/\(job)/datasets/exposures", body: stream, headers: ["Parley-Signature": signature])
        XCTAssertEqual(whole.status, 200, whole.text)
        let receipt = try whole.decode(UploadReceiptBody.self, what: "receipt")
        XCTAssertEqual(receipt.rows, 3000, "nothing of the cut uploads was kept, and every row of the whole one was")
        XCTAssertEqual(receipt.plaintextBytes, UInt64(try FileIO.read(dir + "/exposures.csv", maxBytes: 1 << 30).count))
        XCTAssertNotNil(receipt.seconds)
    }

    /// The size hint is unsigned: whoever sets it (the uploader, or a host that rewrites it) can
    /// lie. An absurdly large hint reserves no more than the memory left (and memory reserved
    /// but never touched costs nothing) and one far too small only means the columns grow: both
    /// uploads are accepted with every row, and the worker is never killed by its limit.
    func testALyingSizeHintCannotBreakTheWorker() async throws {
        let job = try await launch()
        let (http, brand, retailer, dir, policy) = (http!, brand, retailer, dir, try policy())
        let worker = try await blocking { try await ClientOps.verifiedWorker(http, job: job, policy: policy) }
        for (dataset, key, hint, rows) in [("exposures", brand, "1000000000000000", 3000), ("purchases", retailer, "1", 1500)] {
            let sealed = try PartyClient.SealedUpload(path: dir + "/\(dataset).csv", job: job, dataset: dataset,
                                                      worker: worker.claims, key: key, chunkSize: 4096)
            var stream: [UInt8] = []
            while let piece = try sealed.next() { stream += piece }
            let reply = try await http.request("PUT", "/v1/jobs/\(job)/datasets/\(dataset)", body: stream,
                                               headers: ["Parley-Signature": Hex.encode(sealed.signature), "Parley-Upload-Size": hint])
            XCTAssertEqual(reply.status, 200, "\(dataset) with hint \(hint): \(reply.text)")
            XCTAssertEqual(try reply.decode(UploadReceiptBody.self, what: "receipt").rows, UInt64(rows))
        }
        let state = try await http.request("GET", "/v1/jobs/\(job)").json()["state"] as? String
        XCTAssertEqual(state, "ready", "the worker took both and lives on")
    }

    /// 64 MiB of CSV through the real client, host and worker: the worker's peak memory grows by
    /// its columns and a few pieces, far less than the upload (it used to hold all of it), and so
    /// does this process's (the client and the host's relay).
    func testA64MiBUploadKeepsTheWorkersAndTheClientsMemoryBounded() async throws {
        // 64-hex ids from 20,000 people, so the table is small beside the CSV.
        var csv = Array("email_hash,campaign,region\n".utf8)
        csv.reserveCapacity(64 << 20 + 200)
        let ids = (0 ..< 20_000).map { Array(String(format: "%064x", $0 &* 2_654_435_761).utf8) }
        let campaigns = ["spring", "summer", "fall"].map { Array($0.utf8) }
        var row = 0
        while csv.count < 64 << 20 {
            csv += ids[row % ids.count]
            csv.append(UInt8(ascii: ","))
            csv += campaigns[row % 3]
            csv += Array(",\(row % 4)\n".utf8)
            row += 1
        }
        let path = dir + "/big-exposures.csv"
        FileManager.default.createFile(atPath: path, contents: Data(csv))
        let size = csv.count
        csv = []
        let job = try await launch()
        let (http, brand, policy) = (http!, brand, try policy())
        let worker = try await blocking { try await ClientOps.verifiedWorker(http, job: job, policy: policy) }
        let pid = String(try await service.job(job).session.pid)
        let workerBefore = Self.memory("VmHWM", pid: pid), selfBefore = Self.memory("VmRSS")
        XCTAssertGreaterThan(workerBefore, 0, "the worker's /proc status is readable")
        // This process's resident memory, sampled while the upload runs.
        let sampler = MemorySampler()
        sampler.start()
        let receipt = try await blocking {
            try await ClientOps.upload(http, job: job, dataset: "exposures", file: path, key: brand, worker: worker, progress: false).receipt
        }
        let selfPeak = sampler.stop()
        let workerGrowth = Self.memory("VmHWM", pid: pid) - workerBefore
        print("64 MiB upload: worker peak +\(workerGrowth >> 20) MiB, client and host peak +\((selfPeak - selfBefore) >> 20) MiB")
        XCTAssertEqual(receipt.rows, UInt64(row))
        XCTAssertEqual(receipt.plaintextBytes, UInt64(size))
        // The table: 4 + 4 + 8 bytes a row (about 14 MiB); two 4 MiB pieces; 1 MiB frames.
        XCTAssertLessThan(workerGrowth, 40 << 20, "the worker's peak grew by \(workerGrowth >> 20) MiB for a \(size >> 20) MiB upload")
        XCTAssertLessThan(selfPeak - selfBefore, 32 << 20, "the client and host grew by \((selfPeak - selfBefore) >> 20) MiB")
    }
}

/// A counter several tasks bump.
final class LockedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}

/// Samples this process's VmRSS every 20 ms on its own thread; ``stop()`` returns the peak.
final class MemorySampler: @unchecked Sendable {
    private let lock = NSLock()
    private var peak = 0
    private var running = true
    private let done = DispatchSemaphore(value: 0)

    func start() {
        Thread.detachNewThread { [self] in
            while lock.withLock({ running }) {
                let now = StreamingUploadTests.memory("VmRSS")
                lock.withLock { peak = max(peak, now) }
                usleep(20_000)
            }
            done.signal()
        }
    }

    func stop() -> Int {
        lock.withLock { running = false }
        done.wait()
        return lock.withLock { peak }
    }
}

/// A worker with little memory: an upload that cannot fit is refused, saying how much it
/// needs, before any allocation fails; the worker lives on and takes a dataset that fits.
final class WorkerMemoryLimitTests: HTTPTestCase {
    static let workerMiB = 400
    override var extraWorkerEnvironment: [String: String] { ["PARLEY_ENCLAVE_MEMORY_MIB": String(Self.workerMiB)] }

    func testADatasetOverTheWorkersMemoryIsRefusedWithWhatItNeeds() async throws {
        // 1.2 million distinct people: about 160 MiB of columns, over what a 400 MiB worker gives datasets.
        var csv = Array("email_hash,campaign,region\n".utf8)
        for i in 0 ..< 1_200_000 {
            csv += Array(String(format: "%064x", UInt64(i) &* 0x9E37_79B9_7F4A_7C15).utf8)
            csv += Array(",spring,\(i % 4)\n".utf8)
        }
        let path = dir + "/huge.csv"
        FileManager.default.createFile(atPath: path, contents: Data(csv))
        csv = []
        let job = try await launch()
        let (http, brand, dir, policy) = (http!, brand, dir, try policy())
        let worker = try await blocking { try await ClientOps.verifiedWorker(http, job: job, policy: policy) }
        let refusal = try await blocking { () -> String in
            do {
                _ = try await ClientOps.upload(http, job: job, dataset: "exposures", file: path, key: brand, worker: worker, progress: false)
                return ""
            } catch let e as ParleyError { return e.reason }
        }
        XCTAssertTrue(refusal.contains("422"), refusal)
        XCTAssertTrue(refusal.contains("needs about") || refusal.contains("needs more than"), refusal)
        XCTAssertTrue(refusal.contains("MiB") && refusal.contains("--worker-memory (now \(Self.workerMiB) MiB"), refusal)
        // The public log holds the code only.
        let records = try server.log.entries(from: 0, count: Int(server.log.size)).map { try LogRecord(bytes: $0) }
        let codes = records.compactMap { record -> String? in
            if case .uploadRefused(_, let code) = record.body { return code }
            return nil
        }
        XCTAssertEqual(codes, [RefusalCode.tooLarge.rawValue])
        // The worker is alive, kept nothing, and takes a dataset that fits.
        let small = try await blocking {
            try await ClientOps.upload(http, job: job, dataset: "exposures", file: dir + "/exposures.csv", key: brand, worker: worker, progress: false).receipt
        }
        XCTAssertEqual(small.rows, 3000)
    }
}
