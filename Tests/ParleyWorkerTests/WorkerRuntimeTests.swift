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
        let runtime = try WorkerRuntime(channel: FramedChannel(fd: fds[1]), debug: false, sandbox: ["test": "in-process"],
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
        try exchange(.start(.init(job: "job-wt1", module: bundle, debug: false, ledger: nil)))
    }

    func exitStatus() -> Int32? {
        _ = exit.wait(timeout: .now() + 10)
        return status.get
    }

    func claims(_ reply: WorkerMessage) throws -> LaunchClaims {
        guard case .ready(let ready) = reply else { throw ParleyError(.malformed, "expected ready, got \(reply.kind.rawValue)") }
        let module = try SealedModule(bytes: bundle)
        return LaunchClaims(job: "job-wt1", runtime: MeasurementDigest.of([0]), module: module.measurement, moduleSigner: module.signer,
                            debug: false, publicKey: ready.publicKey, signingKey: ready.signingKey)
    }

    /// The refusal code of an `upload_refused` or `query_refused` reply (nil for any other).
    func code(_ reply: WorkerMessage) -> RefusalCode? {
        switch reply {
        case .uploadRefused(let r): return r.code
        case .queryRefused(let r): return r.code
        default: return nil
        }
    }

    /// The reason of a `failure` reply ("" for any other).
    func failure(_ reply: WorkerMessage) -> String {
        if case .failure(let why) = reply { return why }
        return ""
    }

    func upload(_ dataset: String, key: PartyPrivateKey, worker: LaunchClaims) throws -> WorkerMessage {
        let sealed = try PartyClient.SealedUpload(path: dir + "/exposures.csv", job: "job-wt1", dataset: dataset, worker: worker, key: key, chunkSize: 512)
        try host.send(WorkerMessage.uploadBegin(dataset: dataset, signature: sealed.signature).encoded)
        while let piece = try sealed.next() {
            try host.send(WorkerMessage.uploadData(dataset: dataset, bytes: piece).encoded)
        }
        return try exchange(.uploadEnd(dataset: dataset))
    }

    func testStartAnswersReadyWithFreshKeysAndTheSandboxReport() throws {
        guard case .ready(let ready) = try start() else { return XCTFail("start must be answered with ready") }
        XCTAssertEqual(ready.publicKey.count, 32, "an X25519 public key")
        XCTAssertFalse(ready.debug)
        XCTAssertNil(ready.ledger, "no handoff, no ledger claim")
        XCTAssertEqual(ready.sandbox, ["test": "in-process"])
        XCTAssertEqual(try exchange(.heartbeat(seq: 7)), .heartbeatAck(seq: 7))
        try host.send(WorkerMessage.stop.encoded)
        XCTAssertEqual(exitStatus(), 0)
    }

    func testASecondStartIsAProtocolErrorAndTheWorkerExits() throws {
        _ = try start()
        let again = try start()
        XCTAssertEqual(again.kind, .failure)
        XCTAssertTrue(failure(again).contains("start was sent twice"), failure(again))
        XCTAssertEqual(exitStatus(), 70)
    }

    func testAMessageOnlyAWorkerSendsIsRefused() throws {
        _ = try start()
        let reply = try exchange(.closed(entry: [0xa0]))
        XCTAssertEqual(reply.kind, .failure)
        XCTAssertTrue(failure(reply).contains("only a worker sends"), failure(reply))
        XCTAssertEqual(exitStatus(), 70)
    }

    func testUploadsAreRefusedByCodeUnlessTheDeclaredProviderSignedThem() throws {
        let worker = try claims(try start())
        let undeclared = try upload("salaries", key: brand, worker: worker)
        XCTAssertEqual(undeclared.kind, .uploadRefused)
        XCTAssertEqual(code(undeclared), .undeclaredDataset)
        let wrongParty = try upload("exposures", key: retailer, worker: worker)
        XCTAssertEqual(wrongParty.kind, .uploadRefused)
        XCTAssertEqual(code(wrongParty), .notProvider)
        let accepted = try upload("exposures", key: brand, worker: worker)
        guard case .uploadAccepted(let receipt) = accepted else { return XCTFail("the provider's upload must be accepted") }
        XCTAssertEqual(receipt.rows, 40)
        let replay = try upload("exposures", key: brand, worker: worker)
        XCTAssertEqual(replay.kind, .uploadRefused, "an accepted dataset cannot be replaced or replayed")
        XCTAssertEqual(code(replay), .alreadyUploaded)
    }

    func testAfterCloseEveryQueryIsRefusedWithASignedEntry() throws {
        _ = try start()
        guard case .closed(let entry) = try exchange(.close) else { return XCTFail("close must be answered with closed") }
        XCTAssertFalse(entry.isEmpty)
        let refused = try exchange(.query(.init(query: "lift_by_campaign", receiver: "brand", nonce: [UInt8](repeating: 9, count: 32), signature: [])))
        guard case .queryRefused(let refusal) = refused else { return XCTFail("a query after close must be refused") }
        XCTAssertEqual(refusal.code, .jobClosed)
        XCTAssertFalse(refusal.entry.isEmpty, "the refusal is signed for the log")
    }

    /// Parameter values are part of what the receiver signs, and the worker checks them against
    /// the module itself (a host could skip its own check): values for a query that declares no
    /// parameters are refused with `invalid-parameters` and a signed entry, before any charge.
    func testParameterValuesTheModuleDoesNotDeclareAreRefusedByTheWorker() throws {
        let worker = try claims(try start())
        guard case .uploadAccepted = try upload("exposures", key: brand, worker: worker) else { return XCTFail("upload refused") }
        let query = try XCTUnwrap(try SealedModule(bytes: bundle).definition.queries.keys.sorted().first)
        let nonce = [UInt8](repeating: 5, count: 32)
        let parameters = ["since": "2024-01-01"]
        let signature = try DataPlane.sign(DataPlane.queryRequestMessage(job: "job-wt1", query: query, receiver: "brand", nonce: nonce,
                                                                         parameters: parameters), with: brand.signing)
        let refused = try exchange(.query(.init(query: query, receiver: "brand", nonce: nonce, signature: signature, parameters: parameters)))
        guard case .queryRefused(let refusal) = refused else { return XCTFail("expected a refusal, got \(refused.kind.rawValue)") }
        XCTAssertEqual(refusal.code, .invalidParameters)
        XCTAssertTrue(refusal.reason.contains("declares no parameter @since"), refusal.reason)
        guard case .verified(let entry) = WorkerEntry.verify(refusal.entry, signingKey: worker.signingKey),
              case .queryRefused(let logged) = entry.kind else { return XCTFail("the refusal entry does not verify") }
        XCTAssertNil(logged.charge, "nothing is charged for a refused request")
        // The same values under a signature that does not cover them: the signature check comes first.
        let unsigned = try DataPlane.sign(DataPlane.queryRequestMessage(job: "job-wt1", query: query, receiver: "brand",
                                                                        nonce: [UInt8](repeating: 6, count: 32)), with: brand.signing)
        let tampered = try exchange(.query(.init(query: query, receiver: "brand", nonce: [UInt8](repeating: 6, count: 32),
                                                 signature: unsigned, parameters: parameters)))
        XCTAssertEqual(code(tampered), .badSignature, "parameters added by the host break the receiver's signature")
    }
}
