import Foundation
import ParleyAttestation
import ParleyAudit
import ParleyCore
import ParleyLedger
import ParleyLog
import ParleyParty
import XCTest

/// The privacy budget is a ledger across every job of a module (issue #14, item 2): a relaunch
/// continues the spend, a job without a closing entry counts in full, a host that hides an
/// earlier job from a new worker is caught by a party that saw it, and a party does not upload
/// to a second job while an earlier one it uploaded to is open.
final class LedgerAcrossJobsTests: HTTPTestCase {
    func follower(_ name: String = "brand") async throws -> LogFollower {
        let key = try NoteVerifierKey(parsing: try FileIO.readText(dir + "/host/log-key.pub").trimmingCharacters(in: .whitespacesAndNewlines))
        return try await LogFollower(http: http, state: ClientState(directory: dir + "/\(name)-state"), pinnedKey: key)
    }

    /// Both parties upload to `job` through their remembering clients; brand runs `queries` queries.
    func useJob(_ job: String, queries: Int) async throws -> (worker: AttestationResult, budgetLeft: String?) {
        let (http, brand, retailer, dir, policy, b, r) = (http!, brand, retailer, dir, try policy(), try await follower("brand"), try await follower("retailer"))
        return try await blocking {
            let wb = try await ClientOps.verifiedWorker(http, job: job, policy: policy, log: b)
            _ = try await ClientOps.upload(http, job: job, dataset: "exposures", file: dir + "/exposures.csv", key: brand, worker: wb, progress: false, log: b)
            let wr = try await ClientOps.verifiedWorker(http, job: job, policy: policy, log: r)
            _ = try await ClientOps.upload(http, job: job, dataset: "purchases", file: dir + "/purchases.csv", key: retailer, worker: wr, progress: false, log: r)
            var left: String?
            for _ in 0..<queries { left = try await ClientOps.runQuery(http, job: job, query: "reach", receiver: "brand", key: brand, worker: wb, log: b).budgetLeft }
            return (wb, left)
        }
    }

    func stop(_ job: String) async throws {
        let awaited16 = try await http.request("POST", "/v1/jobs/\(job)/stop", headers: ["Authorization": "Bearer \(token)"]).status
        XCTAssertEqual(awaited16, 200)
    }

    func testARelaunchContinuesTheSpend() async throws {
        let first = try await launch()
        let (w1, left1) = try await useJob(first, queries: 2)
        XCTAssertEqual(w1.claims.ledger?.inherited, "0")
        XCTAssertEqual(left1, "8")
        try await stop(first)
        let second = try await launch()
        let (w2, left2) = try await useJob(second, queries: 1)
        XCTAssertEqual(w2.claims.ledger?.inherited, "2", "the new worker counted the first job's closing entry")
        XCTAssertEqual(w2.claims.ledger?.counted, 1, "it counted the first job")
        XCTAssertEqual(left2, "7", "the budget continues: 10 - 2 - 1")
        // The audit holds each worker's inheritance to the log and shows the spend across jobs.
        let report = try await replay()
        XCTAssertEqual(report.verdict, .passed, report.text)
        XCTAssertEqual(report.ledgers.count, 1)
        XCTAssertEqual(report.ledgers.first?.jobs, [first, second])
        XCTAssertEqual(report.ledgers.first?.spent, "10", "the second job is open: it counts in full")
        XCTAssertTrue(report.text.contains("epsilon spent per budget ledger"), report.text)
        XCTAssertFalse(report.warnings.contains { $0.code == "moduleRelaunched" }, "a counted relaunch is no longer a warning")
    }

    func testAJobEndedWithoutAClosingEntryCountsAsHavingSpentAll() async throws {
        let first = try await launch()
        _ = try await useJob(first, queries: 1)
        // The worker dies: no closing entry.
        let dying = try await service.job(first)
        kill(dying.session.pid, SIGKILL)
        let exited = await dying.session.waitForExit(timeout: 10)
        XCTAssertTrue(exited)
        _ = try await http.request("GET", "/v1/jobs/\(first)") // the host records the failure
        let second = try await launch()
        let (http, brand, policy, b) = (http!, brand, try policy(), try await follower())
        let w = try await blocking { try await ClientOps.verifiedWorker(http, job: second, policy: policy, log: b) }
        XCTAssertEqual(w.claims.ledger?.inherited, "10")
        let (retailer, dir, r) = (retailer, dir, try await follower("retailer"))
        let refusal = try await blocking { () -> String in
            _ = try await ClientOps.upload(http, job: second, dataset: "exposures", file: dir + "/exposures.csv", key: brand, worker: w, progress: false, log: b)
            let wr = try await ClientOps.verifiedWorker(http, job: second, policy: policy, log: r)
            _ = try await ClientOps.upload(http, job: second, dataset: "purchases", file: dir + "/purchases.csv", key: retailer, worker: wr, progress: false, log: r)
            do { _ = try await ClientOps.runQuery(http, job: second, query: "reach", receiver: "brand", key: brand, worker: w, log: b); return "" } catch let e as ParleyError { return e.reason }
        }
        XCTAssertTrue(refusal.contains("budget"), refusal)
    }

    func testAHostThatHidesAnEarlierJobFromANewWorkerIsCaught() async throws {
        // The operator keeps a genuine, signed, older handoff: the log before the first job.
        let honest = try XCTUnwrap(service.ledgerHandoff)
        let stale = try honest(module.definition.ledgerID)
        let first = try await launch()
        _ = try await useJob(first, queries: 1)
        try await stop(first)
        service.ledgerHandoff = { _ in stale }
        let second = try await launch()
        let (http, policy, b) = (http!, try policy(), try await follower())
        let refusal = try await blocking { () -> LogRefusal? in
            do { _ = try await ClientOps.verifiedWorker(http, job: second, policy: policy, log: b); return nil } catch let e as LogRefusal { return e }
        }
        guard case .ledgerHidesEntries(let workerSize, let seenIndex, _) = refusal else { return XCTFail("not caught: \(String(describing: refusal))") }
        XCTAssertEqual(workerSize, 0)
        XCTAssertEqual(seenIndex, 0, "the first job's launch entry")
        XCTAssertTrue(refusal?.description.contains("hid earlier jobs") == true)
        // A party that never saw the first job cannot tell; the audit can.
        let report = try await replay()
        guard case .failed(let f) = report.verdict else { return XCTFail("the audit passed a hidden job") }
        XCTAssertEqual(f.reason.code, "ledgerClaimInvalid", report.text)
        XCTAssertTrue(f.reason.description.contains("leaves out job \(first)"), f.reason.description)
    }

    func testAHostThatLeavesAnEarlierJobOutOfACurrentHandoffIsCaught() async throws {
        // This time the checkpoint is current: the host leaves the first job's entries out of
        // the handoff. The worker cannot tell; its evidence says whom it counted, and that tells.
        let first = try await launch()
        _ = try await useJob(first, queries: 1)
        try await stop(first)
        let honest = try XCTUnwrap(service.ledgerHandoff)
        service.ledgerHandoff = { ledger in
            let full = try LedgerHandoff(cbor: try honest(ledger))
            return LedgerHandoff(checkpointNote: full.checkpointNote, logKey: full.logKey, items: []).cbor
        }
        let second = try await launch()
        let (http, policy, b) = (http!, try policy(), try await follower())
        let refusal = try await blocking { () -> LogRefusal? in
            do { _ = try await ClientOps.verifiedWorker(http, job: second, policy: policy, log: b); return nil } catch let e as LogRefusal { return e }
        }
        guard case .ledgerHidesEntries(let workerSize, let seenIndex, _) = refusal else { return XCTFail("not caught: \(String(describing: refusal))") }
        XCTAssertGreaterThan(workerSize, 0, "the checkpoint was current")
        XCTAssertEqual(seenIndex, 0, "the first job's launch entry")
        let report = try await replay()
        guard case .failed(let f) = report.verdict else { return XCTFail("the audit passed a hidden job") }
        XCTAssertEqual(f.reason.code, "ledgerClaimInvalid", report.text)
        XCTAssertTrue(f.reason.description.contains("leaves out job \(first)"), f.reason.description)
    }

    func testAWorkerRefusesAHandoffWhoseEntriesAreNotInItsCheckpoint() async throws {
        let first = try await launch()
        try await stop(first)
        let honest = try XCTUnwrap(service.ledgerHandoff)
        let full = try LedgerHandoff(cbor: try honest(module.definition.ledgerID))
        XCTAssertEqual(full.items.count, 3, "the first job's launch, closing and stopped entries")
        let ledger = module.definition.ledgerID
        guard case .verified(let v) = LedgerTally.verify(full, ledger: ledger) else { return XCTFail("the honest handoff was refused") }
        XCTAssertEqual(v.tally.countedLaunches, [full.items[0].index])
        // A changed entry (its proof no longer leads to the root).
        var items = full.items
        var changed = items[0].entry
        changed[changed.count - 1] ^= 1
        items[0] = .init(index: items[0].index, entry: changed, proof: items[0].proof)
        let cut = LedgerHandoff(checkpointNote: full.checkpointNote, logKey: full.logKey, items: items)
        guard case .refused(.notInCheckpoint(let index, _)) = LedgerTally.verify(cut, ledger: ledger) else { return XCTFail("a changed entry was counted") }
        XCTAssertEqual(index, full.items[0].index)
        // An entry moved to another index, a repeated entry, an index past the checkpoint.
        let moved = LedgerHandoff(checkpointNote: full.checkpointNote, logKey: full.logKey,
                                  items: [.init(index: full.items[0].index + 1, entry: full.items[0].entry, proof: full.items[0].proof)])
        guard case .refused(.notInCheckpoint) = LedgerTally.verify(moved, ledger: ledger) else { return XCTFail("a moved entry was counted") }
        let repeated = LedgerHandoff(checkpointNote: full.checkpointNote, logKey: full.logKey, items: [full.items[0], full.items[0]])
        XCTAssertEqual(LedgerTally.verify(repeated, ledger: ledger), .refused(.entriesOutOfOrder(index: full.items[0].index)))
        let size = v.checkpoint.size
        let past = LedgerHandoff(checkpointNote: full.checkpointNote, logKey: full.logKey, items: [.init(index: size, entry: [1], proof: [])])
        XCTAssertEqual(LedgerTally.verify(past, ledger: ledger), .refused(.entryBeyondCheckpoint(index: size, checkpoint: size)))
        // And a real worker handed the changed entry does not start.
        service.ledgerHandoff = { _ in cut.cbor }
        let (service, bundle) = (service!, bundle)
        let failed = try await blocking { () -> Bool in (try? await service.launch(bundle: bundle)) == nil }
        XCTAssertTrue(failed, "a worker started on a handoff with a changed entry")
    }

    func testAPartyDoesNotUploadToASecondJobWhileAnEarlierOneIsOpen() async throws {
        let first = try await launch()
        let (http, brand, dir, policy, b) = (http!, brand, dir, try policy(), try await follower())
        try await blocking {
            let w = try await ClientOps.verifiedWorker(http, job: first, policy: policy, log: b)
            _ = try await ClientOps.upload(http, job: first, dataset: "exposures", file: dir + "/exposures.csv", key: brand, worker: w, progress: false, log: b)
        }
        let second = try await launch()
        let refusal = try await blocking { () -> LogRefusal? in
            let w = try await ClientOps.verifiedWorker(http, job: second, policy: policy, log: b)
            XCTAssertEqual(w.claims.ledger?.counted, 1)
            XCTAssertEqual(w.claims.ledger?.inherited, "10", "an open job counts in full: parallel jobs cannot double-spend")
            do {
                _ = try await ClientOps.upload(http, job: second, dataset: "exposures", file: dir + "/exposures.csv", key: brand, worker: w, progress: false, log: b)
                return nil
            } catch let e as LogRefusal { return e }
        }
        XCTAssertEqual(refusal, .earlierJobOpen(job: first))
        let awaited17 = ((try await http.request("GET", "/v1/jobs/\(second)").json()["datasets"] as? [String: Any])?["exposures"] as? [String: Any])?["accepted"] as? Bool
        XCTAssertEqual(awaited17, false)
    }

    func testEntriesFarBelowTheTopAreFoundThroughTheHostsIndexAndAHandoffCarriesOnlyItsLedger() async throws {
        let first = try await launch()
        // 1,500 entries of another job push the launch far below the top of the log (a client
        // that searched the newest 1,000 entries would not find it).
        // (The log is read through `server` each time: a test-held reference would keep its lock past the restart.)
        for _ in 0..<1_500 { try server.log.recordUploadRefused(job: "job-00000000000000aa", dataset: "exposures", code: RefusalCode.badStream.rawValue) }
        let (w, _) = try await useJob(first, queries: 1)
        XCTAssertEqual(w.claims.ledger?.counted, 0)
        let receipts = try FileManager.default.contentsOfDirectory(atPath: try await follower().directory + "/receipts")
        XCTAssertTrue(receipts.contains { $0.hasPrefix("\(first)-") && $0 != "\(first)-0.cbor" }, "\(receipts)")
        // The index answers newest first, by kind, below a size; it refuses what it cannot read.
        let index = try await http.request("GET", "/v1/log/index?job=\(first)&kind=launch")
        XCTAssertEqual(index.status, 200)
        XCTAssertEqual(try CBORDecoder().decode(index.body), .array([.unsigned(0)]))
        let none = try await http.request("GET", "/v1/log/index?job=\(first)&before=0")
        XCTAssertEqual(try CBORDecoder().decode(none.body), .array([]))
        for bad in ["", "?job=Not%20A%20Job", "?job=\(first)&kind=release", "?job=\(first)&before=x", "?job=\(first)&limit=0", "?job=\(first)&limit=257"] {
            let r = try await http.request("GET", "/v1/log/index" + bad)
            XCTAssertEqual(r.status, 400, bad)
            XCTAssertTrue(r.text.contains("give ?job=ID"), r.text)
        }
        // A new worker of the ledger is handed the first job's entries only, whatever else the log holds.
        try await stop(first)
        let handoff = try server.log.ledgerHandoff(ledger: module.definition.ledgerID)
        XCTAssertEqual(handoff.items.map(\.index).first, 0)
        XCTAssertEqual(handoff.items.count, 3, "launch, closed, stopped: not the \(server.log.size) entries of the log")
        // A restarted host rebuilds the index from the log's one opening scan and answers as before.
        let (jobIndex, handoffIndexes) = (server.log.jobEntries(job: first, kind: nil, before: .max, limit: 256), handoff.items.map(\.index))
        await stopHost()
        try await startHost()
        XCTAssertEqual(server.log.jobEntries(job: first, kind: nil, before: .max, limit: 256), jobIndex)
        XCTAssertEqual(try server.log.ledgerHandoff(ledger: module.definition.ledgerID).items.map(\.index), handoffIndexes)
        let second = try await launch()
        let (w2, left) = try await useJob(second, queries: 1)
        XCTAssertEqual(w2.claims.ledger?.inherited, "1")
        XCTAssertEqual(left, "8")
    }

    func testAHostWhoseIndexPointsAtAnotherJobsEntriesGetsNoUploadAndNoTrust() async throws {
        let first = try await launch()
        let second = try await launch()
        // The index of `first` answers with `second`'s genuine entries: its launch, every later one.
        let (liar, proxy) = try await LyingProxy.start(upstream: http, indexOf: [first: second])
        defer { proxy.cancel() }
        let key = try NoteVerifierKey(parsing: try FileIO.readText(dir + "/host/log-key.pub").trimmingCharacters(in: .whitespacesAndNewlines))
        let b = try await LogFollower(http: liar, state: ClientState(directory: dir + "/pointed-state"), pinnedKey: key)
        let policy = try policy()
        let refusal = try await blocking { () -> LogRefusal? in
            do { _ = try await ClientOps.verifiedWorker(liar, job: first, policy: policy, log: b); return nil } catch let e as LogRefusal { return e }
        }
        guard case .launchNotLogged(let why) = refusal else { return XCTFail("the misdirected index was trusted: \(String(describing: refusal))") }
        XCTAssertTrue(why.contains("points at no such entry"), why)
        XCTAssertTrue(try b.ledgerMarks(module.definition.ledgerID).jobs.isEmpty, "nothing was marked as seen")
        // Through the honest host the same client state verifies the job.
        let honest = try await LogFollower(http: http, state: ClientState(directory: dir + "/pointed-state"), pinnedKey: key)
        let http = http!
        let w = try await blocking { try await ClientOps.verifiedWorker(http, job: first, policy: policy, log: honest) }
        XCTAssertEqual(w.claims.job, first)
    }

    func replay() async throws -> AuditReplayReport {
        let out = dir + "/bundle-\(UUID().uuidString)"
        let r = try await http.request("GET", "/v1/audit/export")
        XCTAssertEqual(r.status, 200)
        let files = try CBORDecoder(limits: .init(maxBytes: 1 << 30, maxDepth: 3, maxItems: 1 << 20)).decode(r.body).textKeyedMap("bundle")
        for (path, content) in files {
            let full = out + "/" + path
            try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try FileIO.write(try content.bytesValue(path), to: full)
        }
        let key = try NoteVerifierKey(parsing: try FileIO.readText(dir + "/host/log-key.pub").trimmingCharacters(in: .whitespacesAndNewlines))
        return AuditReplay(bundle: try AuditBundle.open(out), policy: AuditPolicy(logKey: key, anchors: TrustAnchors(
            quotingRoot: try Certificate(pem: try FileIO.readText(dir + "/host/quoting-root.pem"))))).run()
    }
}
