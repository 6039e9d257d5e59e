import Crypto
import Foundation
import ParleyAttestation
import ParleyCore
import ParleyHost
import ParleyModule
import ParleyParty
import ParleyTestSupport
import XCTest
import ParleyQuoting
import ParleyHostTesting
import ParleyTPMProvider

/// The whole flow with real worker processes: launch, attest, upload, query, and every refusal.
final class HostEndToEndTests: HostFixture {
    func readyJob(_ host: HostService) async throws -> (HostService.Job, AttestationResult) {
        let job = try await host.launch(bundle: bundle)
        let attested = try await attest(host, job: job.id, policy: try softwarePolicy(host))
        guard case .accepted = try await upload(host, job: job.id, dataset: "exposures", file: "exposures.csv", key: brand, worker: attested.claims),
              case .accepted = try await upload(host, job: job.id, dataset: "purchases", file: "purchases.csv", key: retailer, worker: attested.claims) else {
            throw ParleyError(.internal, "uploads failed")
        }
        return (job, attested)
    }

    func runQuery(_ host: HostService, _ job: String, _ query: String, as receiver: String, key: PartyPrivateKey) async throws -> (HostService.Outcome<[UInt8]>, PartyClient.QueryRequest) {
        let req = try PartyClient.queryRequest(job: job, query: query, receiver: receiver, key: key)
        return (try await host.query(job: job, query: query, receiver: receiver, nonce: req.nonce, signature: req.signature), req)
    }

    func testSoftwareQuotedJobRunsEndToEnd() async throws {
        let host = try await host()
        let (job, attested) = try await readyJob(host)
        XCTAssertEqual(attested.tier, .software)
        // The worker's lock-down report reaches the party inside the quoted claims.
        let fileSystem = try XCTUnwrap(attested.claims.sandbox["file-system"], "\(attested.claims.sandbox)")
        XCTAssertTrue(fileSystem.contains("Landlock ABI") || fileSystem.hasPrefix("unavailable"), fileSystem)
        XCTAssertEqual(Set(attested.claims.sandbox.keys), ["descriptors", "resource-limits", "network-namespace", "identity",
                                                           "no-new-privileges", "file-system", "not-dumpable", "syscall-filter"])
        let v1 = await job.session.state
        XCTAssertEqual(v1, .ready)
        XCTAssertEqual(job.receipts["exposures"]?.rows, 3000)
        XCTAssertEqual(job.receipts["purchases"]?.rows, 1500)
        let (outcome, req) = try await runQuery(host, job.id, "conversions", as: "brand", key: brand)
        guard case .accepted(let sealed) = outcome else { return XCTFail("query refused: \(outcome)") }
        let result = try PartyClient.openResult(sealed, key: brand, worker: attested.claims, query: "conversions", request: req)
        XCTAssertEqual(result.columns, ["campaign", "buyers", "revenue"])
        // Buyers of soda or juice: 1,000 people, spread over the campaigns; noise is small at epsilon 1.
        let buyers = result.rows.compactMap { $0[1].int64 }.reduce(0, +)
        XCTAssertEqual(Double(buyers), 1000, accuracy: 60)
        XCTAssertEqual(result.budgetLeft, "9")
        XCTAssertEqual(result.epsilonCharged, "1")
        XCTAssertEqual(Set(result.inputs.keys), ["exposures", "purchases"])
        XCTAssertEqual(result.inputs["exposures"], job.receipts["exposures"]?.digest)
    }

    func testUploadByANonProviderKeyIsRefusedAndNothingIsKept() async throws {
        let host = try await host()
        let job = try await host.launch(bundle: bundle)
        let attested = try await attest(host, job: job.id, policy: try softwarePolicy(host))
        guard case .refused(let why, _) = try await upload(host, job: job.id, dataset: "exposures", file: "exposures.csv", key: retailer, worker: attested.claims) else {
            return XCTFail("the retailer must not upload the brand's dataset")
        }
        XCTAssertTrue(why.contains("not signed by brand"), why)
        let v2 = await job.session.state
        XCTAssertEqual(v2, .collectingDatasets(received: []))
        guard case .accepted = try await upload(host, job: job.id, dataset: "exposures", file: "exposures.csv", key: brand, worker: attested.claims) else {
            return XCTFail("the real provider's upload must then succeed")
        }
    }

    func testReplayedTruncatedAndTamperedUploadsAreRefused() async throws {
        let host = try await host()
        let job = try await host.launch(bundle: bundle)
        let attested = try await attest(host, job: job.id, policy: try softwarePolicy(host))
        guard case .refused(let t, _) = try await upload(host, job: job.id, dataset: "exposures", file: "exposures.csv", key: brand, worker: attested.claims,
                                                 mangle: { Array($0.dropLast(100)) }) else { return XCTFail("truncated") }
        XCTAssertTrue(t.contains("truncated") || t.contains("ends"), t)
        guard case .refused = try await upload(host, job: job.id, dataset: "exposures", file: "exposures.csv", key: brand, worker: attested.claims,
                                         mangle: { var s = $0; s[s.count / 2] ^= 1; return s }) else { return XCTFail("tampered") }
        let v3 = await job.session.state
        XCTAssertEqual(v3, .collectingDatasets(received: []), "nothing of a refused upload is kept")
        guard case .accepted = try await upload(host, job: job.id, dataset: "exposures", file: "exposures.csv", key: brand, worker: attested.claims) else {
            return XCTFail("a clean upload after refusals")
        }
        guard case .refused(let r, _) = try await upload(host, job: job.id, dataset: "exposures", file: "exposures.csv", key: brand, worker: attested.claims) else {
            return XCTFail("a replayed upload must be refused")
        }
        XCTAssertTrue(r.contains("already uploaded"), r)
    }

    func testBadCSVRejectsTheWholeUploadWithRowAndColumn() async throws {
        let host = try await host()
        let job = try await host.launch(bundle: bundle)
        let attested = try await attest(host, job: job.id, policy: try softwarePolicy(host))
        FileManager.default.createFile(atPath: dir + "/bad.csv", contents: Data("email_hash,amount,category\nab,12.5,soda\ncd,lots,juice\n".utf8))
        guard case .refused(let why, _) = try await upload(host, job: job.id, dataset: "purchases", file: "bad.csv", key: retailer, worker: attested.claims) else {
            return XCTFail("a bad number must refuse the upload")
        }
        XCTAssertTrue(why.contains("3") && why.contains("amount"), why)
    }

    func testQueryRefusals() async throws {
        let host = try await host()
        let (job, attested) = try await readyJob(host)
        guard case .refused(let notReceiver, let entry) = try await runQuery(host, job.id, "conversions", as: "retailer", key: retailer).0 else {
            return XCTFail("the retailer is not a receiver of conversions")
        }
        XCTAssertTrue(notReceiver.contains("not a declared receiver"), notReceiver)
        XCTAssertNotNil(entry, "refusals are logged, signed by the worker")
        guard case .refused(let forged, _) = try await runQuery(host, job.id, "conversions", as: "brand", key: retailer).0 else {
            return XCTFail("a request signed by the wrong key")
        }
        XCTAssertTrue(forged.contains("not signed by brand"), forged)
        let req = try PartyClient.queryRequest(job: job.id, query: "reach", receiver: "brand", key: brand)
        guard case .accepted = try await host.query(job: job.id, query: "reach", receiver: "brand", nonce: req.nonce, signature: req.signature),
              case .refused(let replay, _) = try await host.query(job: job.id, query: "reach", receiver: "brand", nonce: req.nonce, signature: req.signature) else {
            return XCTFail("a replayed request must be refused")
        }
        XCTAssertTrue(replay.contains("replayed"), replay)
        // Budget 10 at 1 per run: 9 more runs pass, the next is refused with the budget left.
        for _ in 0..<9 { guard case .accepted = try await runQuery(host, job.id, "reach", as: "brand", key: brand).0 else { return XCTFail("within budget") } }
        guard case .refused(let budget, _) = try await runQuery(host, job.id, "reach", as: "brand", key: brand).0 else { return XCTFail("over budget") }
        XCTAssertTrue(budget.contains("budget"), budget)
        _ = attested
    }

    func testResultNotSignedByTheAttestedKeyIsRefused() async throws {
        let host = try await host()
        let (job, attested) = try await readyJob(host)
        let (outcome, req) = try await runQuery(host, job.id, "reach", as: "brand", key: brand)
        guard case .accepted(let sealed) = outcome else { return XCTFail("query") }
        var impostor = attested.claims
        impostor.signingKey = Array(P384.Signing.PrivateKey().publicKey.derRepresentation)
        XCTAssertThrowsError(try PartyClient.openResult(sealed, key: brand, worker: impostor, query: "reach", request: req)) {
            XCTAssertEqual($0 as? PartyClient.ResultRefusal, .notSignedByTheAttestedWorker)
        }
        XCTAssertThrowsError(try PartyClient.openResult(sealed, key: retailer, worker: attested.claims, query: "reach", request: req)) {
            XCTAssertEqual($0 as? PartyClient.ResultRefusal, .doesNotOpen)
        }
    }

    func testWorkerCrashFailsTheJobAndTheHostKeepsServing() async throws {
        let host = try await host()
        let doomed = try await host.launch(bundle: bundle)
        kill(doomed.session.pid, SIGKILL)
        let v4 = await doomed.session.waitForExit(timeout: 10)
        XCTAssertTrue(v4)
        guard case .failed(let why) = await doomed.session.state else { return XCTFail("a killed worker must fail its job") }
        XCTAssertTrue(why.contains("SIGKILL"), why)
        await XCTAssertThrowsErrorAsync(try await host.evidence(job: doomed.id, nonce: .random()), "no evidence for a failed job")
        let (job, _) = try await readyJob(host)
        let v5 = await job.session.state
        XCTAssertEqual(v5, .ready, "other jobs are unaffected")
    }

    /// A worker with 160 MiB of memory and an upload of 2.5 million rows (about 180 MB of CSV):
    /// refused cleanly, saying what it needs, before any allocation fails; the worker lives on,
    /// kept nothing, and takes a dataset that fits.
    func testWorkerMemoryLimitRefusesAnOversizedUploadAndTheWorkerLivesOn() async throws {
        let host = try await host(environment: ["PARLEY_ENCLAVE_MEMORY_MIB": "160"])
        let row = Array("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef,spring,1\n".utf8)
        var big = Array("email_hash,campaign,region\n".utf8)
        big.reserveCapacity(row.count * 2_500_000 + 64)
        for _ in 0..<2_500_000 { big += row }
        FileManager.default.createFile(atPath: dir + "/big.csv", contents: Data(big))
        big = []
        let job = try await host.launch(bundle: bundle)
        let attested = try await attest(host, job: job.id, policy: try softwarePolicy(host))
        let outcome = try await upload(host, job: job.id, dataset: "exposures", file: "big.csv", key: brand, worker: attested.claims)
        guard case .refused(let reason, _) = outcome else { return XCTFail("an upload over the worker's memory was accepted") }
        XCTAssertTrue(reason.contains("needs") && reason.contains("--worker-memory (now 160 MiB"), reason)
        let state = await job.session.state
        XCTAssertEqual(state, .collectingDatasets(received: []), "the worker lives on")
        let small = try await upload(host, job: job.id, dataset: "exposures", file: "exposures.csv", key: brand, worker: attested.claims)
        guard case .accepted(let receipt) = small else { return XCTFail("a dataset that fits was refused: \(small)") }
        XCTAssertEqual(receipt.rows, 3000)
    }

    func testTPMQuotedJobIsTrustedAtTheTPMTier() async throws {
        let tpm = try TPMTestEnvironment(privateTPM: true)
        addTeardownBlock { tpm.shutdown() }
        try FileManager.default.createDirectory(atPath: dir + "/host", withIntermediateDirectories: true)
        let platform = try TestPlatform.bootedHost(client: try tpm.client(), directory: dir + "/platform", products: Self.products)
        let host = try await host(quotes: TPMQuoteSource(tcti: tpm.tcti, dataDirectory: dir + "/host", platformLogs: platform.logPaths))
        let job = try await host.launch(bundle: bundle)
        let module = try SealedModule(bytes: bundle)
        let policy = try AppraisalPolicy(quote: .tpm, module: module.measurement, runtime: [job.session.runtime],
                                         anchors: TrustAnchors(tpmAttestationKey: try ECVerifyingKey(pem: try FileIO.readText(dir + "/host/tpm-ak.pem")).derRepresentation),
                                         platform: try platform.reference(products: Self.products))
        let attested = try await attest(host, job: job.id, policy: policy)
        XCTAssertEqual(attested.tier, .tpm)
        XCTAssertEqual(attested.claims, job.claims)
        // The software policy refuses TPM evidence: the tier is part of the verdict.
        await XCTAssertThrowsErrorAsync(try await attest(host, job: job.id, policy: try AppraisalPolicy(quote: .software, module: module.measurement, runtime: [job.session.runtime],
                                                                                     anchors: TrustAnchors(quotingRoot: try SoftwareQuotingCA.openOrCreate(dataDirectory: dir + "/ca", now: Date()).root))))
    }

    /// The runtime measurement is of the bytes launched: replacing the file on disk after the
    /// host staged it changes neither what runs nor what is measured.
    func testSwappingTheExecutableOnDiskChangesNothing() async throws {
        let copy = dir + "/parley-enclave"
        try FileManager.default.copyItem(atPath: Self.worker, toPath: copy)
        var config = HostService.Configuration(dataDirectory: dir + "/host", workerExecutable: copy)
        config.heartbeatTimeout = 15
        try FileManager.default.createDirectory(atPath: config.dataDirectory, withIntermediateDirectories: true)
        let host = HostService(configuration: config, quotes: try SoftwareQuoteProvider(dataDirectory: config.dataDirectory))
        addTeardownBlock { await host.shutdown() }
        let first = try await host.launch(bundle: bundle)
        try FileManager.default.removeItem(atPath: copy)
        try FileManager.default.copyItem(atPath: "/bin/true", toPath: copy)
        let second = try await host.launch(bundle: bundle)
        XCTAssertEqual(second.claims.runtime, first.claims.runtime)
        XCTAssertEqual(first.claims.runtime, MeasurementDigest.of(try FileIO.read(Self.worker, maxBytes: 1 << 30)))
        let v8 = await second.session.state
        XCTAssertEqual(v8, .collectingDatasets(received: []), "the staged worker still runs")
    }
}
