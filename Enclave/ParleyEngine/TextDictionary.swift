import Foundation

/// Distinct text values of one column, stored once in a contiguous byte arena, each with a
/// dense `UInt32` code. Lookups hash the bytes directly, so interning a value that is already
/// present allocates nothing.
public struct TextDictionary: Sendable {
    /// UTF-8 bytes of every entry, back to back.
    private var arena: [UInt8] = []
    /// `ends[i]` is where entry `i` ends in ``arena`` (it starts at `ends[i - 1]`, or 0).
    private var ends: [Int] = []
    /// Open-addressing table of `code + 1` (0 marks an empty slot); its count is a power of two.
    private var slots: [UInt32] = Array(repeating: 0, count: 64)

    /// Creates an empty dictionary.
    public init() {}

    /// Number of distinct entries.
    public var count: Int { ends.count }

    /// The entry with this code as a String.
    public func string(_ code: UInt32) -> String {
        let range = self.range(code)
        return arena.withUnsafeBufferPointer { String(decoding: UnsafeBufferPointer(rebasing: $0[range]), as: UTF8.self) }
    }

    /// Calls `body` with the UTF-8 bytes of the entry with this code.
    public func withBytes<R>(_ code: UInt32, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        let range = self.range(code)
        return try arena.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[range])) }
    }

    private func range(_ code: UInt32) -> Range<Int> {
        let index = Int(code)
        return (index == 0 ? 0 : ends[index - 1])..<ends[index]
    }

    /// The code of these bytes, if present.
    public func code(of bytes: UnsafeBufferPointer<UInt8>) -> UInt32? {
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: Self.hash(bytes)) & mask
        while true {
            let stored = slots[slot]
            if stored == 0 { return nil }
            if equals(stored - 1, bytes) { return stored - 1 }
            slot = (slot + 1) & mask
        }
    }

    /// The code of a String, if present.
    public func code(of text: String) -> UInt32? {
        var copy = text
        return copy.withUTF8 { code(of: $0) }
    }

    /// The code of these bytes, adding them if new.
    ///
    /// - Parameter isNew: Set to `true` when the bytes were added (so the caller can validate
    ///   them once, e.g. as UTF-8).
    public mutating func intern(_ bytes: UnsafeBufferPointer<UInt8>, isNew: inout Bool) -> UInt32 {
        let hash = Int(truncatingIfNeeded: Self.hash(bytes))
        var mask = slots.count - 1
        var slot = hash & mask
        while true {
            let stored = slots[slot]
            if stored == 0 { break }
            if equals(stored - 1, bytes) {
                isNew = false
                return stored - 1
            }
            slot = (slot + 1) & mask
        }
        isNew = true
        let code = UInt32(ends.count)
        arena.append(contentsOf: bytes)
        ends.append(arena.count)
        if ends.count * 2 > slots.count {
            grow()
            mask = slots.count - 1
            slot = hash & mask
            while slots[slot] != 0 { slot = (slot + 1) & mask }
        }
        slots[slot] = code + 1
        return code
    }

    /// Interns a String.
    @discardableResult
    public mutating func intern(_ text: String) -> UInt32 {
        var copy = text
        var isNew = false
        return copy.withUTF8 { intern($0, isNew: &isNew) }
    }

    private func equals(_ code: UInt32, _ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        let range = self.range(code)
        guard range.count == bytes.count else { return false }
        return arena.withUnsafeBufferPointer { arena in
            guard let base = arena.baseAddress, let other = bytes.baseAddress else { return bytes.isEmpty }
            return memcmp(base + range.lowerBound, other, bytes.count) == 0
        }
    }

    private mutating func grow() {
        var bigger = [UInt32](repeating: 0, count: slots.count * 2)
        let mask = bigger.count - 1
        arena.withUnsafeBufferPointer { arena in
            for code in 0..<ends.count {
                let range = (code == 0 ? 0 : ends[code - 1])..<ends[code]
                var slot = Int(truncatingIfNeeded: Self.hash(UnsafeBufferPointer(rebasing: arena[range]))) & mask
                while bigger[slot] != 0 { slot = (slot + 1) & mask }
                bigger[slot] = UInt32(code) + 1
            }
        }
        slots = bigger
    }

    /// FNV-1a with a final avalanche; fast and good enough for a private hash table (the
    /// contents come from one provider and only affect that provider's load time).
    static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        hash ^= hash >> 33
        hash = hash &* 0xff51_afd7_ed55_8ccd
        hash ^= hash >> 33
        return hash
    }
}
