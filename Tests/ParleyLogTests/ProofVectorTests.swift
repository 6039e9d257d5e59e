import Foundation
@testable import ParleyLog
import XCTest

/// The RFC 6962 reference tree of transparency-dev/merkle, and mutations of its proofs.
final class ProofVectorTests: XCTestCase {
    struct Vectors: Decodable {
        struct Inclusion: Decodable { let leafIndex: UInt64; let treeSize: UInt64; let proof: [String] }
        struct Consistency: Decodable { let size1: UInt64; let size2: UInt64; let proof: [String] }
        let leaves: [String]
        let roots: [String]
        let emptyRoot: String
        let inclusion: [Inclusion]
        let consistency: [Consistency]
    }

    var vectors: Vectors!
    var leaves: [[UInt8]] = []
    var tree = MerkleTree()

    override func setUpWithError() throws {
        vectors = try JSONDecoder().decode(Vectors.self, from: fixture("rfc6962-8-leaf-tree.json"))
        leaves = vectors.leaves.map(hex)
        tree = MerkleTree()
        for leaf in leaves { tree.append(entry: leaf) }
    }

    func root(_ size: UInt64) -> TreeHash { size == 0 ? MerkleHashing.emptyRoot : treeHash(vectors.roots[Int(size) - 1]) }

    func testRootsForEverySize() throws {
        XCTAssertEqual(MerkleHashing.emptyRoot, treeHash(vectors.emptyRoot))
        XCTAssertEqual(try tree.rootHash(atSize: 0), MerkleHashing.emptyRoot)
        for size in 1...8 {
            XCTAssertEqual(try tree.rootHash(atSize: UInt64(size)), root(UInt64(size)), "size \(size)")
        }
    }

    func testInclusionProofsMatchAndVerify() throws {
        for vector in vectors.inclusion {
            let expected = vector.proof.map(treeHash)
            let proof = try tree.inclusionProof(leafIndex: vector.leafIndex, treeSize: vector.treeSize)
            XCTAssertEqual(proof.path, expected, "leaf \(vector.leafIndex) of \(vector.treeSize)")
            let leafHash = MerkleHashing.leafHash(leaves[Int(vector.leafIndex)])
            XCTAssertEqual(proof.verify(leafHash: leafHash, rootHash: root(vector.treeSize)), .valid)
        }
    }

    func testConsistencyProofsMatchAndVerify() throws {
        for vector in vectors.consistency {
            let expected = vector.proof.map(treeHash)
            let proof = try tree.consistencyProof(oldSize: vector.size1, newSize: vector.size2)
            XCTAssertEqual(proof.path, expected, "\(vector.size1) -> \(vector.size2)")
            XCTAssertEqual(proof.verify(oldRoot: root(vector.size1), newRoot: root(vector.size2)), .valid)
        }
    }

    /// Every mutation of `corruptInclusionProof` in verify_test.go must fail.
    func testMutatedInclusionProofsFail() throws {
        let someHash = treeHash("abacaba000000000000000000000000000000000000000000060061e00123456")
        for vector in vectors.inclusion where !vector.proof.isEmpty {
            let path = vector.proof.map(treeHash)
            let i = vector.leafIndex, n = vector.treeSize, rootHash = root(n)
            let leafHash = MerkleHashing.leafHash(leaves[Int(i)])
            var probes: [(String, InclusionProof, TreeHash, TreeHash)] = [
                ("index - 1", .init(leafIndex: i &- 1, treeSize: n, path: path), leafHash, rootHash),
                ("index + 1", .init(leafIndex: i + 1, treeSize: n, path: path), leafHash, rootHash),
                ("index ^ 2", .init(leafIndex: i ^ 2, treeSize: n, path: path), leafHash, rootHash),
                ("size * 2", .init(leafIndex: i, treeSize: n * 2, path: path), leafHash, rootHash),
                ("size / 2", .init(leafIndex: i, treeSize: n / 2, path: path), leafHash, rootHash),
                ("wrong leaf", .init(leafIndex: i, treeSize: n, path: path), someHash, rootHash),
                ("empty root", .init(leafIndex: i, treeSize: n, path: path), leafHash, MerkleHashing.emptyRoot),
                ("random root", .init(leafIndex: i, treeSize: n, path: path), leafHash, someHash),
                ("trailing root", .init(leafIndex: i, treeSize: n, path: path + [rootHash]), leafHash, rootHash),
                ("preceding root", .init(leafIndex: i, treeSize: n, path: [rootHash] + path), leafHash, rootHash),
                ("removed component", .init(leafIndex: i, treeSize: n, path: Array(path.dropLast())), leafHash, rootHash),
            ]
            if path.count > 1 {
                probes.append(("inserted component", .init(leafIndex: i, treeSize: n, path: [path[0], someHash] + path.dropFirst()), leafHash, rootHash))
            }
            for position in path.indices {
                var flipped = path
                var bytes = flipped[position].bytes
                bytes[0] ^= 8
                flipped[position] = try TreeHash(bytes: bytes)
                probes.append(("flipped proof[\(position)]", .init(leafIndex: i, treeSize: n, path: flipped), leafHash, rootHash))
            }
            for (name, proof, leaf, expectedRoot) in probes {
                XCTAssertNotEqual(proof.verify(leafHash: leaf, rootHash: expectedRoot), .valid, "\(name) for leaf \(i) of \(n) verified")
            }
        }
    }

    /// Every mutation of `corruptConsistencyProof` in verify_test.go must fail.
    func testMutatedConsistencyProofsFail() throws {
        for vector in vectors.consistency where !vector.proof.isEmpty {
            let path = vector.proof.map(treeHash)
            let m = vector.size1, n = vector.size2, root1 = root(m), root2 = root(n)
            var probes: [(String, ConsistencyProof, TreeHash, TreeHash)] = [
                ("size1 - 1", .init(oldSize: m - 1, newSize: n, path: path), root1, root2),
                ("size1 + 1", .init(oldSize: m + 1, newSize: n, path: path), root1, root2),
                ("size1 ^ 2", .init(oldSize: m ^ 2, newSize: n, path: path), root1, root2),
                ("size2 * 2", .init(oldSize: m, newSize: n * 2, path: path), root1, root2),
                ("size2 / 2", .init(oldSize: m, newSize: n / 2, path: path), root1, root2),
                ("swapped roots", .init(oldSize: m, newSize: n, path: path), root2, root1),
                ("empty proof", .init(oldSize: m, newSize: n, path: []), root1, root2),
                ("trailing root1", .init(oldSize: m, newSize: n, path: path + [root1]), root1, root2),
                ("trailing root2", .init(oldSize: m, newSize: n, path: path + [root2]), root1, root2),
                ("preceding root1", .init(oldSize: m, newSize: n, path: [root1] + path), root1, root2),
                ("preceding root2", .init(oldSize: m, newSize: n, path: [root2] + path), root1, root2),
                ("preceding proof[0]", .init(oldSize: m, newSize: n, path: [path[0]] + path), root1, root2),
                ("truncated proof", .init(oldSize: m, newSize: n, path: Array(path.dropLast())), root1, root2),
            ]
            for position in path.indices {
                var flipped = path
                var bytes = flipped[position].bytes
                bytes[0] ^= 16
                flipped[position] = try TreeHash(bytes: bytes)
                probes.append(("flipped proof[\(position)]", .init(oldSize: m, newSize: n, path: flipped), root1, root2))
            }
            for (name, proof, old, new) in probes {
                XCTAssertNotEqual(proof.verify(oldRoot: old, newRoot: new), .valid, "\(name) for \(m) -> \(n) verified")
            }
        }
    }

    func testEdgeCasesOfConsistency() throws {
        let a = root(3), b = root(5)
        XCTAssertEqual(ConsistencyProof(oldSize: 0, newSize: 5, path: []).verify(oldRoot: MerkleHashing.emptyRoot, newRoot: b), .valid)
        XCTAssertEqual(ConsistencyProof(oldSize: 0, newSize: 5, path: []).verify(oldRoot: a, newRoot: b), .invalid(.emptyTreeRootMismatch))
        XCTAssertEqual(ConsistencyProof(oldSize: 5, newSize: 5, path: []).verify(oldRoot: b, newRoot: b), .valid)
        XCTAssertEqual(ConsistencyProof(oldSize: 5, newSize: 5, path: []).verify(oldRoot: a, newRoot: b), .invalid(.rootsDiffer))
        XCTAssertEqual(ConsistencyProof(oldSize: 5, newSize: 5, path: [a]).verify(oldRoot: b, newRoot: b), .invalid(.proofNotEmpty))
        XCTAssertEqual(ConsistencyProof(oldSize: 5, newSize: 3, path: []).verify(oldRoot: b, newRoot: a), .invalid(.sizesDecreasing(older: 5, newer: 3)))
        XCTAssertEqual(ConsistencyProof(oldSize: 1, newSize: 2, path: []).verify(oldRoot: root(1), newRoot: root(2)), .invalid(.wrongPathLength))
        XCTAssertEqual(InclusionProof(leafIndex: 0, treeSize: 0, path: []).verify(leafHash: a, rootHash: a),
                       .invalid(.indexOutOfRange(index: 0, treeSize: 0)))
        XCTAssertThrowsError(try InclusionProof(leafIndex: 0, treeSize: 8, rawPath: [[1, 2, 3]]))
        XCTAssertThrowsError(try tree.inclusionProof(leafIndex: 8, treeSize: 8))
        XCTAssertThrowsError(try tree.consistencyProof(oldSize: 3, newSize: 9))
    }

    /// The upstream testdata files, decoded as-is: `wantErr` must match our verdict.
    func testUpstreamTestdataFiles() throws {
        struct InclusionFile: Decodable { let leafIdx: UInt64; let treeSize: UInt64; let root: Data; let leafHash: Data; let proof: [Data]; let desc: String; let wantErr: Bool }
        struct ConsistencyFile: Decodable { let size1: UInt64; let size2: UInt64; let root1: Data; let root2: Data; let proof: [Data]; let desc: String; let wantErr: Bool }
        let names = ["happy-path", "wrong-leaf", "treeSize-div-2"]
        for name in names {
            let file = try JSONDecoder().decode(InclusionFile.self, from: fixture("transparency-dev-merkle-testdata/inclusion-1-\(name).json"))
            let accepted: Bool
            if let proof = try? InclusionProof(leafIndex: file.leafIdx, treeSize: file.treeSize, rawPath: file.proof.map { Array($0) }),
               let leaf = try? TreeHash(bytes: Array(file.leafHash)), let root = try? TreeHash(bytes: Array(file.root)) {
                accepted = proof.verify(leafHash: leaf, rootHash: root) == .valid
            } else {
                accepted = false
            }
            XCTAssertEqual(accepted, !file.wantErr, "inclusion \(file.desc)")
        }
        for name in ["happy-path", "truncated-proof", "swapped-roots", "size1-+-1"] {
            let file = try JSONDecoder().decode(ConsistencyFile.self, from: fixture("transparency-dev-merkle-testdata/consistency-1-\(name).json"))
            let proof = try ConsistencyProof(oldSize: file.size1, newSize: file.size2, rawPath: file.proof.map { Array($0) })
            let verdict = proof.verify(oldRoot: try TreeHash(bytes: Array(file.root1)), newRoot: try TreeHash(bytes: Array(file.root2)))
            XCTAssertEqual(verdict == .valid, !file.wantErr, "consistency \(file.desc)")
        }
    }
}
