import CTSS2

/// Copying between Swift byte arrays and the fixed C arrays (imported as tuples) of TSS types.
enum TSSBytes {
    /// The first `count` bytes of a fixed C array, capped at its capacity.
    static func read<Storage>(_ storage: Storage, count: Int) -> [UInt8] {
        withUnsafeBytes(of: storage) { Array($0.prefix(max(0, count))) }
    }

    /// Copies `bytes` into the start of a fixed C array.
    /// - Throws: ``TPMError/Code/invalidArgument`` when `bytes` does not fit.
    static func write<Storage>(_ bytes: [UInt8], into storage: inout Storage,
                               field: String) throws(TPMError) {
        let capacity = MemoryLayout<Storage>.size
        guard bytes.count <= capacity else {
            throw TPMError(.invalidArgument, "\(field) is \(bytes.count) bytes; at most \(capacity) fit")
        }
        withUnsafeMutableBytes(of: &storage) { buffer in
            buffer.copyBytes(from: bytes)
        }
    }

    /// Marshals a TSS structure with one of the Tss2_MU_*_Marshal functions.
    static func marshal<Value>(
        _ value: Value, _ name: String,
        _ function: (UnsafePointer<Value>?, UnsafeMutablePointer<UInt8>?, Int, UnsafeMutablePointer<Int>?) -> TSS2_RC
    ) throws(TPMError) -> [UInt8] {
        var value = value
        // A marshalled structure is never larger than its C representation plus size fields.
        var buffer = [UInt8](repeating: 0, count: MemoryLayout<Value>.size + 64)
        var offset = 0
        let capacity = buffer.count
        let responseCode = buffer.withUnsafeMutableBufferPointer { output in
            function(&value, output.baseAddress, capacity, &offset)
        }
        try check(responseCode, "marshalling \(name)")
        return Array(buffer.prefix(offset))
    }
}
