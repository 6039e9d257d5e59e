/// A fixed-point decimal: an `Int64` count of ten-thousandths (scale 4).
///
/// Every `decimal` column, literal and clamping bound uses this one scale, so arithmetic and
/// comparisons are exact integer operations. Text with more than four fractional digits is
/// refused rather than rounded, so nobody's figures are silently changed.
public struct DecimalValue: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Number of fractional decimal digits kept.
    public static let scale = 4
    /// `10^scale`: the scaled value of `1`.
    public static let unit: Int64 = 10_000

    /// The value multiplied by ``unit``.
    public var scaled: Int64

    /// Creates a value from its scaled representation (`12.5` is `scaled: 125_000`).
    public init(scaled: Int64) { self.scaled = scaled }

    /// Creates a value from a whole number, or `nil` if it does not fit once scaled.
    public init?(integer: Int64) {
        let (product, overflow) = integer.multipliedReportingOverflow(by: Self.unit)
        if overflow { return nil }
        self.scaled = product
    }

    /// Parses `[-|+]digits[.digits]`, at most ``scale`` fractional digits.
    ///
    /// - Returns: `nil` for anything else (exponents, spaces, empty, too many digits, overflow).
    public init?(parsing text: Substring) {
        self.init(utf8: text.utf8)
    }

    /// Parses UTF-8 bytes of the form `[-|+]digits[.digits]` (or `.digits`), at most ``scale``
    /// fractional digits, without allocating.
    ///
    /// - Returns: `nil` for anything else (exponents, spaces, empty, too many digits, overflow).
    @inlinable
    public init?<Bytes: Collection>(utf8 bytes: Bytes) where Bytes.Element == UInt8 {
        var utf8 = bytes[...]
        var negative = false
        if let first = utf8.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") {
            negative = first == UInt8(ascii: "-")
            utf8 = utf8.dropFirst()
        }
        guard !utf8.isEmpty else { return nil }
        var whole: Int64 = 0
        var fraction: Int64 = 0
        var fractionDigits = 0
        var sawDot = false
        var sawDigit = false
        for byte in utf8 {
            if byte == UInt8(ascii: ".") {
                if sawDot { return nil }
                sawDot = true
                continue
            }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            let digit = Int64(byte - UInt8(ascii: "0"))
            sawDigit = true
            if sawDot {
                fractionDigits += 1
                if fractionDigits > Self.scale { return nil }
                fraction = fraction * 10 + digit
            } else {
                let (times10, o1) = whole.multipliedReportingOverflow(by: 10)
                let (sum, o2) = times10.addingReportingOverflow(digit)
                if o1 || o2 { return nil }
                whole = sum
            }
        }
        guard sawDigit, !sawDot || fractionDigits > 0 else { return nil }
        for _ in fractionDigits..<Self.scale { fraction *= 10 }
        let (scaledWhole, o1) = whole.multipliedReportingOverflow(by: Self.unit)
        let (magnitude, o2) = scaledWhole.addingReportingOverflow(fraction)
        if o1 || o2 { return nil }
        self.scaled = negative ? -magnitude : magnitude
    }

    /// Parses a whole string; see ``init(parsing:)-(Substring)``.
    public init?(parsing text: String) { self.init(parsing: text[...]) }

    /// Plain decimal text with exactly ``scale`` fractional digits, e.g. `-12.5000`.
    public var description: String {
        let magnitude = scaled.magnitude
        let whole = magnitude / UInt64(Self.unit)
        let fraction = String(magnitude % UInt64(Self.unit))
        let padded = String(repeating: "0", count: Self.scale - fraction.count) + fraction
        return (scaled < 0 ? "-" : "") + "\(whole).\(padded)"
    }

    /// Orders by numeric value.
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.scaled < rhs.scaled }
}
