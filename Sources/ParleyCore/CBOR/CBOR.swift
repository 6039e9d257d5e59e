/// A CBOR data item (RFC 8949).
///
/// Parley encodes every structure deterministically (RFC 8949 section 4.2.1) with
/// ``CBOREncoder`` and reads untrusted bytes only through ``CBORDecoder``, which caps depth,
/// counts and sizes and, by default, rejects anything that is not in deterministic form.
public indirect enum CBOR: Sendable, Hashable {
    /// Major type 0: an unsigned integer.
    case unsigned(UInt64)
    /// Major type 1: the negative integer `-1 - n`.
    case negative(UInt64)
    /// Major type 2: a byte string.
    case bytes([UInt8])
    /// Major type 3: a text string (valid UTF-8).
    case text(String)
    /// Major type 4: an array.
    case array([CBOR])
    /// Major type 5: a map. Keys are unique; encoding orders them bytewise.
    case map([CBOR: CBOR])
    /// Major type 6: a tagged item.
    case tagged(UInt64, CBOR)
    /// Simple values 20 and 21.
    case bool(Bool)
    /// Simple value 22.
    case null
    /// Simple value 23.
    case undefined
    /// Major type 7 floating point (half, single or double on the wire).
    case float(Double)

    /// A signed integer, mapped onto major type 0 or 1.
    public static func int(_ value: Int64) -> CBOR {
        value >= 0 ? .unsigned(UInt64(value)) : .negative(UInt64(-(value + 1)))
    }

    /// A map with text keys, the shape of every Parley structure.
    public static func textMap(_ entries: [String: CBOR]) -> CBOR {
        var m: [CBOR: CBOR] = [:]
        for (k, v) in entries { m[.text(k)] = v }
        return .map(m)
    }

    /// The value as a signed 64-bit integer, if it is an integer in range.
    public var int64: Int64? {
        switch self {
        case .unsigned(let u): return u <= UInt64(Int64.max) ? Int64(u) : nil
        case .negative(let n): return n <= UInt64(Int64.max) ? -1 - Int64(n) : nil
        default: return nil
        }
    }

    /// A short name of the item's kind, for error messages.
    public var kindName: String {
        switch self {
        case .unsigned, .negative: return "integer"
        case .bytes: return "byte string"
        case .text: return "text string"
        case .array: return "array"
        case .map: return "map"
        case .tagged: return "tagged item"
        case .bool: return "bool"
        case .null: return "null"
        case .undefined: return "undefined"
        case .float: return "float"
        }
    }
}
