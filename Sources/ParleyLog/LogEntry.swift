/// One entry of the log: opaque bytes (the caller's deterministic CBOR) at a fixed index.
///
/// The log never interprets `bytes`; its leaf in the Merkle tree is
/// `SHA-256(0x00 || bytes)`.
public struct LogEntry: Hashable, Sendable {
    /// The largest entry the log stores (16 MiB); larger appends are refused.
    public static let maxByteCount = 16 << 20

    /// Position in the log, from 0.
    public let index: UInt64
    /// The entry as the caller encoded it.
    public let bytes: [UInt8]

    /// Pairs an index with its bytes.
    public init(index: UInt64, bytes: [UInt8]) {
        self.index = index
        self.bytes = bytes
    }

    /// The RFC 9162 leaf hash of `bytes`.
    public var leafHash: TreeHash { MerkleHashing.leafHash(bytes) }
}
