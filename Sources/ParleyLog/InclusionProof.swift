/// An RFC 9162 section 2.1.3 inclusion proof: the audit path from one leaf to a tree root.
public struct InclusionProof: Hashable, Sendable {
    /// The most hashes a proof may carry (a tree of 2^64 leaves needs 64).
    public static let maxPathLength = 64

    /// Index of the leaf, from 0.
    public let leafIndex: UInt64
    /// Size of the tree the proof is for.
    public let treeSize: UInt64
    /// Sibling hashes from the leaf upward.
    public let path: [TreeHash]

    /// Wraps a proof received from elsewhere; nothing is checked until `verify`.
    public init(leafIndex: UInt64, treeSize: UInt64, path: [TreeHash]) {
        self.leafIndex = leafIndex
        self.treeSize = treeSize
        self.path = path
    }

    /// Wraps a proof given as raw byte strings.
    /// - Throws: `LogError` `.malformedHash` if an element is not 32 bytes, `.oversize` if the
    ///   path is longer than `maxPathLength`.
    public init(leafIndex: UInt64, treeSize: UInt64, rawPath: [[UInt8]]) throws(LogError) {
        guard rawPath.count <= Self.maxPathLength else {
            throw LogError(.oversize, "an inclusion proof has at most \(Self.maxPathLength) hashes, got \(rawPath.count)")
        }
        var path: [TreeHash] = []
        for element in rawPath { path.append(try TreeHash(bytes: element)) }
        self.init(leafIndex: leafIndex, treeSize: treeSize, path: path)
    }

    /// Checks that the leaf with hash `leafHash` is at `leafIndex` in the tree of `treeSize`
    /// leaves whose root is `rootHash` (RFC 9162 section 2.1.3.2).
    public func verify(leafHash: TreeHash, rootHash: TreeHash) -> ProofVerdict {
        guard leafIndex < treeSize else {
            return .invalid(.indexOutOfRange(index: leafIndex, treeSize: treeSize))
        }
        guard path.count <= Self.maxPathLength else { return .invalid(.wrongPathLength) }
        var fn = leafIndex
        var sn = treeSize - 1
        var r = leafHash
        for p in path {
            if sn == 0 { return .invalid(.wrongPathLength) }
            if fn & 1 == 1 || fn == sn {
                r = MerkleHashing.nodeHash(p, r)
                while fn & 1 == 0 && fn != 0 {
                    fn >>= 1
                    sn >>= 1
                }
            } else {
                r = MerkleHashing.nodeHash(r, p)
            }
            fn >>= 1
            sn >>= 1
        }
        guard sn == 0 else { return .invalid(.wrongPathLength) }
        guard r == rootHash else { return .invalid(.rootMismatch(computed: r)) }
        return .valid
    }
}

extension MerkleTree {
    /// The inclusion proof of leaf `leafIndex` in the tree as it was at `treeSize` leaves
    /// (RFC 9162 section 2.1.3.1). O(log n) cached lookups and hashes.
    /// - Throws: `LogError` `.outOfRange` unless `leafIndex < treeSize <= size`.
    public func inclusionProof(leafIndex: UInt64, treeSize: UInt64) throws(LogError) -> InclusionProof {
        guard treeSize <= size else {
            throw LogError(.outOfRange, "tree size \(treeSize) is larger than the tree (\(size))")
        }
        guard leafIndex < treeSize else {
            throw LogError(.outOfRange, "leaf \(leafIndex) is not in a tree of \(treeSize)")
        }
        // PATH(m, D[start:end]), unrolled from the root down; hashes are collected top-down and
        // reversed, because the proof lists them leaf-first.
        var topDown: [TreeHash] = []
        var start: UInt64 = 0
        var end = treeSize
        let m = leafIndex
        while end - start > 1 {
            let k = MerkleHashing.splitPoint(end - start)
            if m < start + k {
                topDown.append(rangeHash(start + k, end))
                end = start + k
            } else {
                topDown.append(rangeHash(start, start + k))
                start += k
            }
        }
        return InclusionProof(leafIndex: leafIndex, treeSize: treeSize, path: topDown.reversed())
    }
}
