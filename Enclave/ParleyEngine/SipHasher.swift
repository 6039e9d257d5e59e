/// The worker-held secret that makes contribution bounding's choice of groups unpredictable.
///
/// 32 bytes, read as four little-endian 64-bit words `w0...w3`: SipHash-2-4 is keyed with
/// `(w0, w1)` and every hashed message is prefixed with `w2, w3`, so every key byte matters.
public struct BoundingKey: Sendable {
    let k0: UInt64
    let k1: UInt64
    let prefix0: UInt64
    let prefix1: UInt64

    /// Creates a key from exactly 32 bytes.
    ///
    /// - Throws: ``EngineError`` for any other length.
    public init(_ bytes: [UInt8]) throws(EngineError) {
        guard bytes.count == 32 else { throw EngineError("a bounding key has 32 bytes, not \(bytes.count)") }
        func word(_ index: Int) -> UInt64 {
            (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[index * 8 + $1]) << (8 * UInt64($1)) }
        }
        k0 = word(0)
        k1 = word(1)
        prefix0 = word(2)
        prefix1 = word(3)
    }
}

/// SipHash-2-4 (Aumasson and Bernstein), fed incrementally; 64-bit output.
struct SipHasher {
    private var v0: UInt64, v1: UInt64, v2: UInt64, v3: UInt64
    private var tail: UInt64 = 0
    private var tailCount: UInt64 = 0
    private var length: UInt64 = 0

    /// A hasher keyed by a bounding key, its prefix words already absorbed.
    init(key: BoundingKey) {
        self.init(k0: key.k0, k1: key.k1)
        combine(Int64(bitPattern: key.prefix0))
        combine(Int64(bitPattern: key.prefix1))
    }

    init(k0: UInt64, k1: UInt64) {
        v0 = k0 ^ 0x736f_6d65_7073_6575
        v1 = k1 ^ 0x646f_7261_6e64_6f6d
        v2 = k0 ^ 0x6c79_6765_6e65_7261
        v3 = k1 ^ 0x7465_6462_7974_6573
    }

    @inline(__always)
    private mutating func round() {
        v0 = v0 &+ v1; v1 = v1.rotatedLeft(13); v1 ^= v0; v0 = v0.rotatedLeft(32)
        v2 = v2 &+ v3; v3 = v3.rotatedLeft(16); v3 ^= v2
        v0 = v0 &+ v3; v3 = v3.rotatedLeft(21); v3 ^= v0
        v2 = v2 &+ v1; v1 = v1.rotatedLeft(17); v1 ^= v2; v2 = v2.rotatedLeft(32)
    }

    @inline(__always)
    private mutating func compress(_ word: UInt64) {
        v3 ^= word
        round(); round()
        v0 ^= word
    }

    /// Adds one byte.
    mutating func combine(_ byte: UInt8) {
        tail |= UInt64(byte) << (8 * tailCount)
        tailCount += 1
        length &+= 1
        if tailCount == 8 {
            compress(tail)
            tail = 0
            tailCount = 0
        }
    }

    /// Adds bytes.
    mutating func combine(_ bytes: UnsafeBufferPointer<UInt8>) {
        for byte in bytes { combine(byte) }
    }

    /// Adds the 8 little-endian bytes of a value.
    mutating func combine(_ value: Int64) {
        let bits = UInt64(bitPattern: value)
        for shift in stride(from: UInt64(0), to: 64, by: 8) { combine(UInt8(truncatingIfNeeded: bits >> shift)) }
    }

    /// The 64-bit digest.
    mutating func finalize() -> UInt64 {
        compress(tail | (length << 56))
        v2 ^= 0xff
        round(); round(); round(); round()
        return v0 ^ v1 ^ v2 ^ v3
    }
}

extension UInt64 {
    @inline(__always)
    fileprivate func rotatedLeft(_ count: UInt64) -> UInt64 { (self << count) | (self >> (64 - count)) }
}
