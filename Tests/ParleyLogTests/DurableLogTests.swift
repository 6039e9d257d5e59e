#if canImport(Glibc)
import Glibc
#endif
import Foundation
@testable import ParleyLog
import XCTest

/// The writer: durability, recovery of a torn tail, refusal after an fsync error.
final class DurableLogTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = try makeTemporaryDirectory(self) + "/log"
    }

    var entryPath: String { dir + "/" + DurableLog.entryFileName }

    func testAppendReopenAndReadBack() throws {
        let entries = sampleEntries(20)
        do {
            let log = try DurableLog(directory: dir)
            XCTAssertTrue(log.openReport.created)
            for (i, entry) in entries.enumerated() {
                XCTAssertEqual(try log.append(entry), LogEntry(index: UInt64(i), bytes: entry))
            }
            XCTAssertEqual(log.rootHash, naiveRoot(entries[...]))
            XCTAssertThrowsError(try DurableLog(directory: dir)) { error in
                XCTAssertEqual((error as? LogError)?.code, .ioFailure, "a second writer must be locked out")
            }
        }
        let log = try DurableLog(directory: dir)
        XCTAssertEqual(log.openReport, .init(created: false, entryCount: 20, checkpointCount: 0, entryBytesCut: 0, checkpointBytesCut: 0))
        XCTAssertEqual(log.rootHash, naiveRoot(entries[...]))
        for i in [0, 7, 19] { XCTAssertEqual(try log.entry(at: UInt64(i)).bytes, entries[i]) }
        XCTAssertThrowsError(try log.entry(at: 20))
        let batch = try log.append(contentsOf: [[1], [2], [3]])
        XCTAssertEqual(batch.map(\.index), [20, 21, 22])
        let proof = try log.merkleTree.inclusionProof(leafIndex: 21, treeSize: 23)
        XCTAssertEqual(proof.verify(leafHash: MerkleHashing.leafHash([2] as [UInt8]), rootHash: log.rootHash), .valid)
    }

    func testTornTailIsCutAndReported() throws {
        do {
            let log = try DurableLog(directory: dir)
            for entry in sampleEntries(5) { try log.append(entry) }
        }
        let intact = try Data(contentsOf: URL(fileURLWithPath: entryPath))
        // Half of a sixth record, as a crash in the middle of its write would leave.
        let torn = RecordFormat.encode(index: 5, payload: Array(repeating: 9, count: 100)).prefix(70)
        try (intact + torn).write(to: URL(fileURLWithPath: entryPath))
        let log = try DurableLog(directory: dir)
        XCTAssertEqual(log.openReport.entryCount, 5)
        XCTAssertEqual(log.openReport.entryBytesCut, 70)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: entryPath)), intact)
        XCTAssertEqual(try log.append([1]).index, 5)
    }

    func testWholeRecordWithBadChecksumAtTheEndIsATornTail() throws {
        do {
            let log = try DurableLog(directory: dir)
            for entry in sampleEntries(3) { try log.append(entry) }
        }
        var bytes = try Data(contentsOf: URL(fileURLWithPath: entryPath))
        bytes[bytes.count - 1] ^= 0xff
        try bytes.write(to: URL(fileURLWithPath: entryPath))
        let log = try DurableLog(directory: dir)
        XCTAssertEqual(log.openReport.entryCount, 2)
        XCTAssertEqual(log.openReport.entryBytesCut, Int64(RecordFormat.encode(index: 2, payload: sampleEntries(3)[2]).count))
    }

    func testDamageBeforeTheEndRefusesToOpen() throws {
        do {
            let log = try DurableLog(directory: dir)
            for entry in sampleEntries(3) { try log.append(entry) }
        }
        var bytes = try Data(contentsOf: URL(fileURLWithPath: entryPath))
        bytes[RecordFormat.magicLength + RecordFormat.headerLength + 1] ^= 0x01
        try bytes.write(to: URL(fileURLWithPath: entryPath))
        XCTAssertThrowsError(try DurableLog(directory: dir)) { error in
            XCTAssertEqual((error as? LogError)?.code, .corruptStorage)
            XCTAssertTrue((error as? LogError)?.reason.contains("record 0") ?? false, "\(error)")
        }
    }

    func testCuttingSignedEntriesIsRefused() throws {
        do {
            let log = try DurableLog(directory: dir)
            for entry in sampleEntries(4) { try log.append(entry) }
            _ = try log.publishCheckpoint(origin: "log.parley.example", signer: testSigner)
        }
        // The last record loses its checksum: alone it would look like a torn tail, but a stored
        // checkpoint covers it, so it was acknowledged and must not be silently dropped.
        var bytes = try Data(contentsOf: URL(fileURLWithPath: entryPath))
        bytes.removeLast(5)
        try bytes.write(to: URL(fileURLWithPath: entryPath))
        XCTAssertThrowsError(try DurableLog(directory: dir)) { error in
            XCTAssertEqual((error as? LogError)?.code, .corruptStorage)
        }
    }

    func testFsyncFailureStopsTheWriter() throws {
        let failing = FailSwitch()
        let log = try DurableLog(directory: dir, sync: { fd in failing.on ? -1 : fsync(fd) })
        try log.append([1])
        failing.on = true
        XCTAssertThrowsError(try log.append([2])) { error in
            XCTAssertEqual((error as? LogError)?.code, .ioFailure)
        }
        failing.on = false
        XCTAssertThrowsError(try log.append([3])) { error in
            XCTAssertEqual((error as? LogError)?.code, .writerStopped, "\(error)")
        }
        XCTAssertThrowsError(try log.publishCheckpoint(origin: "log.parley.example", signer: testSigner)) { error in
            XCTAssertEqual((error as? LogError)?.code, .writerStopped)
        }
        XCTAssertNotNil(log.stoppedBecause)
        XCTAssertEqual(log.size, 1, "the failed entry was not acknowledged")
    }

    func testOversizeEntryIsRefusedWithoutStopping() throws {
        let log = try DurableLog(directory: dir)
        XCTAssertThrowsError(try log.append([UInt8](repeating: 0, count: LogEntry.maxByteCount + 1))) { error in
            XCTAssertEqual((error as? LogError)?.code, .oversize)
        }
        XCTAssertEqual(try log.append([1]).index, 0)
    }

    func testCheckpointsArePublishedStoredAndReplayed() throws {
        do {
            let log = try DurableLog(directory: dir)
            for entry in sampleEntries(5) { try log.append(entry) }
            let first = try log.publishCheckpoint(origin: "log.parley.example", signer: testSigner)
            for entry in sampleEntries(9).suffix(4) { try log.append(entry) }
            let second = try log.publishCheckpoint(origin: "log.parley.example", signer: testSigner)
            guard case let .verified(old) = testVerifier.verify(first.note), case let .verified(new) = testVerifier.verify(second.note) else {
                return XCTFail("published checkpoints do not verify")
            }
            let proof = try log.merkleTree.consistencyProof(oldSize: old.checkpoint.size, newSize: new.checkpoint.size)
            XCTAssertEqual(proof.verify(oldRoot: old.checkpoint.rootHash, newRoot: new.checkpoint.rootHash), .valid)
            XCTAssertNotEqual(proof.verify(oldRoot: new.checkpoint.rootHash, newRoot: old.checkpoint.rootHash), .valid)
        }
        let log = try DurableLog(directory: dir)
        XCTAssertEqual(log.openReport.checkpointCount, 2)
        let report = try LogAuditor(verifier: testVerifier).replay(directory: dir)
        XCTAssertEqual(report.verdict, .passed)
        XCTAssertEqual(report.verifiedCheckpoints.map(\.size), [5, 9])
    }
}

/// A flag the injected fsync reads.
final class FailSwitch: @unchecked Sendable {
    var on = false
}
