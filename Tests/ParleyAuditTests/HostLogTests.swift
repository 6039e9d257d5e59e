import Foundation
import ParleyAttestation
import ParleyAudit
import ParleyCore
import ParleyLog
import XCTest
import ParleyHostLog

/// The writer and its read side: entries, checkpoints, proofs, the key file, export.
final class HostLogTests: AuditFixture {
    func testEveryRecordIsFollowedByASignedCheckpointCoveringIt() throws {
        XCTAssertEqual(log.size, 0)
        let verifier = CheckpointVerifier(verifierKey: log.verifierKey, origin: "parley.local/log")
        guard case .verified(let empty) = verifier.verify(try log.checkpoint()) else { return XCTFail("the empty log's checkpoint") }
        XCTAssertEqual(empty.checkpoint.size, 0)
        try cleanJob()
        XCTAssertEqual(log.size, 6)
        guard case .verified(let latest) = verifier.verify(try log.checkpoint()) else { return XCTFail("the latest checkpoint") }
        XCTAssertEqual(latest.checkpoint.size, 6)

        let entries = try log.entries(from: 0, count: 10)
        XCTAssertEqual(entries.count, 6)
        XCTAssertEqual(try LogRecord(bytes: entries[5]).kind, "stopped")
        guard case .launch(let launch) = try LogRecord(bytes: entries[0]).body else { return XCTFail("entry 0 is the launch") }
        XCTAssertEqual(launch.claims.job, "job-a")
        XCTAssertEqual(launch.moduleBundle, module.bytes)
        XCTAssertEqual(try log.entries(from: 4, count: 5000).count, 2)
        XCTAssertEqual(try log.entries(from: 6, count: 1).count, 0)
        XCTAssertThrowsError(try log.entries(from: 7, count: 1))

        let path = try log.inclusionProof(index: 3, size: 6)
        let proof = try InclusionProof(leafIndex: 3, treeSize: 6, rawPath: path)
        XCTAssertEqual(proof.verify(leafHash: MerkleHashing.leafHash(entries[3]), rootHash: latest.checkpoint.rootHash), .valid)
        let consistency = try ConsistencyProof(oldSize: 0, newSize: 6, rawPath: try log.consistencyProof(from: 0, to: 6))
        XCTAssertEqual(consistency.verify(oldRoot: empty.checkpoint.rootHash, newRoot: latest.checkpoint.rootHash), .valid)
        XCTAssertThrowsError(try log.inclusionProof(index: 6, size: 6))
    }

    func testEntriesAreDeterministicCBORWithTheDocumentedFields() throws {
        try log.recordUploadRefused(job: "job-a", dataset: "exposures", code: "invalid-csv")
        try log.recordFailed(job: "job-a", reason: "the worker missed its heartbeats")
        try log.recordFailed(job: "job-a", reason: String(repeating: "x", count: 10_000))
        // An upload refusal is logged by its code alone: free text (which could quote data) is refused.
        XCTAssertThrowsError(try log.recordUploadRefused(job: "job-a", dataset: "exposures", code: "row 2: 'alice@example.com' is not an int"))
        let entries = try log.entries(from: 0, count: 3)
        let refused = try CBORDecoder().decode(entries[0]).textKeyedMap("entry")
        XCTAssertEqual(Set(refused.keys), ["format", "kind", "job", "time", "dataset", "code"])
        XCTAssertEqual(try refused.required("format", in: "").textValue(""), "parley/log-entry/1")
        XCTAssertEqual(try LogRecord(bytes: entries[0]).body, .uploadRefused(dataset: "exposures", code: "invalid-csv"))
        let failed = try CBORDecoder().decode(entries[2]).textKeyedMap("entry")
        XCTAssertEqual(try failed.required("reason", in: "").textValue("").count, LogRecord.maxReasonLength, "long reasons are cut")
        XCTAssertEqual(try LogRecord(bytes: entries[1]).body, .failed(reason: "the worker missed its heartbeats"))
        XCTAssertEqual(CBOREncoder.encode(try CBORDecoder().decode(entries[1])), entries[1])
        XCTAssertThrowsError(try log.recordStopped(job: "not a job id!"))
    }

    func testTheKeyIsCreatedOnceWithMode0600AndSurvivesARestart() throws {
        try cleanJob()
        let key = log.verifierKey
        var info = stat()
        XCTAssertEqual(stat(data + "/log-key", &info), 0)
        XCTAssertEqual(info.st_mode & 0o777, 0o600)
        XCTAssertEqual(try NoteVerifierKey(parsing: try FileIO.readText(data + "/log-key.pub").trimmingCharacters(in: .newlines)), key)
        log = nil
        log = try HostLog(dataDirectory: data)
        XCTAssertEqual(log.verifierKey, key)
        XCTAssertEqual(log.size, 6)
        try log.recordStopped(job: "job-a")
        XCTAssertEqual(log.size, 7)

        log = nil
        chmod(data + "/log-key", 0o644)
        XCTAssertThrowsError(try HostLog(dataDirectory: data)) { error in
            XCTAssertEqual((error as? AuditError)?.code, .badKey)
        }
        chmod(data + "/log-key", 0o600)
        XCTAssertThrowsError(try HostLog(dataDirectory: data, origin: "other.example/log")) { error in
            XCTAssertEqual((error as? AuditError)?.code, .badKey)
        }
    }

    func testExportWritesASelfContainedBundleWithAManifest() throws {
        try cleanJob()
        let bundleDir = dir + "/bundle"
        let bundle = try AuditBundle.export(from: log, to: bundleDir)
        XCTAssertEqual(bundle.checkpointNotes.count, 7, "one for the empty log, one per entry")
        XCTAssertEqual(bundle.logKey, log.verifierKey)
        XCTAssertNotNil(bundle.quotingRoot)
        XCTAssertEqual(bundle.manifestProblems, [])
        let manifest = try FileIO.readText(bundleDir + "/MANIFEST")
        XCTAssertTrue(manifest.contains("  entries.log\n"), manifest)
        XCTAssertTrue(manifest.contains("  checkpoints/00000006.note\n"), manifest)
        XCTAssertTrue(manifest.contains("  quoting-root.pem\n"), manifest)
        XCTAssertTrue(manifest.contains("  log-key.pub\n"), manifest)
        XCTAssertThrowsError(try AuditBundle.export(from: log, to: bundleDir), "never into a non-empty folder")

        // Offline export needs the writer gone (it holds the log's lock).
        XCTAssertThrowsError(try AuditBundle.export(dataDirectory: data, to: dir + "/offline")) { error in
            XCTAssertTrue((error as? AuditError)?.reason.contains("running host") == true, "\(error)")
        }
        log = nil
        let offline = try AuditBundle.export(dataDirectory: data, to: dir + "/offline")
        XCTAssertEqual(offline.entryFile, bundle.entryFile)
        XCTAssertEqual(offline.checkpointNotes, bundle.checkpointNotes)

        try FileIO.write(Array("changed".utf8), to: bundleDir + "/log-key.pub")
        try FileIO.write([1, 2, 3], to: bundleDir + "/extra")
        let reopened = try AuditBundle.open(bundleDir)
        XCTAssertTrue(reopened.manifestProblems.contains("log-key.pub differs from its MANIFEST digest"), "\(reopened.manifestProblems)")
        XCTAssertTrue(reopened.manifestProblems.contains("log-key.pub is not a log verifier key"), "\(reopened.manifestProblems)")
        XCTAssertThrowsError(try AuditBundle.open(dir + "/nothing-here"))
    }
}
