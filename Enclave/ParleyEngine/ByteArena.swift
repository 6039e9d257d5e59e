import Foundation

/// Bytes appended back to back in one malloc block that grows with `realloc`: a dictionary's
/// arena of distinct text (an identifier column: tens to thousands of MiB).
///
/// Written here, not taken from the standard library, for performance: an `Array` grows by
/// allocating a new buffer and copying the old one into it, so an arena headed for 128 MiB is
/// copied about ten times on the way, each time into fresh pages the kernel must zero first; the
/// profile of a 2M-row upload put 40% of the worker's time there. A block of 32 MiB or more is
/// mapped on its own (the worker's malloc setting), and `realloc` of such a block is `mremap`:
/// the pages move to the larger mapping without a copy, and the old and new block never both
/// hold memory. Smaller blocks are copied as an array's would be (a few MiB at most).
///
/// A value type with copy-on-write, as `Array` is: a copy shares the block until one of the two
/// is changed, which then copies it first.
struct ByteArena: Sendable {
    private var storage = Storage()

    /// Bytes appended.
    var count: Int { storage.count }
    /// Bytes the block has room for.
    var capacity: Int { storage.capacity }

    /// Makes room for `minimumCapacity` bytes in all (exactly that much, if it grows).
    mutating func reserveCapacity(_ minimumCapacity: Int) {
        makeUnique(capacity: max(minimumCapacity, storage.capacity))
        storage.grow(to: minimumCapacity)
    }

    /// Appends `bytes`, growing by half again (at least to fit) when full.
    mutating func append(contentsOf bytes: UnsafeBufferPointer<UInt8>) {
        guard let source = bytes.baseAddress, bytes.count > 0 else { return }
        let needed = storage.count + bytes.count
        makeUnique(capacity: max(needed, storage.capacity))
        if needed > storage.capacity { storage.grow(to: max(needed, storage.capacity + storage.capacity / 2, 64)) }
        (storage.base! + storage.count).update(from: source, count: bytes.count)
        storage.count = needed
    }

    /// Calls `body` with the bytes appended so far.
    func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        try withExtendedLifetime(storage) { try body(UnsafeBufferPointer(start: storage.base, count: storage.count)) }
    }

    private mutating func makeUnique(capacity: Int) {
        if !isKnownUniquelyReferenced(&storage) { storage = storage.copy(capacity: capacity) }
    }

    /// The block. @unchecked Sendable: it is changed only through a ``ByteArena`` that holds
    /// the only reference (copy-on-write), so no two threads can see it change.
    private final class Storage: @unchecked Sendable {
        var base: UnsafeMutablePointer<UInt8>?
        var count = 0
        private(set) var capacity = 0

        init() {}

        deinit { free(base) }

        /// Grows the block to `newCapacity` bytes if it is smaller. A failed `realloc` is the
        /// worker's memory running out; the worker refuses an upload before that (its memory
        /// check counts ``capacity``), so reaching it is a bug, and trapping is the safe end.
        func grow(to newCapacity: Int) {
            guard newCapacity > capacity else { return }
            guard let grown = realloc(base, newCapacity) else { fatalError("out of memory growing a byte arena to \(newCapacity) bytes") }
            base = grown.assumingMemoryBound(to: UInt8.self)
            capacity = newCapacity
        }

        func copy(capacity: Int) -> Storage {
            let other = Storage()
            other.grow(to: max(capacity, count))
            if count > 0, let base, let target = other.base { target.update(from: base, count: count) }
            other.count = count
            return other
        }
    }
}
