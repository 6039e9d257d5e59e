import Crypto
import Foundation
import ParleyAttestation
import ParleyAudit
import ParleyCore
import ParleyHTTP
import ParleyParty
import XCTest

/// The product as people use it: a real HTTP server, real worker processes, the party client.
final class HTTPEndToEndTests: HTTPTestCase {
    func testLaunchUploadQueryOverHTTP() async throws {
        let job = try await launch()
        let (http, brand, retailer, dir, policy) = (http!, brand, retailer, dir, try policy())
        let doc = try await blocking { () -> ResultDocument in
            let w = try await ClientOps.verifiedWorker(http, job: job, policy: policy)
            _ = try await ClientOps.upload(http, job: job, dataset: "exposures", file: dir + "/exposures.csv", key: brand, worker: w, progress: false)
            _ = try await ClientOps.upload(http, job: job, dataset: "purchases", file: dir + "/purchases.csv", key: retailer, worker: w, progress: false)
            let awaited2 = try await ClientOps.partyName(http, job: job, key: brand)
            XCTAssertEqual(awaited2, "brand")
            return try await ClientOps.runQuery(http, job: job, query: "conversions", receiver: "brand", key: brand, worker: w)
        }
        XCTAssertEqual(doc.columns, ["campaign", "buyers", "revenue"])
        XCTAssertEqual(doc.budgetLeft, "9")
        let status = try await http.request("GET", "/v1/jobs/\(job)").json()
        XCTAssertEqual(status["state"] as? String, "ready")
        // The log saw the launch, both uploads and the release.
        let checkpoint = try await http.request("GET", "/v1/log/checkpoint").text.split(separator: "\n")
        XCTAssertGreaterThanOrEqual(Int(checkpoint[1]) ?? 0, 4)
    }

    func testOperatorRequestsNeedTheToken() async throws {
        let r = try await http.request("POST", "/v1/jobs", body: bundle)
        XCTAssertEqual(r.status, 401)
        let awaited3 = try await http.request("POST", "/v1/jobs", body: bundle, headers: ["Authorization": "Bearer nope"]).status
        XCTAssertEqual(awaited3, 401)
        let awaited4 = try await http.request("GET", "/v1/jobs").status
        XCTAssertEqual(awaited4, 401)
        let awaited5 = try await http.request("POST", "/v1/jobs", body: [1, 2, 3], headers: ["Authorization": "Bearer \(token)"]).status
        XCTAssertEqual(awaited5, 422)
    }

    func testUploadByANonProviderIsRefusedByTheHost() async throws {
        let job = try await launch()
        let (http, retailer, dir, policy) = (http!, retailer, dir, try policy())
        let error = try await blocking { () -> String in
            let w = try await ClientOps.verifiedWorker(http, job: job, policy: policy)
            do { _ = try await ClientOps.upload(http, job: job, dataset: "exposures", file: dir + "/exposures.csv", key: retailer, worker: w, progress: false); return "" } catch let e as ParleyError { return e.reason }
        }
        XCTAssertTrue(error.contains("403") && error.contains("not signed by brand"), error)
        let status = try await http.request("GET", "/v1/jobs/\(job)").json()
        XCTAssertEqual(((status["datasets"] as? [String: Any])?["exposures"] as? [String: Any])?["accepted"] as? Bool, false)
    }

    func testEvidenceThatDoesNotMatchThePolicyStopsTheClientBeforeSending() async throws {
        let job = try await launch()
        let (http, brand, dir) = (http!, brand, dir)
        let wrong = try policy(module: .of([9]))
        let error = try await blocking { () -> String in
            do {
                let w = try await ClientOps.verifiedWorker(http, job: job, policy: wrong)
                _ = try await ClientOps.upload(http, job: job, dataset: "exposures", file: dir + "/exposures.csv", key: brand, worker: w, progress: false)
                return ""
            } catch let e as ParleyError { return e.reason }
        }
        XCTAssertTrue(error.contains("nothing was sent") && error.contains("module other than"), error)
        let awaited6 = try await http.request("GET", "/v1/jobs/\(job)").json()["state"] as? String
        XCTAssertEqual(awaited6, "collecting-datasets")
    }

    func testReplayedTruncatedAndTamperedUploadsAreRefused() async throws {
        let job = try await launch()
        let (http, brand, dir, policy) = (http!, brand, dir, try policy())
        let w = try await blocking { try await ClientOps.verifiedWorker(http, job: job, policy: policy) }
        // Seal once, then send variants of the same stream with the same signature.
        let sealed = try PartyClient.SealedUpload(path: dir + "/exposures.csv", job: job, dataset: "exposures", worker: w.claims, key: brand, chunkSize: 4096)
        var stream: [UInt8] = []
        while let p = try sealed.next() { stream += p }
        let sig = ["Parley-Signature": Hex.encode(sealed.signature)]
        let truncated = try await http.request("PUT", "/v1/jobs/\(job)/datasets/exposures", body: Array(stream.dropLast(50)), headers: sig)
        XCTAssertEqual(truncated.status, 422, truncated.text)
        var tampered = stream
        tampered[tampered.count / 2] ^= 0x40
        let awaited7 = try await http.request("PUT", "/v1/jobs/\(job)/datasets/exposures", body: tampered, headers: sig).status
        XCTAssertEqual(awaited7, 422)
        let awaited8 = try await http.request("GET", "/v1/jobs/\(job)").json()["state"] as? String
        XCTAssertEqual(awaited8, "collecting-datasets", "nothing kept")
        let ok = try await http.request("PUT", "/v1/jobs/\(job)/datasets/exposures", body: stream, headers: sig)
        XCTAssertEqual(ok.status, 200, ok.text)
        let replay = try await http.request("PUT", "/v1/jobs/\(job)/datasets/exposures", body: stream, headers: sig)
        XCTAssertEqual(replay.status, 409)
        XCTAssertTrue(replay.errorMessage.contains("already uploaded"), replay.errorMessage)
        let awaited9 = try await http.request("PUT", "/v1/jobs/\(job)/datasets/exposures", body: stream).status
        XCTAssertEqual(awaited9, 401, "unsigned")
        let awaited10 = try await http.request("PUT", "/v1/jobs/\(job)/datasets/nope", body: stream, headers: sig).status
        XCTAssertEqual(awaited10, 404)
    }

    /// The upload rule's "job not collecting" refusal, end to end: a stopped job takes no upload,
    /// even one its provider signed (409 before a byte reaches a worker).
    func testUploadToAStoppedJobIsRefused() async throws {
        let job = try await launch()
        let (http, brand, dir, policy, token) = (http!, brand, dir, try policy(), token)
        let w = try await blocking { try await ClientOps.verifiedWorker(http, job: job, policy: policy) }
        let sealed = try PartyClient.SealedUpload(path: dir + "/exposures.csv", job: job, dataset: "exposures", worker: w.claims, key: brand, chunkSize: 4096)
        var stream: [UInt8] = []
        while let p = try sealed.next() { stream += p }
        let sig = ["Parley-Signature": Hex.encode(sealed.signature)]
        let stopped = try await http.request("POST", "/v1/jobs/\(job)/stop", headers: ["Authorization": "Bearer \(token)"]).status
        XCTAssertEqual(stopped, 200)
        let late = try await http.request("PUT", "/v1/jobs/\(job)/datasets/exposures", body: stream, headers: sig)
        XCTAssertEqual(late.status, 409, late.text)
        XCTAssertTrue(late.errorMessage.contains("not collecting datasets"), late.errorMessage)
        let undeclared = try await http.request("PUT", "/v1/jobs/\(job)/datasets/nope", body: stream, headers: sig).status
        XCTAssertEqual(undeclared, 404, "an undeclared dataset is refused first, whatever the job's state")
    }

    /// Stopping a job twice (an operator's retry, two operators) logs one `stopped` record, and the
    /// second stop answers as the first did; evidence for the stopped job is a 409 conflict, never a 500.
    func testAJobStoppedTwiceIsLoggedStoppedOnceAndGivesNoEvidence() async throws {
        let job = try await launch()
        let stop = { [http, token] in try await http!.request("POST", "/v1/jobs/\(job)/stop", headers: ["Authorization": "Bearer \(token)"]) }
        let first = try await stop(), second = try await stop()
        XCTAssertEqual(first.status, 200, first.text)
        XCTAssertEqual(second.status, 200, second.text)
        let log = server.log
        let records = try log.entries(from: 0, count: Int(log.size)).map { try LogRecord(bytes: $0) }
        let stops = records.filter { if case .stopped = $0.body { return $0.job == job } else { return false } }
        XCTAssertEqual(stops.count, 1, "one stopped record per job")
        let evidence = try await http.request("GET", "/v1/jobs/\(job)/evidence?nonce=\(Nonce.random().hex)")
        XCTAssertEqual(evidence.status, 409, evidence.text)
        XCTAssertEqual(evidence.errorCode, "job-ended")
    }

    func testMalformedAndReplayedQueriesAndResultsFromAnotherKey() async throws {
        let job = try await launch()
        let (http, brand, retailer, dir, policy) = (http!, brand, retailer, dir, try policy())
        let w = try await blocking { () -> AttestationResult in
            let w = try await ClientOps.verifiedWorker(http, job: job, policy: policy)
            _ = try await ClientOps.upload(http, job: job, dataset: "exposures", file: dir + "/exposures.csv", key: brand, worker: w, progress: false)
            _ = try await ClientOps.upload(http, job: job, dataset: "purchases", file: dir + "/purchases.csv", key: retailer, worker: w, progress: false)
            return w
        }
        let awaited11 = try await http.request("POST", "/v1/jobs/\(job)/queries/reach", body: Array("{}".utf8)).status
        XCTAssertEqual(awaited11, 400)
        let req = try PartyClient.queryRequest(job: job, query: "reach", receiver: "brand", key: brand)
        let body = Array(try JSONSerialization.data(withJSONObject: ["receiver": "brand", "nonce": Hex.encode(req.nonce), "signature": Hex.encode(req.signature)]))
        let first = try await http.request("POST", "/v1/jobs/\(job)/queries/reach", body: body)
        XCTAssertEqual(first.status, 200)
        let awaited12 = try await http.request("POST", "/v1/jobs/\(job)/queries/reach", body: body).status
        XCTAssertEqual(awaited12, 409, "replayed request")
        var impostor = w.claims
        impostor.signingKey = Array(P384.Signing.PrivateKey().publicKey.derRepresentation)
        XCTAssertThrowsError(try PartyClient.openResult(first.body, key: brand, worker: impostor, query: "reach", request: req))
        XCTAssertNoThrow(try PartyClient.openResult(first.body, key: brand, worker: w.claims, query: "reach", request: req))
        let forged = try PartyClient.queryRequest(job: job, query: "reach", receiver: "brand", key: retailer)
        let forgedBody = Array(try JSONSerialization.data(withJSONObject: ["receiver": "brand", "nonce": Hex.encode(forged.nonce), "signature": Hex.encode(forged.signature)]))
        let awaited13 = try await http.request("POST", "/v1/jobs/\(job)/queries/reach", body: forgedBody).status
        XCTAssertEqual(awaited13, 403)
    }

    func testHostRestartReportsLiveJobsFailedNeverResumed() async throws {
        let job = try await launch()
        await stopHost()
        try await startHost()
        let status = try await http.request("GET", "/v1/jobs/\(job)").json()
        XCTAssertEqual(status["state"] as? String, "failed")
        XCTAssertTrue((status["reason"] as? String ?? "").contains("host restarted"))
        let list = try await http.request("GET", "/v1/jobs", headers: ["Authorization": "Bearer \(token)"]).json()
        XCTAssertEqual((list["jobs"] as? [[String: Any]])?.count, 1)
        let awaited14 = try await http.request("GET", "/v1/jobs/\(job)/evidence?nonce=\(Nonce.random().hex)").status
        XCTAssertEqual(awaited14, 404)
    }

    func testWorkerCrashIsReportedAsFailed() async throws {
        let job = try await launch()
        let j = try await service.job(job)
        kill(j.session.pid, SIGKILL)
        let exited = await j.session.waitForExit(timeout: 10)
        XCTAssertTrue(exited)
        let status = try await http.request("GET", "/v1/jobs/\(job)").json()
        XCTAssertEqual(status["state"] as? String, "failed")
        XCTAssertTrue((status["reason"] as? String ?? "").contains("SIGKILL"))
    }

    /// A crash between requests reaches the job store and the log as an event, with no request
    /// reading the store first and no poller (the list and status endpoints are not called).
    func testWorkerCrashReachesTheStoreAndTheLogWithoutARead() async throws {
        let job = try await launch()
        let j = try await service.job(job)
        let (store, log) = (server.store, server.log)
        let before = log.size
        kill(j.session.pid, SIGKILL)
        let exited = await j.session.waitForExit(timeout: 10)
        XCTAssertTrue(exited)
        let deadline = Date().addingTimeInterval(10)
        while try store.record(job)?.state != "failed", Date() < deadline { try await Task.sleep(nanoseconds: 10_000_000) }
        let record = try XCTUnwrap(try store.record(job))
        XCTAssertEqual(record.state, "failed")
        XCTAssertTrue((record.reason ?? "").contains("SIGKILL"))
        XCTAssertEqual(log.size, before + 1, "exactly one entry: the failure")
        let entry = try XCTUnwrap(try log.entries(from: before, count: 1).first)
        guard case .failed(let reason) = try LogRecord(bytes: entry).body else { return XCTFail("the new entry is not a failure") }
        XCTAssertTrue(reason.contains("SIGKILL"))
        // A later read does not log it again.
        _ = try await http.request("GET", "/v1/jobs/\(job)")
        XCTAssertEqual(log.size, before + 1)
    }
}
