/// An in-memory RFC 9162 Merkle tree over leaf hashes, with every complete subtree cached.
///
/// `levels[0]` holds the leaf hashes; `levels[h][i]` is the hash of the complete subtree over
/// leaves `i * 2^h ..< (i + 1) * 2^h`. An append adds one leaf and completes at most one node per
/// level (amortised two hashes), so appends are O(1) amortised. The hash of any prefix, and of
/// every subtree a proof needs, is then assembled from at most log2(n) cached nodes, which makes
/// roots and proofs O(log n) hash lookups and O(log n) new hashes. Memory is about 2n hashes
/// (64 bytes per leaf; 6.4 MB for 100,000 entries).
public struct MerkleTree: Sendable {
    private var levels: [[TreeHash]] = [[]]

    /// An empty tree.
    public init() {}

    /// A tree over the given leaf hashes, in order.
    public init(leafHashes: some Sequence<TreeHash>) {
        for leaf in leafHashes { append(leafHash: leaf) }
    }

    /// The number of leaves.
    public var size: UInt64 { UInt64(levels[0].count) }

    /// Adds one leaf (already hashed with `MerkleHashing.leafHash`).
    public mutating func append(leafHash: TreeHash) {
        levels[0].append(leafHash)
        var height = 0
        while levels[height].count % 2 == 0 {
            let count = levels[height].count
            let parent = MerkleHashing.nodeHash(levels[height][count - 2], levels[height][count - 1])
            if levels.count == height + 1 { levels.append([]) }
            levels[height + 1].append(parent)
            height += 1
        }
    }

    /// Hashes one entry and adds it as a leaf.
    /// - Returns: the leaf hash.
    @discardableResult
    public mutating func append(entry: [UInt8]) -> TreeHash {
        let leaf = MerkleHashing.leafHash(entry)
        append(leafHash: leaf)
        return leaf
    }

    /// The leaf hash at `index`.
    /// - Throws: `LogError` `.outOfRange` if there is no such leaf.
    public func leafHash(at index: UInt64) throws(LogError) -> TreeHash {
        guard index < size else { throw LogError(.outOfRange, "leaf \(index) does not exist in a tree of \(size)") }
        return levels[0][Int(index)]
    }

    /// The root of the tree as it was at `treeSize` leaves (MTH(D[0:treeSize])).
    /// - Throws: `LogError` `.outOfRange` if `treeSize` is larger than the tree.
    public func rootHash(atSize treeSize: UInt64) throws(LogError) -> TreeHash {
        guard treeSize <= size else {
            throw LogError(.outOfRange, "tree size \(treeSize) is larger than the tree (\(size))")
        }
        if treeSize == 0 { return MerkleHashing.emptyRoot }
        return rangeHash(0, treeSize)
    }

    /// The root of the whole tree.
    public var rootHash: TreeHash {
        size == 0 ? MerkleHashing.emptyRoot : rangeHash(0, size)
    }

    /// MTH(D[start:end]) for a range RFC 9162's recursion can produce: non-empty, and `start` a
    /// multiple of the largest power of two not above `end - start`.
    func rangeHash(_ start: UInt64, _ end: UInt64) -> TreeHash {
        let count = end - start
        if count & (count - 1) == 0 {
            let height = count.trailingZeroBitCount
            return levels[height][Int(start >> UInt64(height))]
        }
        let k = MerkleHashing.splitPoint(count)
        return MerkleHashing.nodeHash(rangeHash(start, start + k), rangeHash(start + k, end))
    }
}
