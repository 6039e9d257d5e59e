import Foundation
import ParleyAttestation
import ParleyAudit
import ParleyCore
import ParleyLog
import ParleyParty
import XCTest

/// Clients remember the newest log checkpoint they verified (issue #14, item 1 and 4): a host that
/// restores an older data directory, or drops a job and re-signs every checkpoint, is refused by a
/// party that saw more, and fails an audit given that party's checkpoint.
final class CheckpointMemoryTests: HTTPTestCase {
    var stateDir: String { dir + "/brand-state" }

    func follower() async throws -> LogFollower {
        let key = try NoteVerifierKey(parsing: try FileIO.readText(dir + "/host/log-key.pub").trimmingCharacters(in: .whitespacesAndNewlines))
        return try await LogFollower(http: http, state: ClientState(directory: stateDir), pinnedKey: key)
    }

    /// Launches a job and uploads brand's dataset through the remembering client. - Returns: the job and the log's size then.
    func launchAndUpload() async throws -> (job: String, size: UInt64, uploadIndex: UInt64) {
        let job = try await launch()
        let (http, brand, dir, policy, log) = (http!, brand, dir, try policy(), try await follower())
        return try await blocking {
            let w = try await ClientOps.verifiedWorker(http, job: job, policy: policy, log: log)
            let answer = try await ClientOps.upload(http, job: job, dataset: "exposures", file: dir + "/exposures.csv", key: brand, worker: w,
                                              progress: false, log: log)
            return (job, try XCTUnwrap(try log.remembered()).checkpoint.size, try XCTUnwrap(answer.logIndex))
        }
    }

    func testUploadAndQueryReceiptsAreProvedIntoACheckpointAndKept() async throws {
        let (job, size, uploadIndex) = try await launchAndUpload()
        let (http, brand, retailer, dir, policy, log) = (http!, brand, retailer, dir, try policy(), try await follower())
        try await blocking {
            let w = try await ClientOps.verifiedWorker(http, job: job, policy: policy, log: log)
            _ = try await ClientOps.upload(http, job: job, dataset: "purchases", file: dir + "/purchases.csv", key: retailer, worker: w, progress: false, log: log)
            _ = try await ClientOps.runQuery(http, job: job, query: "conversions", receiver: "brand", key: brand, worker: w, log: log)
        }
        let receipts = try FileManager.default.contentsOfDirectory(atPath: log.directory + "/receipts").sorted()
        XCTAssertEqual(receipts.count, 4, "the launch, two uploads and one release: \(receipts)")
        XCTAssertTrue(receipts.contains("\(job)-\(uploadIndex).cbor"))
        // Each receipt's proof leads its entry to its checkpoint's root, independently re-checked here.
        for name in receipts {
            let m = try CBORDecoder().decode(try FileIO.read(log.directory + "/receipts/" + name)).textKeyedMap("receipt")
            guard case .verified(let c) = log.verifier.verify(try m.required("checkpoint", in: "r").bytesValue("c")) else { return XCTFail("checkpoint") }
            let index = try m.required("index", in: "r").unsignedValue("i")
            let proof = try InclusionProof(leafIndex: index, treeSize: c.checkpoint.size,
                                           rawPath: try m.required("proof", in: "r").arrayValue("p").map { try $0.bytesValue("h") })
            XCTAssertEqual(proof.verify(leafHash: MerkleHashing.leafHash(try m.required("entry", in: "r").bytesValue("e")), rootHash: c.checkpoint.rootHash), .valid)
        }
        XCTAssertGreaterThan(try XCTUnwrap(try log.remembered()).checkpoint.size, size)
    }

    func testRestoringAnOlderDataDirectoryIsRefusedByAPartyThatSawMore() async throws {
        _ = try await launch()
        await stopHost()
        try FileManager.default.copyItem(atPath: dir + "/host", toPath: dir + "/host-old")
        try await startHost()
        let (_, seen, _) = try await launchAndUpload()
        await stopHost()
        try FileManager.default.removeItem(atPath: dir + "/host")
        try FileManager.default.moveItem(atPath: dir + "/host-old", toPath: dir + "/host")
        try await startHost()
        let log = try await follower()
        let refusal = try await blocking { () -> LogRefusal? in
            do { try await log.follow(); return nil } catch let e as LogRefusal { return e }
        }
        guard case .rolledBack(let current, let remembered, _) = refusal else { return XCTFail("not refused as a rollback: \(String(describing: refusal))") }
        XCTAssertEqual(remembered, seen)
        XCTAssertLessThan(current, seen)
        let text = refusal?.description ?? ""
        XCTAssertTrue(text.contains("has \(current) entries") && text.contains("checkpoint of \(seen) entries") && text.contains("on 20"), text)
        // The memory was not overwritten by the smaller log.
        XCTAssertEqual(try log.remembered()?.checkpoint.size, seen)
        // And the refusal stops the party before anything is sent.
        let job = try await launch()
        let (http, brand, dir, policy) = (http!, brand, dir, try policy())
        let sent = try await blocking { () -> Bool in
            do {
                let w = try await ClientOps.verifiedWorker(http, job: job, policy: policy, log: log)
                _ = try await ClientOps.upload(http, job: job, dataset: "exposures", file: dir + "/exposures.csv", key: brand, worker: w, progress: false, log: log)
                return true
            } catch is LogRefusal { return false }
        }
        XCTAssertFalse(sent)
        let awaited1 = try await http.request("GET", "/v1/jobs/\(job)").json()["state"] as? String
        XCTAssertEqual(awaited1, "collecting-datasets")
    }

    func testDroppingAJobAndReSigningIsCaughtByThePartyAndByTheAuditWithItsCheckpoint() async throws {
        _ = try await launch() // another job, kept (launched first, so its worker's ledger checkpoint does not cover the dropped one)
        let (job, _, _) = try await launchAndUpload()
        await stopHost()
        // The operator, host stopped: drop every entry of `job`, rebuild the log and re-sign every
        // checkpoint with the host's own log key.
        let data = dir + "/host"
        let signer = try NoteSignerKey(parsing: try FileIO.readText(data + "/log-key").trimmingCharacters(in: .whitespacesAndNewlines))
        let old = try DurableLog(directory: data + "/log")
        let kept = try (0..<old.size).map { try old.entry(at: $0).bytes }.filter { (try? LogRecord(bytes: $0))?.job != job }
        XCTAssertLessThan(kept.count, Int(old.size))
        try FileManager.default.removeItem(atPath: data + "/log")
        do {
            let forged = try DurableLog(directory: data + "/log")
            _ = try forged.publishCheckpoint(origin: signer.name, signer: signer)
            for entry in kept {
                _ = try forged.append(entry)
                _ = try forged.publishCheckpoint(origin: signer.name, signer: signer)
            }
        }
        // Without anyone's memory, the forged log replays clean: this is the attack.
        let bundleDir = dir + "/bundle"
        _ = try AuditBundle.export(dataDirectory: data, to: bundleDir)
        let pinned = AuditPolicy(logKey: signer.verifierKey, anchors: TrustAnchors(quotingRoot: try Certificate(pem: try FileIO.readText(data + "/quoting-root.pem"))))
        XCTAssertEqual(AuditReplay(bundle: try AuditBundle.open(bundleDir), policy: pinned).run().verdict, .passed)
        // With the party's remembered checkpoint, the audit fails and says why.
        var holding = pinned
        let checkpointFile = try await follower().directory + "/checkpoint"
        holding.knownCheckpoints = [(source: checkpointFile, note: try FileIO.read(checkpointFile))]
        let report = AuditReplay(bundle: try AuditBundle.open(bundleDir), policy: holding).run()
        guard case .failed(let first) = report.verdict, case .knownCheckpointNotExtended(let source, _, _, _) = first.reason else {
            return XCTFail("the audit did not hold the log to the known checkpoint: \(report.verdict)")
        }
        XCTAssertEqual(source, checkpointFile)
        XCTAssertEqual(first.reason.code, "knownCheckpointNotExtended")
        // And the party itself refuses the rewritten log when the host comes back.
        try await startHost()
        let log = try await follower()
        let refusal = try await blocking { () -> LogRefusal? in
            do { try await log.follow(); return nil } catch let e as LogRefusal { return e }
        }
        XCTAssertNotNil(refusal, "the party accepted a rewritten log")
        XCTAssertTrue(["logRolledBack", "logForked", "logNotAnExtension"].contains(refusal?.code ?? ""), String(describing: refusal))
    }

    func testACheckpointNotSignedByThePinnedKeyIsRefused() async throws {
        let other = try NoteSignerKey.generate(name: "parley.local/log")
        let log = try await LogFollower(http: http, state: ClientState(directory: stateDir), pinnedKey: other.verifierKey)
        let refusal = try await blocking { () -> LogRefusal? in
            do { try await log.follow(); return nil } catch let e as LogRefusal { return e }
        }
        XCTAssertEqual(refusal, .checkpointRejected(.noSignatureFromKnownKey))
        XCTAssertNil(try log.remembered())
    }
}
