import Crypto
import Foundation

/// A 32-byte SHA-256 value of the log's Merkle tree: a leaf hash, an interior node or a root.
public struct TreeHash: Hashable, Sendable, CustomStringConvertible {
    /// The length of every tree hash in bytes.
    public static let byteCount = 32

    /// The 32 bytes.
    public let bytes: [UInt8]

    /// Wraps 32 bytes.
    /// - Throws: `LogError` with code `.malformedHash` if `bytes` is not 32 bytes long.
    public init(bytes: [UInt8]) throws(LogError) {
        guard bytes.count == Self.byteCount else {
            throw LogError(.malformedHash, "a tree hash is 32 bytes, got \(bytes.count)")
        }
        self.bytes = bytes
    }

    init<D: Digest>(digest: D) {
        self.bytes = Array(digest)
    }

    /// Lower-case hexadecimal.
    public var hex: String { bytes.hexString }

    /// Standard base64 with padding (RFC 4648 section 4), as in checkpoints.
    public var base64: String { Base64.encode(bytes) }

    /// The hash in lower-case hexadecimal.
    public var description: String { hex }
}

/// RFC 9162 section 2.1.1 hashing: `SHA-256(0x00 || entry)` for leaves,
/// `SHA-256(0x01 || left || right)` for interior nodes, `SHA-256("")` for the empty tree.
public enum MerkleHashing {
    /// The root of the tree with no leaves: SHA-256 of the empty string.
    public static let emptyRoot = TreeHash(digest: SHA256.hash(data: [UInt8]()))

    /// The leaf hash of one entry.
    public static func leafHash(_ entry: some DataProtocol) -> TreeHash {
        var hasher = SHA256()
        hasher.update(data: [0x00] as [UInt8])
        hasher.update(data: entry)
        return TreeHash(digest: hasher.finalize())
    }

    /// The hash of an interior node from its two children.
    public static func nodeHash(_ left: TreeHash, _ right: TreeHash) -> TreeHash {
        var hasher = SHA256()
        hasher.update(data: [0x01])
        hasher.update(data: left.bytes)
        hasher.update(data: right.bytes)
        return TreeHash(digest: hasher.finalize())
    }

    /// The largest power of two strictly less than `n` (RFC 9162's `k`); `n` must be at least 2.
    static func splitPoint(_ n: UInt64) -> UInt64 {
        precondition(n >= 2, "split point needs at least two leaves")
        return UInt64(1) << (63 - (n - 1).leadingZeroBitCount)
    }
}
