import Foundation

/// Standard base64 (RFC 4648 section 4) with padding, decoded strictly: no whitespace, and only
/// the canonical encoding of its bytes is accepted, so that one value has one text form.
enum Base64 {
    static func encode(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
    }

    static func decode(_ text: Substring) -> [UInt8]? {
        decode(String(text))
    }

    static func decode(_ text: String) -> [UInt8]? {
        guard let data = Data(base64Encoded: text) else { return nil }
        let bytes = [UInt8](data)
        guard encode(bytes) == text else { return nil }
        return bytes
    }
}

extension Sequence<UInt8> {
    /// Lower-case hexadecimal.
    var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in self {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Big-endian integer framing for the storage formats.
enum BigEndian {
    static func append(_ value: UInt32, to out: inout [UInt8]) {
        for shift in stride(from: 24, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) }
    }

    static func append(_ value: UInt64, to out: inout [UInt8]) {
        for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }

    static func uint32(_ bytes: some RandomAccessCollection<UInt8>, at offset: Int) -> UInt32 {
        var value: UInt32 = 0
        var i = bytes.index(bytes.startIndex, offsetBy: offset)
        for _ in 0..<4 {
            value = value << 8 | UInt32(bytes[i])
            i = bytes.index(after: i)
        }
        return value
    }

    static func uint64(_ bytes: some RandomAccessCollection<UInt8>, at offset: Int) -> UInt64 {
        var value: UInt64 = 0
        var i = bytes.index(bytes.startIndex, offsetBy: offset)
        for _ in 0..<8 {
            value = value << 8 | UInt64(bytes[i])
            i = bytes.index(after: i)
        }
        return value
    }
}
