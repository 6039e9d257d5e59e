import XCTest
@testable import ParleyEngine

/// ByteArena (the dictionaries' realloc-grown arena): contents survive every growth, including
/// past the 32 MiB where a block is mapped on its own and realloc moves pages, and a copy is
/// independent of the original (copy-on-write).
final class ByteArenaTests: XCTestCase {
    func bytes(_ arena: ByteArena) -> [UInt8] { arena.withUnsafeBufferPointer { Array($0) } }

    func testAppendsSurviveEveryGrowthPastAMappedBlock() {
        var arena = ByteArena()
        var expected: [UInt8] = []
        var piece = [UInt8](repeating: 0, count: 1 << 20)
        for round in 0..<40 {  // 40 MiB: grows through heap blocks into a mapped one
            for i in piece.indices { piece[i] = UInt8(truncatingIfNeeded: i &* 31 &+ round) }
            piece.withUnsafeBufferPointer { arena.append(contentsOf: $0) }
            expected += piece
            XCTAssertGreaterThanOrEqual(arena.capacity, arena.count)
        }
        XCTAssertEqual(arena.count, 40 << 20)
        XCTAssertEqual(bytes(arena), expected)
    }

    func testACopyIsIndependentOfTheOriginal() {
        var a = ByteArena()
        [UInt8]("abc".utf8).withUnsafeBufferPointer { a.append(contentsOf: $0) }
        var b = a
        [UInt8]("def".utf8).withUnsafeBufferPointer { b.append(contentsOf: $0) }
        a.reserveCapacity(1 << 16)
        XCTAssertEqual(bytes(a), Array("abc".utf8))
        XCTAssertEqual(bytes(b), Array("abcdef".utf8))
        XCTAssertGreaterThanOrEqual(a.capacity, 1 << 16)
    }

    func testReserveKeepsContentsAndEmptyAppendsNothing() {
        var a = ByteArena()
        XCTAssertEqual(bytes(a), [])
        [UInt8]().withUnsafeBufferPointer { a.append(contentsOf: $0) }
        XCTAssertEqual(a.count, 0)
        [UInt8]("xyz".utf8).withUnsafeBufferPointer { a.append(contentsOf: $0) }
        a.reserveCapacity(100 << 20)
        XCTAssertEqual(a.capacity, 100 << 20)
        XCTAssertEqual(bytes(a), Array("xyz".utf8))
    }
}
