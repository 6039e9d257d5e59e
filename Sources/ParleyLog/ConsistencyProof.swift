/// An RFC 9162 section 2.1.4 consistency proof: evidence that the tree of `newSize` leaves
/// extends the tree of `oldSize` leaves without changing any of them.
public struct ConsistencyProof: Hashable, Sendable {
    /// The most hashes a proof may carry.
    public static let maxPathLength = 128

    /// Size of the older tree.
    public let oldSize: UInt64
    /// Size of the newer tree.
    public let newSize: UInt64
    /// The proof's hashes, in RFC 9162 order.
    public let path: [TreeHash]

    /// Wraps a proof received from elsewhere; nothing is checked until `verify`.
    public init(oldSize: UInt64, newSize: UInt64, path: [TreeHash]) {
        self.oldSize = oldSize
        self.newSize = newSize
        self.path = path
    }

    /// Wraps a proof given as raw byte strings.
    /// - Throws: `LogError` `.malformedHash` if an element is not 32 bytes, `.oversize` if the
    ///   path is longer than `maxPathLength`.
    public init(oldSize: UInt64, newSize: UInt64, rawPath: [[UInt8]]) throws(LogError) {
        guard rawPath.count <= Self.maxPathLength else {
            throw LogError(.oversize, "a consistency proof has at most \(Self.maxPathLength) hashes, got \(rawPath.count)")
        }
        var path: [TreeHash] = []
        for element in rawPath { path.append(try TreeHash(bytes: element)) }
        self.init(oldSize: oldSize, newSize: newSize, path: path)
    }

    /// Checks that `oldRoot` (at `oldSize`) is a prefix of `newRoot` (at `newSize`),
    /// following RFC 9162 section 2.1.4.2.
    ///
    /// Edge cases, stricter than some libraries: equal sizes need an empty proof and equal
    /// roots; an empty older tree needs an empty proof and `oldRoot` equal to SHA-256("").
    public func verify(oldRoot: TreeHash, newRoot: TreeHash) -> ProofVerdict {
        guard oldSize <= newSize else { return .invalid(.sizesDecreasing(older: oldSize, newer: newSize)) }
        if oldSize == newSize {
            guard path.isEmpty else { return .invalid(.proofNotEmpty) }
            return oldRoot == newRoot ? .valid : .invalid(.rootsDiffer)
        }
        if oldSize == 0 {
            guard path.isEmpty else { return .invalid(.proofNotEmpty) }
            return oldRoot == MerkleHashing.emptyRoot ? .valid : .invalid(.emptyTreeRootMismatch)
        }
        guard !path.isEmpty, path.count <= Self.maxPathLength else { return .invalid(.wrongPathLength) }

        var c = path
        if oldSize & (oldSize - 1) == 0 { c.insert(oldRoot, at: 0) }
        var fn = oldSize - 1
        var sn = newSize - 1
        while fn & 1 == 1 {
            fn >>= 1
            sn >>= 1
        }
        var fr = c[0]
        var sr = c[0]
        for element in c.dropFirst() {
            if sn == 0 { return .invalid(.wrongPathLength) }
            if fn & 1 == 1 || fn == sn {
                fr = MerkleHashing.nodeHash(element, fr)
                sr = MerkleHashing.nodeHash(element, sr)
                while fn & 1 == 0 && fn != 0 {
                    fn >>= 1
                    sn >>= 1
                }
            } else {
                sr = MerkleHashing.nodeHash(sr, element)
            }
            fn >>= 1
            sn >>= 1
        }
        guard sn == 0 else { return .invalid(.wrongPathLength) }
        guard sr == newRoot else { return .invalid(.rootMismatch(computed: sr)) }
        guard fr == oldRoot else { return .invalid(.olderRootMismatch(computed: fr)) }
        return .valid
    }
}

extension MerkleTree {
    /// The consistency proof from the tree at `oldSize` to the tree at `newSize`
    /// (RFC 9162 section 2.1.4.1); empty when `oldSize` is 0 or equals `newSize`.
    /// - Throws: `LogError` `.outOfRange` unless `oldSize <= newSize <= size`.
    public func consistencyProof(oldSize: UInt64, newSize: UInt64) throws(LogError) -> ConsistencyProof {
        guard newSize <= size else {
            throw LogError(.outOfRange, "tree size \(newSize) is larger than the tree (\(size))")
        }
        guard oldSize <= newSize else {
            throw LogError(.outOfRange, "the older size \(oldSize) is larger than the newer size \(newSize)")
        }
        guard oldSize > 0, oldSize < newSize else {
            return ConsistencyProof(oldSize: oldSize, newSize: newSize, path: [])
        }
        // SUBPROOF(m, D[start:end], b), unrolled from the root down.
        var topDown: [TreeHash] = []
        var start: UInt64 = 0
        var end = newSize
        var m = oldSize
        var wholeOldTreeIsKnown = true
        while true {
            let n = end - start
            if m == n {
                if !wholeOldTreeIsKnown { topDown.append(rangeHash(start, end)) }
                break
            }
            let k = MerkleHashing.splitPoint(n)
            if m <= k {
                topDown.append(rangeHash(start + k, end))
                end = start + k
            } else {
                topDown.append(rangeHash(start, start + k))
                start += k
                m -= k
                wholeOldTreeIsKnown = false
            }
        }
        return ConsistencyProof(oldSize: oldSize, newSize: newSize, path: topDown.reversed())
    }
}
