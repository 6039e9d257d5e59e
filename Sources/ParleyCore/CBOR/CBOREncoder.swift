import CCBOR

/// Deterministic CBOR encoding (RFC 8949 section 4.2.1), backed by libcbor.
///
/// - Integers and lengths take their shortest form (libcbor's `cbor_encode_uint` family picks
///   the narrowest width).
/// - Map keys are sorted by the bytewise lexicographic order of their encodings.
/// - Lengths are always definite.
/// - Floats take the shortest of half, single and double that represents the value exactly;
///   every NaN is written as the half-precision quiet NaN `f9 7e00`.
public enum CBOREncoder {
    /// Encodes `item` deterministically.
    public static func encode(_ item: CBOR) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        append(item, to: &out)
        return out
    }

    private static func append(_ item: CBOR, to out: inout [UInt8]) {
        switch item {
        case .unsigned(let v):
            out += header { cbor_encode_uint(v, $0, $1) }
        case .negative(let n):
            out += header { cbor_encode_negint(n, $0, $1) }
        case .bytes(let b):
            out += header { cbor_encode_bytestring_start(b.count, $0, $1) }
            out += b
        case .text(let s):
            let utf8 = Array(s.utf8)
            out += header { cbor_encode_string_start(utf8.count, $0, $1) }
            out += utf8
        case .array(let items):
            out += header { cbor_encode_array_start(items.count, $0, $1) }
            for i in items { append(i, to: &out) }
        case .map(let entries):
            out += header { cbor_encode_map_start(entries.count, $0, $1) }
            let encoded = entries.map { (key: encode($0.key), value: $0.value) }
                .sorted { $0.key.lexicographicallyPrecedes($1.key) }
            for e in encoded {
                out += e.key
                append(e.value, to: &out)
            }
        case .tagged(let tag, let inner):
            out += header { cbor_encode_tag(tag, $0, $1) }
            append(inner, to: &out)
        case .bool(let b):
            out += header { cbor_encode_bool(b, $0, $1) }
        case .null:
            out += header { cbor_encode_null($0, $1) }
        case .undefined:
            out += header { cbor_encode_undef($0, $1) }
        case .float(let d):
            appendFloat(d, to: &out)
        }
    }

    private static func appendFloat(_ d: Double, to out: inout [UInt8]) {
        if d.isNaN {
            out += [0xf9, 0x7e, 0x00]
            return
        }
        let half = Float16(d)
        if Double(half) == d {
            // libcbor's cbor_encode_half rounds subnormals; write the exact IEEE 754 bits.
            let bits = half.bitPattern
            out += [0xf9, UInt8(bits >> 8), UInt8(bits & 0xff)]
            return
        }
        let single = Float(d)
        if Double(single) == d {
            out += header { cbor_encode_single(single, $0, $1) }
            return
        }
        out += header { cbor_encode_double(d, $0, $1) }
    }

    /// Runs a libcbor encoder into a 9-byte scratch buffer (the largest CBOR head).
    private static func header(_ body: (UnsafeMutablePointer<UInt8>, Int) -> Int) -> [UInt8] {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 9) { buf -> [UInt8] in
            guard let base = buf.baseAddress else { return [] }
            let n = body(base, 9)
            precondition(n > 0 && n <= 9, "libcbor failed to encode a CBOR head")
            return Array(UnsafeBufferPointer(start: base, count: n))
        }
    }
}
