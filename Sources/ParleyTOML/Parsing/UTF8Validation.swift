/// Strict UTF-8 well-formedness (Unicode table 3-7): no overlong forms, no surrogates, nothing
/// above U+10FFFF, no truncated sequences.
enum UTF8Validation {
    /// The offset of the first byte that does not start a well-formed sequence, or `nil` if all
    /// bytes are well-formed.
    static func firstInvalidOffset(in bytes: [UInt8]) -> Int? {
        var index = 0
        while index < bytes.count {
            let lead = bytes[index]
            if lead < 0x80 {
                index += 1
                continue
            }
            let length: Int
            var low: UInt8 = 0x80
            var high: UInt8 = 0xBF
            switch lead {
            case 0xC2...0xDF: length = 2
            case 0xE0: length = 3; low = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED: length = 3; high = 0x9F
            case 0xF0: length = 4; low = 0x90
            case 0xF1...0xF3: length = 4
            case 0xF4: length = 4; high = 0x8F
            default: return index
            }
            guard index + 1 < bytes.count, (low...high).contains(bytes[index + 1]) else {
                return index
            }
            for next in 2..<length {
                guard index + next < bytes.count, (0x80...0xBF).contains(bytes[index + next]) else {
                    return index
                }
            }
            index += length
        }
        return nil
    }
}
