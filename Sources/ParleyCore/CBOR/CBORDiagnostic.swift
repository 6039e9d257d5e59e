import Foundation

/// RFC 8949 section 8 diagnostic notation, for people reading CBOR (and for tests).
/// Map entries print in deterministic (encoded-key) order.
extension CBOR: CustomStringConvertible {
    public var description: String {
        switch self {
        case .unsigned(let u): return String(u)
        case .negative(let n): return n == UInt64.max ? "-18446744073709551616" : "-\(n + 1)"
        case .bytes(let b): return "h'\(Hex.encode(b))'"
        case .text(let s): return Self.quote(s)
        case .array(let items): return "[" + items.map(\.description).joined(separator: ", ") + "]"
        case .map(let m):
            let sorted = m.map { (key: CBOREncoder.encode($0.key), k: $0.key, v: $0.value) }
                .sorted { $0.key.lexicographicallyPrecedes($1.key) }
            return "{" + sorted.map { "\($0.k): \($0.v)" }.joined(separator: ", ") + "}"
        case .tagged(let t, let inner): return "\(t)(\(inner))"
        case .bool(let b): return b ? "true" : "false"
        case .null: return "null"
        case .undefined: return "undefined"
        case .float(let d):
            if d.isNaN { return "NaN" }
            if d.isInfinite { return d < 0 ? "-Infinity" : "Infinity" }
            return "\(d)"
        }
    }

    private static func quote(_ s: String) -> String {
        var out = "\""
        for ch in s.unicodeScalars {
            switch ch {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default:
                if ch.value < 0x20 { out += String(format: "\\u%04x", ch.value) } else { out.unicodeScalars.append(ch) }
            }
        }
        return out + "\""
    }
}
