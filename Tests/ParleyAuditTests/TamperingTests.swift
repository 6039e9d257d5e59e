import Foundation
import ParleyAttestation
import ParleyAudit
import ParleyCore
import ParleyLog
import XCTest
import ParleyHostLog

/// Every way of changing the log after the fact, each named at the first entry it breaks.
final class TamperingTests: AuditFixture {
    override func setUpWithError() throws {
        try super.setUpWithError()
        try cleanJob()  // entries 0-5
    }

    func testAFlippedByteInAnEntryIsNamed() throws {
        let report = try replay { bundle in
            try self.editEntries(bundle) { file in
                let record = Self.records(file)[3]
                file[record.lowerBound + 20] ^= 0x01
            }
        }
        XCTAssertEqual(assertFirstFailure(report, at: 3), .log(.entryChecksumMismatch))
        XCTAssertTrue(report.warnings.contains(.manifest("entries.log differs from its MANIFEST digest")), "\(report.warnings)")
    }

    func testARewrittenEntryWithAFixedChecksumDoesNotMatchTheSignedRoot() throws {
        let report = try replay { bundle in
            try self.editEntries(bundle) { file in
                let ranges = Self.records(file)
                var payload = Array(file[ranges[2].lowerBound + 12..<ranges[2].upperBound - 32])
                payload[payload.count - 1] ^= 0x01
                file.replaceSubrange(ranges[2], with: Self.record(index: 2, payload: payload))
            }
        }
        XCTAssertEqual(assertFirstFailure(report, at: 2), .log(.rootMismatch(checkpointSize: 3, lastMatchingSize: 2)))
    }

    func testADroppedEntryIsNamed() throws {
        let report = try replay { bundle in
            try self.editEntries(bundle) { file in file.removeSubrange(Self.records(file)[2]) }
        }
        XCTAssertEqual(assertFirstFailure(report, at: 2), .log(.entryOutOfPlace(claimedIndex: 3)))
    }

    func testReorderedEntriesAreNamed() throws {
        let report = try replay { bundle in
            try self.editEntries(bundle) { file in
                let ranges = Self.records(file)
                let third = Array(file[ranges[3]]), fourth = Array(file[ranges[4]])
                file.replaceSubrange(ranges[3].lowerBound..<ranges[4].upperBound, with: fourth + third)
            }
        }
        XCTAssertEqual(assertFirstFailure(report, at: 3), .log(.entryOutOfPlace(claimedIndex: 4)))
    }

    func testAnInsertedEntryIsNamed() throws {
        let report = try replay { bundle in
            try self.editEntries(bundle) { file in
                // A well-formed record claiming index 1, so the record check alone cannot see it.
                let stop = try LogRecord(job: "job-a", timeMillis: 1, body: .stopped).encoded
                file.insert(contentsOf: Self.record(index: 1, payload: stop), at: Self.records(file)[1].lowerBound)
            }
        }
        let reason = assertFirstFailure(report, at: 1)
        XCTAssertEqual(reason, .log(.rootMismatch(checkpointSize: 2, lastMatchingSize: 1)))
    }

    func testATruncatedEntryFileIsNamed() throws {
        var left: Int64 = 0
        let report = try replay { bundle in
            try self.editEntries(bundle) { file in
                left = Int64(Self.records(file)[5].count - 10)
                file.removeLast(10)
            }
        }
        XCTAssertEqual(assertFirstFailure(report, at: 5), .log(.truncatedEntry(bytes: left)))
    }

    func testAForkedCheckpointIsNamed() throws {
        // A second log under the same key and origin, with different entries at the same size:
        // the host showed one party one history and the auditor another.
        let forkData = dir + "/fork"
        try FileManager.default.createDirectory(atPath: forkData, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: data + "/log-key", toPath: forkData + "/log-key")
        let fork = try HostLog(dataDirectory: forkData)
        for _ in 0..<6 { try fork.recordFailed(job: "job-a", reason: "forked") }
        let forkedNote = try fork.checkpoint()
        let report = try replay { bundle in
            try FileIO.write(forkedNote, to: bundle + "/checkpoints/00000099.note")
        }
        XCTAssertEqual(assertFirstFailure(report, at: nil), .log(.forkedCheckpoints(size: 6)))
    }

    func testACheckpointSignedByAnotherKeyIsRefused() throws {
        let stranger = try HostLog(dataDirectory: dir + "/stranger")
        let note = try stranger.checkpoint()
        let report = try replay { bundle in try FileIO.write(note, to: bundle + "/checkpoints/00000099.note") }
        guard case .log(.checkpointRejected(let position, _))? = assertFirstFailure(report, at: nil) else {
            return XCTFail(report.text)
        }
        XCTAssertEqual(position, 7)
    }

    func testAPinnedKeyOtherThanTheLogsFailsEveryCheckpoint() throws {
        let stranger = try HostLog(dataDirectory: dir + "/stranger")
        let report = try replay(policy: AuditPolicy(logKey: stranger.verifierKey, origin: "parley.local/log"))
        XCTAssertEqual(assertFirstFailure(report, at: nil)?.code, "log.checkpointRejected")
        XCTAssertTrue(report.warnings.contains(.bundleLogKeyDiffers))
    }
}
