/// Maps fixed-width group keys (one `Int64` per GROUP BY column: a number, or a text column's
/// dictionary code) to dense group ids. Keys live back to back in one array; lookups of an
/// existing key allocate nothing.
struct GroupKeyTable {
    let width: Int
    /// Key of group `g` is `keys[g * width ..< (g + 1) * width]`.
    private(set) var keys: [Int64] = []
    private(set) var count = 0
    /// Open addressing: `group id + 1`, 0 marks empty; power-of-two size.
    private var slots: [Int32] = Array(repeating: 0, count: 1024)

    init(width: Int) { self.width = width }

    /// The id of `key` (its first `width` values), inserting it if new.
    mutating func id(of key: UnsafeBufferPointer<Int64>) -> Int32 {
        if width == 0 {
            if count == 0 { count = 1 }
            return 0
        }
        let hash = Self.hash(key, width)
        var mask = slots.count - 1
        var slot = hash & mask
        while true {
            let stored = slots[slot]
            if stored == 0 { break }
            if matches(Int(stored - 1), key) { return stored - 1 }
            slot = (slot + 1) & mask
        }
        let id = Int32(count)
        keys.append(contentsOf: key.prefix(width))
        count += 1
        if count * 2 > slots.count {
            grow()
            mask = slots.count - 1
            slot = hash & mask
            while slots[slot] != 0 { slot = (slot + 1) & mask }
        }
        slots[slot] = id + 1
        return id
    }

    /// The stored key of a group.
    func key(of group: Int) -> ArraySlice<Int64> { keys[group * width ..< (group + 1) * width] }

    private func matches(_ group: Int, _ key: UnsafeBufferPointer<Int64>) -> Bool {
        let base = group * width
        for index in 0..<width where keys[base + index] != key[index] { return false }
        return true
    }

    private mutating func grow() {
        var bigger = [Int32](repeating: 0, count: slots.count * 2)
        let mask = bigger.count - 1
        keys.withUnsafeBufferPointer { keys in
            for group in 0..<count {
                let key = UnsafeBufferPointer(rebasing: keys[group * width ..< (group + 1) * width])
                var slot = Self.hash(key, width) & mask
                while bigger[slot] != 0 { slot = (slot + 1) & mask }
                bigger[slot] = Int32(group + 1)
            }
        }
        slots = bigger
    }

    private static func hash(_ key: UnsafeBufferPointer<Int64>, _ width: Int) -> Int {
        var hash: UInt64 = 0x9E37_79B9_7F4A_7C15
        for index in 0..<width {
            hash = (hash ^ UInt64(bitPattern: key[index])) &* 0xBF58_476D_1CE4_E5B9
            hash ^= hash >> 31
        }
        return Int(truncatingIfNeeded: hash ^ (hash >> 29))
    }
}
