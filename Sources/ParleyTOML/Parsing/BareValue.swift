/// Decides what an unquoted value is: a boolean, an integer, a float, `inf`/`nan`, or something
/// refused (a date, a bad number, unquoted text).
///
/// Numbers follow TOML 1.0: decimal integers with an optional sign and no leading zeros;
/// `0x`, `0o`, `0b` integers without a sign; floats with digits on both sides of the point and
/// an optional exponent; underscores only between two digits; everything within 64 bits.
enum BareValue {
    enum Outcome: Equatable {
        case value(TOMLValue.Kind)
        case refused(TOMLError.Code, String)
    }

    static func interpret(_ text: String) -> Outcome {
        switch text {
        case "true": return .value(.bool(true))
        case "false": return .value(.bool(false))
        case "inf", "+inf": return .value(.float(.infinity, text: text))
        case "-inf": return .value(.float(-.infinity, text: text))
        case "nan", "+nan", "-nan": return .value(.float(.nan, text: text))
        default: break
        }
        let bytes = Array(text.utf8)
        if looksLikeDateOrTime(bytes) {
            return .refused(
                .unsupported,
                "dates and times are not supported (found \(text)); write the value as a string: \"\(text)\"")
        }
        guard let first = bytes.first else {
            return .refused(.syntax, "expected a value")
        }
        if ASCII.isLetter(first) {
            return refuseWord(text)
        }
        if bytes.count >= 2, first == ASCII.zero, let radix = radix(of: bytes[1]) {
            return parseRadixInteger(text, digits: bytes[2...], radix: radix)
        }
        if bytes.count >= 3, first == ASCII.plus || first == ASCII.minus, bytes[1] == ASCII.zero,
           radix(of: bytes[2]) != nil {
            return .refused(
                .invalidNumber,
                "invalid number \(text): hexadecimal, octal and binary integers cannot have a sign")
        }
        return parseDecimal(text, bytes)
    }

    private static func refuseWord(_ text: String) -> Outcome {
        let lower = text.lowercased()
        if lower == "true" || lower == "false" {
            return .refused(.syntax, "invalid value \(text): booleans are written in lower case, \(lower)")
        }
        if lower == "inf" || lower == "nan" {
            return .refused(.syntax, "invalid value \(text): write \(lower) in lower case")
        }
        return .refused(.syntax, "invalid value \(text): text must be in quotes, e.g. \"\(text)\"")
    }

    /// `YYYY-` or `HH:` at the start: an offset date-time, local date-time, local date or local time.
    private static func looksLikeDateOrTime(_ bytes: [UInt8]) -> Bool {
        if bytes.count >= 5, bytes[0..<4].allSatisfy(ASCII.isDigit), bytes[4] == ASCII.minus {
            return true
        }
        return bytes.count >= 3 && bytes[0..<2].allSatisfy(ASCII.isDigit) && bytes[2] == ASCII.colon
    }

    private static func radix(of marker: UInt8) -> UInt64? {
        switch marker {
        case UInt8(ascii: "x"): 16
        case UInt8(ascii: "o"): 8
        case UInt8(ascii: "b"): 2
        default: nil
        }
    }

    private static func digitValue(_ byte: UInt8, radix: UInt64) -> UInt64? {
        guard let value = ASCII.hexValue(byte).map(UInt64.init), value < radix else { return nil }
        return value
    }

    /// Why a run of digits and underscores is malformed, or `nil` if it is well-formed.
    private static func digitRunProblem(_ run: ArraySlice<UInt8>, radix: UInt64) -> String? {
        guard let first = run.first, let last = run.last else { return "digits are missing" }
        if first == ASCII.underscore || last == ASCII.underscore {
            return "an underscore must sit between two digits"
        }
        var previousWasUnderscore = false
        for byte in run {
            if byte == ASCII.underscore {
                if previousWasUnderscore { return "an underscore must sit between two digits, not next to another underscore" }
                previousWasUnderscore = true
            } else if digitValue(byte, radix: radix) == nil {
                return "\(ByteCursor.describe(Unicode.Scalar(byte))) is not a digit here"
            } else {
                previousWasUnderscore = false
            }
        }
        return nil
    }

    /// Accumulates digits (underscores skipped) into a magnitude, or `nil` on overflow.
    private static func magnitude(_ run: ArraySlice<UInt8>, radix: UInt64) -> UInt64? {
        var total: UInt64 = 0
        for byte in run where byte != ASCII.underscore {
            guard let digit = digitValue(byte, radix: radix) else { return nil }
            let (shifted, overflowA) = total.multipliedReportingOverflow(by: radix)
            let (sum, overflowB) = shifted.addingReportingOverflow(digit)
            if overflowA || overflowB { return nil }
            total = sum
        }
        return total
    }

    private static func parseRadixInteger(_ text: String, digits: ArraySlice<UInt8>, radix: UInt64) -> Outcome {
        if let problem = digitRunProblem(digits, radix: radix) {
            return .refused(.invalidNumber, "invalid number \(text): \(problem)")
        }
        guard let value = magnitude(digits, radix: radix), value <= UInt64(Int64.max) else {
            return .refused(.invalidNumber, "integer \(text) does not fit in a 64-bit signed integer")
        }
        return .value(.integer(Int64(value)))
    }

    private static func parseDecimal(_ text: String, _ bytes: [UInt8]) -> Outcome {
        var index = 0
        let isNegative = bytes.first == ASCII.minus
        if bytes.first == ASCII.plus || isNegative {
            index = 1
        }
        func run(from start: Int) -> Int {
            var end = start
            while end < bytes.count, ASCII.isDigit(bytes[end]) || bytes[end] == ASCII.underscore {
                end += 1
            }
            return end
        }
        func refused(_ problem: String) -> Outcome {
            .refused(.invalidNumber, "invalid number \(text): \(problem)")
        }

        let integerEnd = run(from: index)
        let integerDigits = bytes[index..<integerEnd]
        if integerDigits.isEmpty {
            if integerEnd < bytes.count, bytes[integerEnd] == ASCII.dot {
                return refused("a decimal point needs a digit before it, e.g. 0.5")
            }
            return refused("expected digits")
        }
        if let problem = digitRunProblem(integerDigits, radix: 10) { return refused(problem) }
        let significant = integerDigits.filter { $0 != ASCII.underscore }
        if significant.count > 1, significant.first == ASCII.zero {
            return refused("leading zeros are not allowed")
        }
        index = integerEnd

        var isFloat = false
        if index < bytes.count, bytes[index] == ASCII.dot {
            isFloat = true
            let fractionEnd = run(from: index + 1)
            let fraction = bytes[(index + 1)..<fractionEnd]
            if fraction.isEmpty { return refused("a decimal point needs a digit after it, e.g. 1.0") }
            if let problem = digitRunProblem(fraction, radix: 10) { return refused(problem) }
            index = fractionEnd
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            isFloat = true
            index += 1
            if index < bytes.count, bytes[index] == ASCII.plus || bytes[index] == ASCII.minus {
                index += 1
            }
            let exponentEnd = run(from: index)
            let exponent = bytes[index..<exponentEnd]
            if exponent.isEmpty { return refused("an exponent needs digits, e.g. 1e-9") }
            if let problem = digitRunProblem(exponent, radix: 10) { return refused(problem) }
            index = exponentEnd
        }
        if index < bytes.count {
            let scalar = Unicode.Scalar(bytes[index])
            return refused("unexpected \(ByteCursor.describe(scalar))")
        }

        if isFloat {
            let plain = String(decoding: bytes.filter { $0 != ASCII.underscore }, as: UTF8.self)
            guard let value = Double(plain), value.isFinite else {
                return .refused(.invalidNumber, "float \(text) is out of the range of a 64-bit float")
            }
            return .value(.float(value, text: text))
        }
        guard let magnitude = magnitude(integerDigits, radix: 10) else {
            return .refused(.invalidNumber, "integer \(text) does not fit in a 64-bit signed integer")
        }
        if isNegative {
            if magnitude == UInt64(Int64.max) + 1 { return .value(.integer(.min)) }
            guard magnitude <= UInt64(Int64.max) else {
                return .refused(.invalidNumber, "integer \(text) does not fit in a 64-bit signed integer")
            }
            return .value(.integer(-Int64(magnitude)))
        }
        guard magnitude <= UInt64(Int64.max) else {
            return .refused(.invalidNumber, "integer \(text) does not fit in a 64-bit signed integer")
        }
        return .value(.integer(Int64(magnitude)))
    }
}
