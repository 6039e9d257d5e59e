import Foundation
import ParleyAttestation
import ParleyCore
import ParleyModule
import ParleyParty
import ParleyTestSupport
import ParleyWorker
import XCTest

/// The worker runtime, driven as the host drives it but through a socketpair in this process:
/// no `parley-enclave` is spawned and nothing is locked down.
final class WorkerRuntimeTests: XCTestCase {
    var dir = ""
    var brand = PartyPrivateKey(), retailer = PartyPrivateKey(), author = PartyPrivateKey()
    var bundle: [UInt8] = []
    var host: FramedChannel!
    private var exit: DispatchGroup!
    private let status = LockedStatus()

    final class LockedStatus: @unchecked Sendable {
        private let lock = NSLock()
        private var value: Int32?
        func set(_ v: Int32) { lock.lock(); value = v; lock.unlock() }
        var get: Int32? { lock.lock(); defer { lock.unlock() }; return value }
    }

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("parley-worker-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { [dir] in try? FileManager.default.removeItem(atPath: dir) }
        bundle = try CampaignLiftModule.seal(in: dir, brand: brand, retailer: retailer, author: author)
        var exposures = "email_hash,campaign,region\n"
        for i in 0..<40 { exposures += "\(String(format: "%064x", i * 7919)),\(["spring", "fall"][i % 2]),\(i % 3)\n" }
        FileManager.default.createFile(atPath: dir + "/exposures.csv", contents: Data(exposures.utf8))

        var fds: [Int32] = [0, 0]
        XCTAssertEqual(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds), 0)
        host = FramedChannel(fd: fds[0])
        let runtime = try WorkerRuntime(channel: FramedChannel(fd: fds[1]), debug: false, sandbox: ["test": .text("in-process")],
                                        releaseQuantum: .milliseconds(1))
        exit = DispatchGroup()
        exit.enter()
        let (group, status) = (exit!, status)
        let box = UncheckedBox(value: runtime)
        Thread.detachNewThread {
            status.set(box.value.run())
            group.leave()
        }
        addTeardownBlock { [host] in host?.close() }
    }

    struct UncheckedBox<T>: @unchecked Sendable { let value: T }

    func exchange(_ m: WorkerMessage) throws -> WorkerMessage {
        try host.send(m.encoded)
        return try WorkerMessage(decoding: try XCTUnwrap(try host.receive(), "the worker closed the channel"))
    }

    func start() throws -> WorkerMessage {
        try exchange(WorkerMessage(.start, ["job": .text("job-wt1"), "module": .bytes(bundle), "debug": .bool(false), "ledger": .null]))
    }

    func exitStatus() -> Int32? {
        _ = exit.wait(timeout: .now() + 10)
        return status.get
    }

    func claims(_ ready: WorkerMessage) throws -> LaunchClaims {
        let module = try SealedModule(bytes: bundle)
        return LaunchClaims(job: "job-wt1", runtime: MeasurementDigest.of([0]), module: module.measurement, moduleSigner: module.signer,
                            debug: false, publicKey: try ready["public_key"].bytesValue("public_key"),
                            signingKey: try ready["signing_key"].bytesValue("signing_key"))
    }

    func upload(_ dataset: String, key: PartyPrivateKey, worker: LaunchClaims) throws -> WorkerMessage {
        let sealed = try PartyClient.SealedUpload(path: dir + "/exposures.csv", job: "job-wt1", dataset: dataset, worker: worker, key: key, chunkSize: 512)
        try host.send(WorkerMessage(.uploadBegin, ["dataset": .text(dataset), "signature": .bytes(sealed.signature)]).encoded)
        while let piece = try sealed.next() {
            try host.send(WorkerMessage(.uploadData, ["dataset": .text(dataset), "bytes": .bytes(piece)]).encoded)
        }
        return try exchange(WorkerMessage(.uploadEnd, ["dataset": .text(dataset)]))
    }

    func testStartAnswersReadyWithFreshKeysAndTheSandboxReport() throws {
        let ready = try start()
        XCTAssertEqual(ready.kind, .ready)
        XCTAssertEqual(try ready["public_key"].bytesValue("public_key").count, 32, "an X25519 public key")
        XCTAssertFalse(try ready["debug"].boolValue("debug"))
        XCTAssertEqual(ready["ledger"], .null, "no handoff, no ledger claim")
        XCTAssertEqual(ready["sandbox"], .textMap(["test": .text("in-process")]))
        XCTAssertEqual(try exchange(WorkerMessage(.heartbeat, ["seq": .unsigned(7)])), WorkerMessage(.heartbeatAck, ["seq": .unsigned(7)]))
        try host.send(WorkerMessage(.stop).encoded)
        XCTAssertEqual(exitStatus(), 0)
    }

    func testASecondStartIsAProtocolErrorAndTheWorkerExits() throws {
        _ = try start()
        let again = try start()
        XCTAssertEqual(again.kind, .failure)
        XCTAssertTrue(try again["reason"].textValue("reason").contains("start was sent twice"))
        XCTAssertEqual(exitStatus(), 70)
    }

    func testAMessageOnlyAWorkerSendsIsRefused() throws {
        _ = try start()
        let reply = try exchange(WorkerMessage(.closed, ["entry": .bytes([0xa0])]))
        XCTAssertEqual(reply.kind, .failure)
        XCTAssertTrue(try reply["reason"].textValue("reason").contains("only a worker sends"))
        XCTAssertEqual(exitStatus(), 70)
    }

    func testUploadsAreRefusedByCodeUnlessTheDeclaredProviderSignedThem() throws {
        let worker = try claims(try start())
        let undeclared = try upload("salaries", key: brand, worker: worker)
        XCTAssertEqual(undeclared.kind, .uploadRefused)
        XCTAssertEqual(undeclared["code"], .text(RefusalCode.undeclaredDataset.rawValue))
        let wrongParty = try upload("exposures", key: retailer, worker: worker)
        XCTAssertEqual(wrongParty.kind, .uploadRefused)
        XCTAssertEqual(wrongParty["code"], .text(RefusalCode.notProvider.rawValue))
        let accepted = try upload("exposures", key: brand, worker: worker)
        XCTAssertEqual(accepted.kind, .uploadAccepted)
        XCTAssertEqual(accepted["rows"], .unsigned(40))
        let replay = try upload("exposures", key: brand, worker: worker)
        XCTAssertEqual(replay.kind, .uploadRefused, "an accepted dataset cannot be replaced or replayed")
        XCTAssertEqual(replay["code"], .text(RefusalCode.alreadyUploaded.rawValue))
    }

    func testAfterCloseEveryQueryIsRefusedWithASignedEntry() throws {
        _ = try start()
        let closed = try exchange(WorkerMessage(.close))
        XCTAssertEqual(closed.kind, .closed)
        XCTAssertFalse(try closed["entry"].bytesValue("entry").isEmpty)
        let refused = try exchange(WorkerMessage(.query, ["query": .text("lift_by_campaign"), "receiver": .text("brand"),
                                                          "nonce": .bytes([UInt8](repeating: 9, count: 32)), "signature": .bytes([])]))
        XCTAssertEqual(refused.kind, .queryRefused)
        XCTAssertEqual(refused["code"], .text(RefusalCode.jobClosed.rawValue))
        XCTAssertFalse(try refused["entry"].bytesValue("entry").isEmpty, "the refusal is signed for the log")
    }
}
