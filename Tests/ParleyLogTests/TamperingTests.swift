import Foundation
@testable import ParleyLog
import XCTest

/// Each kind of tampering is caught by `LogAuditor`, which names the first failing entry.
final class TamperingTests: XCTestCase {
    var dir = ""
    var entryFile: [UInt8] = []
    var notes: [[UInt8]] = []
    let auditor = LogAuditor(verifier: testVerifier)
    let origin = "log.parley.example"

    /// A log of 12 entries with checkpoints at 4, 8 and 12.
    override func setUpWithError() throws {
        dir = try makeTemporaryDirectory(self) + "/log"
        let log = try DurableLog(directory: dir)
        for (i, entry) in sampleEntries(12).enumerated() {
            try log.append(entry)
            if (i + 1) % 4 == 0 { _ = try log.publishCheckpoint(origin: origin, signer: testSigner) }
        }
        entryFile = Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/" + DurableLog.entryFileName)))
        notes = log.checkpointNotes
    }

    /// Byte ranges of each record in `entryFile`.
    var records: [Range<Int>] {
        var out: [Range<Int>] = []
        var offset = RecordFormat.magicLength
        while offset < entryFile.count {
            let length = Int(BigEndian.uint32(entryFile, at: offset))
            let end = offset + RecordFormat.headerLength + length + RecordFormat.trailerLength
            out.append(offset..<end)
            offset = end
        }
        return out
    }

    func audit(_ file: [UInt8], _ checkpointNotes: [[UInt8]]? = nil) throws -> AuditVerdict {
        try auditor.replay(entryFile: file, checkpointNotes: checkpointNotes ?? notes).verdict
    }

    func testUntouchedLogPasses() throws {
        XCTAssertEqual(try audit(entryFile), .passed)
        var seen: [UInt64] = []
        let report = try auditor.replay(directory: dir) { seen.append($0.index) }
        XCTAssertEqual(report.verdict, .passed)
        XCTAssertEqual(seen, Array(0..<12))
        XCTAssertEqual(report.rootHash, naiveRoot(sampleEntries(12)[...]))
    }

    func testFlippedByteInAnEntry() throws {
        var file = entryFile
        file[records[6].lowerBound + RecordFormat.headerLength + 2] ^= 0x20
        XCTAssertEqual(try audit(file), .failed(AuditFailure(entryIndex: 6, reason: .entryChecksumMismatch)))
    }

    func testDroppedEntry() throws {
        var file = entryFile
        file.removeSubrange(records[5])
        XCTAssertEqual(try audit(file), .failed(AuditFailure(entryIndex: 5, reason: .entryOutOfPlace(claimedIndex: 6))))
    }

    func testReorderedEntries() throws {
        let r = records
        let file = Array(entryFile[..<r[3].lowerBound]) + Array(entryFile[r[4]]) + Array(entryFile[r[3]]) + Array(entryFile[r[4].upperBound...])
        XCTAssertEqual(try audit(file), .failed(AuditFailure(entryIndex: 3, reason: .entryOutOfPlace(claimedIndex: 4))))
    }

    func testInsertedEntry() throws {
        let r = records
        let forged = RecordFormat.encode(index: 9, payload: Array("forged".utf8))
        let file = Array(entryFile[..<r[9].lowerBound]) + forged + Array(entryFile[r[9].lowerBound...])
        XCTAssertEqual(try audit(file), .failed(AuditFailure(entryIndex: 10, reason: .entryOutOfPlace(claimedIndex: 9))))
    }

    /// An attacker who rewrites the whole file with fresh checksums and indices gets past the
    /// framing, but not past the signed roots: the first entry no checkpoint vouches for is named.
    func testRewrittenFileWithAnInsertedEntry() throws {
        var entries = sampleEntries(12)
        entries.insert(Array("forged".utf8), at: 9)
        let file = RecordFormat.entryMagic + entries.enumerated().flatMap { RecordFormat.encode(index: UInt64($0.offset), payload: $0.element) }
        XCTAssertEqual(try audit(file), .failed(AuditFailure(entryIndex: 8, reason: .rootMismatch(checkpointSize: 12, lastMatchingSize: 8))))
    }

    func testTruncatedFile() throws {
        let inside = Array(entryFile[..<(records[10].lowerBound + 5)])
        XCTAssertEqual(try audit(inside), .failed(AuditFailure(entryIndex: 10, reason: .truncatedEntry(bytes: 5))))
        let atBoundary = Array(entryFile[..<records[10].lowerBound])
        XCTAssertEqual(try audit(atBoundary), .failed(AuditFailure(entryIndex: 10, reason: .checkpointBeyondLog(checkpointSize: 12, entryCount: 10))))
    }

    func testForkedCheckpointsOfTheSameSize() throws {
        let forkRoot = MerkleHashing.leafHash(Array("another history".utf8))
        let fork = try Checkpoint(origin: origin, size: 8, rootHash: forkRoot).signedNote(with: testSigner)
        XCTAssertEqual(try audit(entryFile, notes + [fork]), .failed(AuditFailure(entryIndex: nil, reason: .forkedCheckpoints(size: 8))))
    }

    func testOldCheckpointInconsistentWithNewOne() throws {
        // A validly signed checkpoint at size 6 that no history ending in the entries can have.
        let stale = try Checkpoint(origin: origin, size: 6, rootHash: MerkleHashing.leafHash(Array("x".utf8))).signedNote(with: testSigner)
        guard case let .failed(failure) = try audit(entryFile, [stale] + notes) else { return XCTFail("passed") }
        XCTAssertNil(failure.entryIndex)
        guard case .inconsistentCheckpoints(olderSize: 6, newerSize: 8, .olderRootMismatch) = failure.reason else {
            return XCTFail("\(failure)")
        }
    }

    func testBadlySignedCheckpointIsReported() throws {
        var note = notes[1]
        note[note.count - 10] = note[note.count - 10] == 0x41 ? 0x42 : 0x41
        guard case let .failed(failure) = try audit(entryFile, [notes[0], note, notes[2]]) else { return XCTFail("passed") }
        guard case .checkpointRejected(position: 1, _) = failure.reason else { return XCTFail("\(failure)") }
    }

    func testDamagedFileHeader() throws {
        var file = entryFile
        file[0] = 0x00
        XCTAssertEqual(try audit(file), .failed(AuditFailure(entryIndex: 0, reason: .badFileHeader)))
    }
}
