import Crypto
import Foundation
import XCTest
@testable import ParleyCore

final class SealedStreamTests: XCTestCase {
    private let key = Curve25519.KeyAgreement.PrivateKey()
    private let info = Array("parley/upload/1 job=j dataset=d".utf8)

    private func seal(_ data: [UInt8], chunkSize: Int = 64) throws -> (header: [UInt8], records: [[UInt8]]) {
        var sealer = try StreamSealer(recipient: key.publicKey, info: info, chunkSize: chunkSize)
        var records: [[UInt8]] = []
        var offset = 0
        repeat {
            let end = min(offset + chunkSize, data.count)
            records.append(try sealer.sealChunk(Array(data[offset..<end]), isFinal: end == data.count))
            offset = end
        } while offset < data.count
        return (sealer.header, records)
    }

    private func open(_ bytes: [UInt8], feedSize: Int = 7, info: [UInt8]? = nil) throws -> [UInt8] {
        var opener = StreamOpener(privateKey: key, info: info ?? self.info)
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            let end = min(i + feedSize, bytes.count)
            for chunk in try opener.feed(bytes[i..<end]) { out += chunk }
            i = end
        }
        try opener.finish()
        return out
    }

    func testRoundTripAcrossChunkAndFeedBoundaries() throws {
        for size in [0, 1, 63, 64, 65, 1000] {
            let data = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            let (header, records) = try seal(data)
            for feed in [1, 5, 4096] {
                XCTAssertEqual(try open(header + records.flatMap { $0 }, feedSize: feed), data, "size \(size) feed \(feed)")
            }
        }
    }

    func testRefusesTruncationAtAChunkBoundary() throws {
        let (header, records) = try seal(Array(repeating: 7, count: 300))
        let e = assertRefused(.verificationFailed, try self.open(header + records.dropLast().flatMap { $0 }))
        XCTAssertTrue(e?.reason.contains("truncated") ?? false)
    }

    func testRefusesTruncationInsideARecord() throws {
        let (header, records) = try seal(Array(repeating: 7, count: 100))
        let all = header + records.flatMap { $0 }
        for cut in stride(from: 0, to: all.count, by: 3) {
            XCTAssertThrowsError(try open(Array(all.prefix(cut))), "cut at \(cut)")
        }
    }

    func testRefusesReorderedAndReplayedChunks() throws {
        let (header, records) = try seal(Array(repeating: 1, count: 300))
        var swapped = records
        swapped.swapAt(0, 1)
        assertRefused(.verificationFailed, try self.open(header + swapped.flatMap { $0 }))
        let replayed = [records[0], records[0]] + records.dropFirst()
        assertRefused(.verificationFailed, try self.open(header + replayed.flatMap { $0 }))
    }

    func testRefusesBytesAfterTheFinalChunk() throws {
        let (header, records) = try seal(Array(repeating: 1, count: 100))
        let e = assertRefused(.malformed, try self.open(header + records.flatMap { $0 } + records[0]))
        XCTAssertTrue(e?.reason.contains("after its final chunk") ?? false)
    }

    func testRefusesChunksFromAnotherStream() throws {
        let a = try seal(Array(repeating: 1, count: 200))
        let b = try seal(Array(repeating: 1, count: 200))
        assertRefused(.verificationFailed, try self.open(a.header + b.records.flatMap { $0 }))
    }

    func testRefusesWrongInfoAndTamperedBytes() throws {
        let (header, records) = try seal(Array(repeating: 3, count: 100))
        let all = header + records.flatMap { $0 }
        assertRefused(.verificationFailed, try self.open(all, info: Array("other dataset".utf8)))
        for i in stride(from: 4 + 0, to: all.count, by: 5) {
            var bad = all
            bad[i] ^= 0x80
            XCTAssertThrowsError(try open(bad), "flip at \(i)")
        }
    }

    func testRefusesOversizedRecordsBeforeBuffering() throws {
        let (header, _) = try seal([1, 2, 3])
        var opener = StreamOpener(privateKey: key, info: info)
        XCTAssertTrue(try opener.feed(header).isEmpty)
        assertRefused(.limitExceeded, try opener.feed([0x7f, 0xff, 0xff, 0xff]))
        var fresh = StreamOpener(privateKey: key, info: info)
        assertRefused(.limitExceeded, try fresh.feed([0x00, 0x10, 0x00, 0x00]))
    }

    func testRefusesBadChunkSizes() {
        assertRefused(.limitExceeded, try StreamSealer(recipient: self.key.publicKey, info: self.info, chunkSize: 8))
        assertRefused(.limitExceeded, try StreamSealer(recipient: self.key.publicKey, info: self.info, chunkSize: 5 << 20))
    }

    /// A 64 MiB stream opens with memory bounded by one record: the opener's buffer never
    /// holds more than a chunk plus one feed.
    func testLargeStreamKeepsMemoryBounded() throws {
        var sealer = try StreamSealer(recipient: key.publicKey, info: info, chunkSize: 1 << 20)
        var opener = StreamOpener(privateKey: key, info: info)
        _ = try opener.feed(sealer.header)
        let chunk = [UInt8](repeating: 0xab, count: 1 << 20)
        var total = 0
        for i in 0..<64 {
            for pt in try opener.feed(try sealer.sealChunk(chunk, isFinal: i == 63)) { total += pt.count }
        }
        try opener.finish()
        XCTAssertEqual(total, 64 << 20)
        XCTAssertEqual(opener.chunkCount, 64)
    }
}
