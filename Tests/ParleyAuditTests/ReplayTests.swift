import Crypto
import Foundation
import ParleyAttestation
import ParleyAudit
import ParleyCore
import ParleyLog
import XCTest

/// A clean replay, and every semantic failure naming its entry.
final class ReplayTests: AuditFixture {
    func testACleanLogPassesAndTheReportListsJobsDataReleasesAndEpsilon() throws {
        try cleanJob()
        let report = try replay()
        XCTAssertEqual(report.verdict, .passed, report.text)
        XCTAssertEqual(report.warnings, [])
        XCTAssertEqual(report.entryCount, 6)
        XCTAssertEqual(report.largestCheckpoint, 6)
        XCTAssertTrue(report.logKeyPinned)
        XCTAssertEqual(report.jobs.count, 1)
        let job = try XCTUnwrap(report.jobs.first)
        XCTAssertEqual([job.id, job.moduleName, job.moduleVersion, job.epsilonSpent, job.budget], ["job-a", "audit-test", "1", "1", "2"])
        XCTAssertEqual(job.module, module.measurement)
        XCTAssertEqual(job.tier, .software)
        XCTAssertEqual(job.state, .stopped)
        XCTAssertEqual(job.launchEntry, 0)
        XCTAssertEqual(report.uploads.map(\.dataset), ["exposures", "purchases"])
        XCTAssertEqual(report.uploads.map(\.rows), [3000, 1500])
        XCTAssertEqual(report.releases.map { "\($0.query) \($0.receiver) \($0.epsilon) \($0.entryIndex)" }, ["reach brand 1 3"])
        XCTAssertEqual(report.refusals.map(\.entryIndex), [4])
        XCTAssertEqual(Dictionary(uniqueKeysWithValues: report.epsilonByDataset.map { ($0.dataset, $0.epsilon) }),
                       ["exposures": "1", "purchases": "0"])
        XCTAssertTrue(report.text.hasPrefix("verdict: PASSED\n"), report.text)
        let json = try JSONSerialization.jsonObject(with: Data(report.json.utf8)) as? [String: Any]
        XCTAssertEqual(json?["verdict"] as? String, "passed")
        XCTAssertEqual((json?["releases"] as? [[String: Any]])?.first?["epsilon"] as? String, "1")
    }

    /// A run refused after its charge (`not-computable`) spent the budget: the replay counts it
    /// like a release, and checks the budget left it states. Refusals are logged as codes only.
    func testAChargedRefusalIsCountedAndRefusalsAreCodesOnly() throws {
        let worker = try launch("job-a")
        try log.recordWorkerEntry(job: "job-a", entry: try worker.uploadAccepted("exposures", provider: "brand", digest: Self.exposuresDigest))
        try log.recordWorkerEntry(job: "job-a", entry: try worker.uploadAccepted("purchases", provider: "retailer", digest: Self.purchasesDigest))
        try log.recordWorkerEntry(job: "job-a", entry: try worker.entry("query-refused", [
            "query": .text("reach"), "receiver": .text("brand"), "code": .text("not-computable"),
            "epsilon": .text("1"), "delta": .text("0"), "budget_left": .text("1"),
        ]))
        let report = try replay()
        XCTAssertEqual(report.verdict, .passed, report.text)
        XCTAssertEqual(report.jobs.first?.epsilonSpent, "1", "the charge of a refused run is spent")
        XCTAssertEqual(report.refusals.map(\.code), ["not-computable"])
        XCTAssertEqual(Dictionary(uniqueKeysWithValues: report.epsilonByDataset.map { ($0.dataset, $0.epsilon) })["exposures"], "1")

        // A wrong budget_left is caught as for a release; free text in place of a code is unreadable.
        try log.recordWorkerEntry(job: "job-a", entry: try worker.entry("query-refused", [
            "query": .text("reach"), "receiver": .text("brand"), "code": .text("not-computable"),
            "epsilon": .text("1"), "delta": .text("0"), "budget_left": .text("1"),
        ]))
        XCTAssertEqual(try replay().failures.last?.reason, .budgetLeftMismatch(stated: "1", expected: "0"))
        try log.recordWorkerEntry(job: "job-a", entry: try worker.entry("query-refused", [
            "query": .text("reach"), "receiver": .text("brand"), "code": .text("row 3: alice@example.com is not an int"),
        ]))
        guard case .workerEntryRejected(.malformedPayload)? = try replay().failures.last?.reason else {
            return XCTFail("a refusal code that is free text must not be accepted")
        }
    }

    func testWithoutPinsTheReplayPassesButWarnsThatTheBundleVouchesForItself() throws {
        try cleanJob()
        let report = try replay(policy: AuditPolicy())
        XCTAssertEqual(report.verdict, .passed, report.text)
        XCTAssertEqual(report.warnings, [.logKeyNotPinned, .anchorNotPinned("quoting-root.pem")])
    }

    func testAWorkerEntrySignedByANonAttestedKeyFails() throws {
        let worker = try launch("job-a")
        try log.recordWorkerEntry(job: "job-a", entry: try worker.uploadAccepted("exposures", provider: "brand", digest: Self.exposuresDigest))
        let forged = try worker.entry("upload-accepted", ["dataset": .text("purchases"), "provider": .text("retailer"),
                                                          "ciphertext_sha256": .bytes(Self.purchasesDigest), "rows": .unsigned(1)],
                                      signedBy: P384.Signing.PrivateKey())
        try log.recordWorkerEntry(job: "job-a", entry: forged)
        let reason = assertFirstFailure(try replay(), at: 2)
        XCTAssertEqual(reason, .workerEntryRejected(.badSignature(.signatureMismatch)))
    }

    func testAWorkerEntryForAJobNeverLaunchedOrSignedForAnotherJobFails() throws {
        let worker = try launch("job-a")
        try log.recordWorkerEntry(job: "job-b", entry: try worker.uploadAccepted("exposures", provider: "brand", digest: Self.exposuresDigest))
        XCTAssertEqual(assertFirstFailure(try replay(), at: 1), .entryForUnlaunchedJob(kind: "worker"))

        try log.recordWorkerEntry(job: "job-a", entry: try worker.entry("query-refused", ["query": .text("q"), "receiver": .text("brand"),
                                                                                          "code": .text("replayed")], job: "job-z"))
        let report = try replay()
        XCTAssertEqual(report.failures.last, AuditReplayFailure(entryIndex: 2, reason: .workerEntryForOtherJob(signedFor: "job-z")))
    }

    func testAReleaseBeforeEveryDatasetWasAcceptedFails() throws {
        let worker = try launch("job-a")
        try log.recordWorkerEntry(job: "job-a", entry: try worker.uploadAccepted("exposures", provider: "brand", digest: Self.exposuresDigest))
        try log.recordWorkerEntry(job: "job-a", entry: try worker.release("reach", budgetLeft: "1", inputs: ["exposures": Self.exposuresDigest]))
        XCTAssertEqual(assertFirstFailure(try replay(), at: 2), .releaseBeforeDatasets(query: "reach", missing: ["purchases"]))
    }

    func testSpendingOverTheModuleBudgetFails() throws {
        let worker = try cleanJobWithoutStop()
        try log.recordWorkerEntry(job: "job-a", entry: try worker.release("reach", budgetLeft: "0", inputs: ["exposures": Self.exposuresDigest]))
        try log.recordWorkerEntry(job: "job-a", entry: try worker.release("reach", epsilon: "0.5", budgetLeft: "0", inputs: ["exposures": Self.exposuresDigest]))
        XCTAssertEqual(assertFirstFailure(try replay(), at: 5), .budgetExceeded(spent: "2.5", budget: "2"))
    }

    func testAReleaseMissingFromTheLogShowsInTheWorkersBudgetLeft() throws {
        let worker = try cleanJobWithoutStop()
        // The worker released twice more (1/3 each), but the host logged only the last release.
        try log.recordWorkerEntry(job: "job-a", entry: try worker.release("reach", epsilon: "1/3", budgetLeft: "1/3", inputs: ["exposures": Self.exposuresDigest]))
        XCTAssertEqual(assertFirstFailure(try replay(), at: 4), .budgetLeftMismatch(stated: "1/3", expected: "2/3"))
    }

    func testEvidenceWhoseClaimsDifferFromTheEntryFails() throws {
        let other = P384.Signing.PrivateKey()
        // The host quoted one worker key but logged another: the log's key would accept entries
        // no attested worker signed.
        try launch("job-a", quoted: { $0.signingKey = Array(other.publicKey.derRepresentation) })
        XCTAssertEqual(assertFirstFailure(try replay(), at: 0), .claimsDiffer(fields: ["signing_key"]))
    }

    func testEvidenceForAnotherNonceFails() throws {
        try launch("job-a", evidenceNonce: Nonce.random())
        XCTAssertEqual(assertFirstFailure(try replay(), at: 0), .evidenceRejected([.nonceMismatch]))
    }

    func testAModuleMeasurementOtherThanTheBundlesFails() throws {
        let other = try sealModule(name: "other-module")
        // Quote and entry both state the other module's measurement, but the bundle logged is this one.
        try launch("job-a", quoted: { $0.module = other.measurement }, stated: { $0.module = other.measurement })
        let reason = assertFirstFailure(try replay(policy: AuditPolicy(logKey: log.verifierKey, anchors: TrustAnchors(quotingRoot: ca.root))), at: 0)
        XCTAssertEqual(reason, .moduleMeasurementMismatch(stated: other.measurement, actual: module.measurement))
    }

    func testAJobRunningAModuleThePolicyDoesNotExpectFails() throws {
        let other = try sealModule(name: "other-module")
        try cleanJob()
        try launch("job-b", module: other)
        XCTAssertEqual(assertFirstFailure(try replay(), at: 6), .moduleNotExpected(other.measurement))
    }

    func testARelaunchThatResetsTheBudgetIsWarnedAbout() throws {
        try cleanJob("job-a")
        let second = try launch("job-b")
        try log.recordWorkerEntry(job: "job-b", entry: try second.uploadAccepted("exposures", provider: "brand", digest: Self.exposuresDigest))
        try log.recordWorkerEntry(job: "job-b", entry: try second.uploadAccepted("purchases", provider: "retailer", digest: Self.purchasesDigest))
        try log.recordWorkerEntry(job: "job-b", entry: try second.release("reach", budgetLeft: "1", inputs: ["exposures": Self.exposuresDigest]))
        try log.recordWorkerEntry(job: "job-b", entry: try second.release("reach", budgetLeft: "0", inputs: ["exposures": Self.exposuresDigest]))
        let report = try replay()
        XCTAssertEqual(report.verdict, .passed, report.text)
        XCTAssertTrue(report.warnings.contains(.datasetDigestInSeveralJobs(digest: Hex.encode(Self.exposuresDigest), dataset: "exposures",
                                                                           jobs: ["job-a", "job-b"], epsilon: "3")), report.text)
        XCTAssertTrue(report.warnings.contains(.moduleRelaunched(module: "audit-test", measurement: module.measurement.hex,
                                                                 jobs: ["job-a", "job-b"], epsilon: "3", budget: "2")), report.text)
        XCTAssertEqual(report.jobs.map(\.state), [.stopped, .ready])
        XCTAssertEqual(report.epsilonByDataset.first { $0.dataset == "exposures" }?.epsilon, "3")
    }

    func testAWorkerEntryThatIsNotCOSEFails() throws {
        try cleanJob()
        try log.recordWorkerEntry(job: "job-a", entry: [0xa0])
        XCTAssertEqual(assertFirstFailure(try replay(), at: 6)?.code, "workerEntryRejected")
    }

    /// Entries 0-3 of `cleanJob`: launch, both uploads, one release (budget left 1).
    func cleanJobWithoutStop() throws -> FakeWorker {
        let worker = try launch("job-a")
        try log.recordWorkerEntry(job: "job-a", entry: try worker.uploadAccepted("exposures", provider: "brand", digest: Self.exposuresDigest))
        try log.recordWorkerEntry(job: "job-a", entry: try worker.uploadAccepted("purchases", provider: "retailer", digest: Self.purchasesDigest))
        try log.recordWorkerEntry(job: "job-a", entry: try worker.release("reach", budgetLeft: "1", inputs: ["exposures": Self.exposuresDigest]))
        return worker
    }
}
