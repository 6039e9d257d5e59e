import Foundation
@testable import ParleyLog
import XCTest

/// Decodes lower-case or upper-case hex; traps on bad input (tests only).
func hex(_ text: String) -> [UInt8] {
    var out: [UInt8] = []
    var chars = Array(text.utf8)[...]
    while chars.count >= 2 {
        out.append(UInt8(String(decoding: chars.prefix(2), as: UTF8.self), radix: 16)!)
        chars = chars.dropFirst(2)
    }
    precondition(chars.isEmpty, "odd hex length")
    return out
}

func treeHash(_ hexText: String) -> TreeHash {
    try! TreeHash(bytes: hex(hexText))
}

/// A fixture file's bytes, from the test bundle's Fixtures folder.
func fixture(_ name: String) throws -> Data {
    let url = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/" + name, withExtension: nil))
    return try Data(contentsOf: url)
}

/// A fresh directory under the system temporary directory, removed when the test ends.
func makeTemporaryDirectory(_ test: XCTestCase) throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("parley-log-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
    return path
}

/// RFC 9162 section 2.1.1 MTH, written as directly as the RFC states it (the reference for tests).
func naiveRoot(_ leaves: ArraySlice<[UInt8]>) -> TreeHash {
    if leaves.isEmpty { return MerkleHashing.emptyRoot }
    if leaves.count == 1 { return MerkleHashing.leafHash(leaves[leaves.startIndex]) }
    var k = 1
    while k * 2 < leaves.count { k *= 2 }
    let split = leaves.startIndex + k
    return MerkleHashing.nodeHash(naiveRoot(leaves[..<split]), naiveRoot(leaves[split...]))
}

/// RFC 9162 section 2.1.3.1 PATH(m, D[n]), recursively.
func naivePath(_ m: Int, _ leaves: ArraySlice<[UInt8]>) -> [TreeHash] {
    if leaves.count <= 1 { return [] }
    var k = 1
    while k * 2 < leaves.count { k *= 2 }
    let split = leaves.startIndex + k
    if m < k { return naivePath(m, leaves[..<split]) + [naiveRoot(leaves[split...])] }
    return naivePath(m - k, leaves[split...]) + [naiveRoot(leaves[..<split])]
}

/// RFC 9162 section 2.1.4.1 SUBPROOF(m, D[n], b), recursively.
func naiveSubproof(_ m: Int, _ leaves: ArraySlice<[UInt8]>, _ b: Bool) -> [TreeHash] {
    if m == leaves.count { return b ? [] : [naiveRoot(leaves)] }
    var k = 1
    while k * 2 < leaves.count { k *= 2 }
    let split = leaves.startIndex + k
    if m <= k { return naiveSubproof(m, leaves[..<split], b) + [naiveRoot(leaves[split...])] }
    return naiveSubproof(m - k, leaves[split...], false) + [naiveRoot(leaves[..<split])]
}

/// Deterministic test entries of varied lengths.
func sampleEntries(_ count: Int) -> [[UInt8]] {
    (0..<count).map { i in Array("entry \(i)".utf8) + [UInt8](repeating: UInt8(i & 0xff), count: i % 5) }
}

/// A fixed signer for tests.
let testSigner = try! NoteSignerKey(name: "log.parley.example", privateKey: .init(rawRepresentation: [UInt8](repeating: 7, count: 32)))
let testVerifier = CheckpointVerifier(verifierKey: testSigner.verifierKey, origin: "log.parley.example")
