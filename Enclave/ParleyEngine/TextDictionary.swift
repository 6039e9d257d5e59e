import Foundation

/// Distinct text values of one column, each with a dense `UInt32` code. Lookups hash the bytes
/// directly, so interning a value that is already present allocates nothing.
///
/// Entries loaded from a piece of an upload may point into that piece's bytes (shared, not
/// copied: an array is a reference to its buffer) instead of being copied into the dictionary's
/// own arena. A streamed upload is loaded a piece at a time, and ``copyOutShared()`` moves the
/// piece's entries into the arena before the next piece is shared; an upload loaded whole may
/// keep sharing when the distinct text is most of it (a column of identifiers). Either way the
/// entries read the same.
public struct TextDictionary: Sendable {
    /// The piece of upload some entries point into; else empty.
    private var shared: [UInt8] = []
    /// Bytes owned by this dictionary, entries back to back.
    private var arena = ByteArena()
    /// Where entry `i` starts: `~offset` (negative) for an offset into ``shared``, otherwise
    /// an offset into ``arena`` (so sharing another piece never moves an arena entry).
    private var starts: [Int] = []
    /// Byte length of entry `i`.
    private var lengths: [UInt32] = []
    /// Open addressing, a power-of-two count of slots, each 0 (empty) or the entry's hash
    /// (low 32 bits) in the high half and `code + 1` in the low half: probing compares hashes
    /// before bytes, and growing never rehashes bytes.
    private var slots: [UInt64] = Array(repeating: 0, count: 64)
    /// Total length of the entries that point into ``shared``.
    private(set) var sharedByteCount = 0
    /// The first code that may point into ``shared`` (entries before it are all in the arena).
    private var firstSharedCode = 0

    /// Creates an empty dictionary.
    public init() {}

    /// Bytes one reserved entry takes: its start and length, and two slots (the table is kept
    /// at most half full) of a table that may be twice that while it is rebuilt.
    static let bytesPerReservedEntry = MemoryLayout<Int>.stride + MemoryLayout<UInt32>.stride + 4 * MemoryLayout<UInt64>.stride

    /// Whether this column looks like identifiers: at least nine in ten of `rows` rows distinct.
    func isMostlyDistinct(over rows: Int) -> Bool { count * 10 >= rows * 9 }

    /// Lets new entries point into `piece` (see ``intern(sharedAt:count:isNew:)``); entries of
    /// an earlier piece must have been copied out first.
    mutating func share(_ piece: [UInt8]) {
        precondition(sharedByteCount == 0, "the previous piece's entries were not copied out")
        shared = piece
        firstSharedCode = starts.count
    }

    /// Bytes this dictionary holds (the capacity of its arrays; a shared piece is not counted).
    var memoryBytes: Int {
        arena.capacity + starts.capacity * MemoryLayout<Int>.stride + lengths.capacity * MemoryLayout<UInt32>.stride
            + slots.capacity * MemoryLayout<UInt64>.stride
    }

    /// Bytes the entries take (their count, not the arrays' capacity): text, locations and
    /// two slots each (the table is kept at most half full).
    var usedBytes: Int {
        arena.count + sharedByteCount
            + starts.count * (MemoryLayout<Int>.stride + MemoryLayout<UInt32>.stride + 2 * MemoryLayout<UInt64>.stride)
    }

    /// The largest single array (what one more doubling would allocate half of).
    var largestArrayBytes: Int {
        max(arena.capacity, starts.capacity * MemoryLayout<Int>.stride, slots.capacity * MemoryLayout<UInt64>.stride)
    }

    /// Number of distinct entries.
    public var count: Int { starts.count }

    /// Slots in the hash table (a power of two, kept at least half empty).
    var slotCount: Int { slots.count }

    /// The entry with this code as a String.
    public func string(_ code: UInt32) -> String {
        withBytes(code) { String(decoding: $0, as: UTF8.self) }
    }

    /// Calls `body` with the UTF-8 bytes of the entry with this code.
    public func withBytes<R>(_ code: UInt32, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        let start = starts[Int(code)], length = Int(lengths[Int(code)])
        if start < 0 {
            let offset = ~start
            return try shared.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[offset ..< offset + length])) }
        }
        return try arena.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[start ..< start + length])) }
    }

    /// The code of these bytes, if present.
    public func code(of bytes: UnsafeBufferPointer<UInt8>) -> UInt32? {
        let found = find(bytes, hash: Self.hash(bytes))
        return found.code
    }

    /// The code of a String, if present.
    public func code(of text: String) -> UInt32? {
        var copy = text
        return copy.withUTF8 { code(of: $0) }
    }

    /// The code of these bytes, adding them (copied) if new.
    ///
    /// - Parameter isNew: Set to `true` when the bytes were added (so the caller can validate
    ///   them once, e.g. as UTF-8).
    public mutating func intern(_ bytes: UnsafeBufferPointer<UInt8>, isNew: inout Bool) -> UInt32 {
        let hash = Self.hash(bytes)
        let found = find(bytes, hash: hash)
        if let code = found.code {
            isNew = false
            return code
        }
        isNew = true
        starts.append(arena.count)
        arena.append(contentsOf: bytes)
        return insert(length: bytes.count, hash: hash, slot: found.slot)
    }

    /// Interns a String.
    @discardableResult
    public mutating func intern(_ text: String) -> UInt32 {
        var copy = text
        var isNew = false
        return copy.withUTF8 { intern($0, isNew: &isNew) }
    }

    /// The code of the `count` bytes at `start` in the shared upload, adding an entry that
    /// points there (nothing copied) if they are new.
    mutating func intern(sharedAt start: Int, count: Int, isNew: inout Bool) -> UInt32 {
        let hash = shared.withUnsafeBufferPointer { Self.hash(UnsafeBufferPointer(rebasing: $0[start ..< start + count])) }
        return intern(sharedAt: start, count: count, hash: hash, isNew: &isNew)
    }

    /// Interns the slices `starts[i] ..< ends[i]` of the shared upload in order, appending
    /// their codes to `codes`. All are hashed first, then the first slot each probes is loaded,
    /// then they are looked up, and only then are the new ones added: loads that do not depend
    /// on one another let the processor overlap their cache misses, which one-at-a-time
    /// interning of a column of distinct identifiers spends most of its time waiting on.
    ///
    /// - Parameters:
    ///   - scratch: Reused between calls.
    ///   - isValid: Checked on the bytes of each new entry.
    /// - Returns: `false` as soon as a new entry fails `isValid` (the codes appended so far stay).
    mutating func internShared(starts: UnsafeBufferPointer<Int>, ends: UnsafeBufferPointer<Int>,
                               scratch: inout ProbeScratch, into codes: inout [UInt32],
                               isValid: (UnsafeBufferPointer<UInt8>) -> Bool) -> Bool {
        scratch.reserve(starts.count)
        shared.withUnsafeBufferPointer { upload in
            for index in starts.indices {
                scratch.hashes[index] = Self.hash(UnsafeBufferPointer(rebasing: upload[starts[index] ..< ends[index]]))
            }
            loadFirstSlots(&scratch, count: starts.count)
            for index in starts.indices {
                let bytes = UnsafeBufferPointer(rebasing: upload[starts[index] ..< ends[index]])
                let found = find(bytes, hash: scratch.hashes[index], firstSlot: scratch.firstSlots[index])
                scratch.candidates[index] = found.map { $0 + 1 } ?? 0
            }
        }
        for index in starts.indices {
            if scratch.candidates[index] != 0 {
                codes.append(scratch.candidates[index] - 1)
                continue
            }
            var isNew = false
            let code = intern(sharedAt: starts[index], count: ends[index] - starts[index], hash: scratch.hashes[index], isNew: &isNew)
            if isNew, !withBytes(code, isValid) { return false }
            codes.append(code)
        }
        return true
    }

    /// For every entry of `other`, its code in this dictionary, or -1. Works in batches of
    /// steps whose loads are independent of one another (hash; load the first slot; find the
    /// first entry with the same hash bits; load its location; load its first and last byte;
    /// compare), so that the cache misses of a batch overlap.
    func codes(of other: TextDictionary) -> [Int32] {
        var result = [Int32](repeating: -1, count: other.count)
        guard count > 0 else { return result }
        let batchSize = 256
        var scratch = ProbeScratch()
        scratch.reserve(batchSize)
        var entryStarts = [Int](repeating: 0, count: batchSize), entryLengths = [Int](repeating: 0, count: batchSize)
        var firstBytes = [UInt8](repeating: 0, count: batchSize), lastBytes = [UInt8](repeating: 0, count: batchSize)
        for first in stride(from: 0, to: other.count, by: batchSize) {
            let count = min(batchSize, other.count - first)
            for index in 0 ..< count {
                scratch.hashes[index] = other.withBytes(UInt32(first + index)) { Self.hash($0) }
            }
            loadFirstSlots(&scratch, count: count)
            slots.withUnsafeBufferPointer { slots in
                let mask = slots.count - 1
                for index in 0 ..< count {
                    let tag = scratch.hashes[index] & 0xFFFF_FFFF
                    var slot = Int(truncatingIfNeeded: tag) & mask
                    var stored = scratch.firstSlots[index]
                    while stored != 0, stored >> 32 != tag {
                        slot = (slot + 1) & mask
                        stored = slots[slot]
                    }
                    scratch.candidates[index] = UInt32(truncatingIfNeeded: stored)  // code + 1, or 0
                }
            }
            for index in 0 ..< count {
                let code = Int(scratch.candidates[index] == 0 ? 0 : scratch.candidates[index] - 1)
                entryStarts[index] = starts[code]
                entryLengths[index] = Int(lengths[code])
            }
            withStorage { shared, arena in
                for index in 0 ..< count {
                    let bytes = Self.entry(start: entryStarts[index], length: max(1, entryLengths[index]), shared, arena)
                    firstBytes[index] = bytes.first ?? 0
                    lastBytes[index] = bytes.last ?? 0
                }
                for index in 0 ..< count where scratch.candidates[index] != 0 {
                    result[first + index] = other.withBytes(UInt32(first + index)) { bytes in
                        let candidate = scratch.candidates[index] - 1
                        if bytes.count == entryLengths[index], bytes.first ?? 0 == firstBytes[index], bytes.last ?? 0 == lastBytes[index],
                           Self.same(bytes, Self.entry(start: entryStarts[index], length: entryLengths[index], shared, arena)) {
                            return Int32(bitPattern: candidate)
                        }
                        return find(bytes, hash: scratch.hashes[index]).code.map { Int32(bitPattern: $0) } ?? -1
                    }
                }
            }
        }
        return result
    }

    /// Space for ``internShared(starts:ends:scratch:into:isValid:)`` and ``codes(of:)``.
    struct ProbeScratch {
        var hashes: [UInt64] = []
        var firstSlots: [UInt64] = []
        var candidates: [UInt32] = []

        mutating func reserve(_ count: Int) {
            guard hashes.count < count else { return }
            hashes = Array(repeating: 0, count: count)
            firstSlots = Array(repeating: 0, count: count)
            candidates = Array(repeating: 0, count: count)
        }
    }

    /// `firstSlots[i]`: the slot `hashes[i]` probes first; a loop of loads with no branch
    /// between them, so their cache misses overlap.
    private func loadFirstSlots(_ scratch: inout ProbeScratch, count: Int) {
        slots.withUnsafeBufferPointer { slots in
            let mask = slots.count - 1
            for index in 0 ..< count {
                scratch.firstSlots[index] = slots[Int(truncatingIfNeeded: scratch.hashes[index]) & mask]
            }
        }
    }

    /// Calls `body` with the shared upload and the arena.
    private func withStorage<R>(_ body: (UnsafeBufferPointer<UInt8>, UnsafeBufferPointer<UInt8>) -> R) -> R {
        shared.withUnsafeBufferPointer { shared in arena.withUnsafeBufferPointer { arena in body(shared, arena) } }
    }

    /// The bytes of an entry located at `start` (see ``starts``), clamped to the storage.
    @inline(__always)
    private static func entry(start: Int, length: Int, _ shared: UnsafeBufferPointer<UInt8>,
                              _ arena: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        let storage = start < 0 ? shared : arena
        let offset = start < 0 ? ~start : start
        let lower = min(offset, storage.count), upper = min(offset + length, storage.count)
        return UnsafeBufferPointer(rebasing: storage[lower ..< upper])
    }

    /// ``intern(sharedAt:count:isNew:)`` with the bytes' ``hash(_:)`` already known.
    mutating func intern(sharedAt start: Int, count: Int, hash: UInt64, isNew: inout Bool) -> UInt32 {
        let found = shared.withUnsafeBufferPointer { find(UnsafeBufferPointer(rebasing: $0[start ..< start + count]), hash: hash) }
        if let code = found.code {
            isNew = false
            return code
        }
        isNew = true
        starts.append(~start)
        sharedByteCount += count
        return insert(length: count, hash: hash, slot: found.slot)
    }

    /// Makes room for `entries` entries in all, so that a dictionary known to be headed for
    /// millions of entries does not grow (copy, rehash, fault in fresh pages) by doubling.
    mutating func reserveCapacity(_ entries: Int) {
        starts.reserveCapacity(entries)
        lengths.reserveCapacity(entries)
        var size = slots.count
        while entries * 2 > size { size *= 2 }
        if size > slots.count {
            var bigger = zeroedTable(count: size)
            for entry in slots where entry != 0 { place(entry, in: &bigger) }
            slots = bigger
        }
    }

    /// Gives back room reserved by ``reserveCapacity(_:)`` but not used (a slot table more than
    /// four times larger than needed, entry arrays less than half full).
    mutating func trimCapacity() {
        if starts.count * 2 < starts.capacity {
            starts = Array(starts)
            lengths = Array(lengths)
        }
        var size = 64
        while starts.count * 2 > size { size *= 2 }
        if size * 4 < slots.count {
            var smaller = zeroedTable(count: size)
            for entry in slots where entry != 0 { place(entry, in: &smaller) }
            slots = smaller
        }
    }

    /// Copies every entry that points into the shared piece into the arena (after the entries
    /// already there) and lets go of the piece.
    mutating func copyOutShared() {
        guard !shared.isEmpty else { return }
        // Every entry of the piece moves, empty ones too (they point into it all the same).
        if firstSharedCode < starts.count {
            // Grown by half again when full, not doubled: a streamed identifier column lands
            // here a piece at a time, and doubling would leave up to half of it unused.
            let needed = arena.count + sharedByteCount
            if needed > arena.capacity { arena.reserveCapacity(max(needed, arena.capacity + arena.capacity / 2)) }
            let source = shared
            source.withUnsafeBufferPointer { piece in
                for code in firstSharedCode ..< starts.count where starts[code] < 0 {
                    let offset = ~starts[code], length = Int(lengths[code])
                    starts[code] = arena.count
                    arena.append(contentsOf: UnsafeBufferPointer(rebasing: piece[offset ..< offset + length]))
                }
            }
        }
        shared = []
        firstSharedCode = starts.count
        sharedByteCount = 0
    }

    /// The entry equal to `bytes`, or the empty slot where it belongs.
    private func find(_ bytes: UnsafeBufferPointer<UInt8>, hash: UInt64) -> (code: UInt32?, slot: Int) {
        let tag = hash & 0xFFFF_FFFF
        return slots.withUnsafeBufferPointer { slots in
            let mask = slots.count - 1
            var slot = Int(truncatingIfNeeded: tag) & mask
            while true {
                let stored = slots[slot]
                if stored == 0 { return (nil, slot) }
                if stored >> 32 == tag {
                    let code = UInt32(truncatingIfNeeded: stored) - 1
                    if equals(code, bytes) { return (code, slot) }
                }
                slot = (slot + 1) & mask
            }
        }
    }

    /// ``find(_:hash:)`` for the code only, with the first slot it probes already loaded.
    private func find(_ bytes: UnsafeBufferPointer<UInt8>, hash: UInt64, firstSlot: UInt64) -> UInt32? {
        let tag = hash & 0xFFFF_FFFF
        return slots.withUnsafeBufferPointer { slots in
            let mask = slots.count - 1
            var slot = Int(truncatingIfNeeded: tag) & mask
            var stored = firstSlot
            while true {
                if stored == 0 { return nil }
                if stored >> 32 == tag {
                    let code = UInt32(truncatingIfNeeded: stored) - 1
                    if equals(code, bytes) { return code }
                }
                slot = (slot + 1) & mask
                stored = slots[slot]
            }
        }
    }

    /// Records a new entry (its start already appended) in `slot`, growing the table if needed.
    private mutating func insert(length: Int, hash: UInt64, slot: Int) -> UInt32 {
        precondition(length <= Int(UInt32.max) && starts.count <= Int(UInt32.max), "text dictionary entry or entry count beyond 32 bits")
        lengths.append(UInt32(length))
        let code = UInt32(starts.count - 1)
        let entry = (hash & 0xFFFF_FFFF) << 32 | UInt64(code + 1)
        if starts.count * 2 > slots.count {
            grow()
            place(entry, in: &slots)
        } else {
            slots[slot] = entry
        }
        return code
    }

    private func equals(_ code: UInt32, _ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard Int(lengths[Int(code)]) == bytes.count else { return false }
        return withBytes(code) { Self.same($0, bytes) }
    }

    /// Whether two byte strings are equal.
    @inline(__always)
    private static func same(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        guard let x = a.baseAddress, let y = b.baseAddress, a.count > 0 else { return true }
        return memcmp(x, y, a.count) == 0
    }

    private mutating func grow() {
        var bigger = zeroedTable(count: slots.count * 2)
        for entry in slots where entry != 0 { place(entry, in: &bigger) }
        slots = bigger
    }

    private func place(_ entry: UInt64, in table: inout [UInt64]) {
        let mask = table.count - 1
        var slot = Int(truncatingIfNeeded: entry >> 32) & mask
        while table[slot] != 0 { slot = (slot + 1) & mask }
        table[slot] = entry
    }

    /// A fast 64-bit hash of a byte string (wyhash-style: 64-bit words folded by 128-bit
    /// multiplication). Unkeyed: good enough for a private hash table, since the contents come
    /// from one provider and a crafted upload only slows that provider's own load.
    static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        let p0: UInt64 = 0xa076_1d64_78bd_642f, p1: UInt64 = 0xe703_7ed1_a0b4_28db, p2: UInt64 = 0x8ebc_6af0_9c88_c6e3
        @inline(__always) func fold(_ a: UInt64, _ b: UInt64) -> UInt64 {
            let product = a.multipliedFullWidth(by: b)
            return product.high ^ product.low
        }
        let count = bytes.count
        guard let base = bytes.baseAddress, count > 0 else { return fold(p0, p1) }
        let raw = UnsafeRawPointer(base)
        @inline(__always) func word(_ offset: Int) -> UInt64 { raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self) }
        var seed = p0 ^ UInt64(count) &* p2
        var a: UInt64, b: UInt64
        if count >= 8 {
            var offset = 0
            while count - offset > 16 {
                seed = fold(word(offset) ^ p1, word(offset + 8) ^ seed)
                offset += 16
            }
            // The last 1...16 bytes; the final word may overlap bytes already folded in.
            a = count - offset > 8 ? word(offset) : 0
            b = word(count - 8)
        } else if count >= 4 {
            a = UInt64(raw.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
            b = UInt64(raw.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self))
        } else {
            a = UInt64(base[0]) << 16 | UInt64(base[count >> 1]) << 8 | UInt64(base[count - 1])
            b = 0
        }
        return fold(p1 ^ UInt64(count), fold(a ^ p1, b ^ seed))
    }
}

/// A zero-filled table of `count` words. Tables probed at random (hash tables of millions of
/// entries) are asked to sit on huge pages before first touch where the system supports it,
/// which saves a TLB miss per probe; elsewhere this is `Array(repeating: 0, count:)`.
func zeroedTable(count: Int) -> [UInt64] {
    [UInt64](unsafeUninitializedCapacity: count) { buffer, initialized in
        guard let base = buffer.baseAddress else { return }
        adviseHugePages(UnsafeMutableRawPointer(base), byteCount: count * 8)
        base.initialize(repeating: 0, count: count)
        initialized = count
    }
}

/// Asks for transparent huge pages on the whole 2 MiB pages inside a region (Linux only; a
/// hint, so failures are ignored).
func adviseHugePages(_ start: UnsafeMutableRawPointer, byteCount: Int) {
    #if os(Linux)
    let hugePage = 2 << 20
    guard byteCount >= 2 * hugePage else { return }
    let first = (Int(bitPattern: start) + hugePage - 1) & ~(hugePage - 1)
    let end = (Int(bitPattern: start) + byteCount) & ~(hugePage - 1)
    guard end > first, let aligned = UnsafeMutableRawPointer(bitPattern: first) else { return }
    _ = madvise(aligned, end - first, MADV_HUGEPAGE)
    #endif
}
