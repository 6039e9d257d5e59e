@testable import ParleyLog
import XCTest

/// The cached tree against a direct transcription of RFC 9162's recursive definitions.
final class TreeHashTests: XCTestCase {
    func testRootsForSizesZeroToSixtyFourMatchTheNaiveDefinition() throws {
        let entries = sampleEntries(64)
        var tree = MerkleTree()
        XCTAssertEqual(tree.rootHash, naiveRoot(entries[0..<0]))
        for (i, entry) in entries.enumerated() {
            tree.append(entry: entry)
            XCTAssertEqual(tree.rootHash, naiveRoot(entries[0...i]), "size \(i + 1)")
        }
        for size in 0...64 {
            XCTAssertEqual(try tree.rootHash(atSize: UInt64(size)), naiveRoot(entries[0..<size]), "past size \(size)")
        }
    }

    func testEveryProofUpToSizeThirtyThreeMatchesTheNaiveDefinitionAndVerifies() throws {
        let entries = sampleEntries(33)
        let tree = MerkleTree(leafHashes: entries.map { MerkleHashing.leafHash($0) })
        for n in 1...33 {
            let rootHash = try tree.rootHash(atSize: UInt64(n))
            for m in 0..<n {
                let proof = try tree.inclusionProof(leafIndex: UInt64(m), treeSize: UInt64(n))
                XCTAssertEqual(proof.path, naivePath(m, entries[0..<n]), "inclusion \(m) of \(n)")
                XCTAssertEqual(proof.verify(leafHash: MerkleHashing.leafHash(entries[m]), rootHash: rootHash), .valid)
            }
            for m in 1...n {
                let proof = try tree.consistencyProof(oldSize: UInt64(m), newSize: UInt64(n))
                XCTAssertEqual(proof.path, m == n ? [] : naiveSubproof(m, entries[0..<n], true), "consistency \(m) -> \(n)")
                XCTAssertEqual(proof.verify(oldRoot: try tree.rootHash(atSize: UInt64(m)), newRoot: rootHash), .valid,
                               "consistency \(m) -> \(n)")
            }
        }
    }

    func testLeafAndNodeHashesUseTheirPrefixes() throws {
        // SHA-256(0x00) and SHA-256(0x01 || 32 zero bytes || 32 zero bytes), computed independently.
        XCTAssertEqual(MerkleHashing.leafHash([UInt8]()).hex, "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d")
        XCTAssertThrowsError(try TreeHash(bytes: [0, 1]))
    }
}
