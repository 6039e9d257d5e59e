extension Rational {
    /// The longest decimal text accepted; longer text is refused rather than parsed slowly.
    static let maximumDecimalLength = 64

    /// Parses a non-negative decimal exactly: `"1"`, `"1.0"`, `"0.5"`, `"1e-9"`, `"2.5E+3"`.
    ///
    /// Grammar: one or more digits, optionally `.` and one or more digits, optionally `e` or
    /// `E`, an optional sign and one or more digits. No sign, spaces, underscores, `inf` or
    /// `nan`. The result is exact: `"0.1"` is one tenth, not the nearest binary fraction.
    /// - Throws: ``Refusal/invalidNumber(_:)`` for text outside the grammar,
    ///   ``Refusal/parameterOverflow(_:)`` when the exact value does not fit in 64-bit parts
    ///   (for example `"1e-30"`).
    public init(decimal text: String) throws(EgressError) {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty, bytes.count <= Rational.maximumDecimalLength else {
            throw EgressError(.invalidNumber("a decimal must have 1 to \(Rational.maximumDecimalLength) characters"))
        }
        var index = 0
        func digits() -> [UInt8] {
            let start = index
            while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") { index += 1 }
            return bytes[start..<index].map { $0 - UInt8(ascii: "0") }
        }
        let malformed = EgressError(.invalidNumber(
            "expected a non-negative decimal such as 1.0, 0.5 or 1e-9"))
        let integerDigits = digits()
        guard !integerDigits.isEmpty else { throw malformed }
        var fractionDigits: [UInt8] = []
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            fractionDigits = digits()
            guard !fractionDigits.isEmpty else { throw malformed }
        }
        var exponent = 0
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            var negative = false
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                negative = bytes[index] == UInt8(ascii: "-")
                index += 1
            }
            let exponentDigits = digits()
            guard !exponentDigits.isEmpty, exponentDigits.count <= 4 else { throw malformed }
            exponent = exponentDigits.reduce(0) { $0 * 10 + Int($1) }
            if negative { exponent = -exponent }
        }
        guard index == bytes.count else { throw malformed }

        // value = mantissa * 10^(exponent - fractionDigits.count), mantissa without trailing zeros.
        var mantissaDigits = (integerDigits + fractionDigits).drop { $0 == 0 }
        exponent -= fractionDigits.count
        while let last = mantissaDigits.last, last == 0 {
            mantissaDigits.removeLast()
            exponent += 1
        }
        if mantissaDigits.isEmpty {
            self = .zero
            return
        }
        let overflow = EgressError(.parameterOverflow("decimal has more precision or range than 64-bit fractions hold"))
        guard mantissaDigits.count <= 38, abs(exponent) <= 38 else { throw overflow }
        var mantissa: UInt128 = 0
        for digit in mantissaDigits { mantissa = mantissa * 10 + UInt128(digit) }
        var power: UInt128 = 1
        for _ in 0..<abs(exponent) {
            let (next, overflowed) = power.multipliedReportingOverflow(by: 10)
            guard !overflowed else { throw overflow }
            power = next
        }
        if exponent >= 0 {
            let (value, overflowed) = mantissa.multipliedReportingOverflow(by: power)
            guard !overflowed else { throw overflow }
            self = try Rational(reducingWide: value, 1, what: "decimal value")
        } else {
            self = try Rational(reducingWide: mantissa, power, what: "decimal value")
        }
    }

    /// Converts a `Double` exactly (every finite `Double` is a fraction with a power-of-two
    /// denominator). Prefer ``init(decimal:)``: `0.1` as a `Double` is not one tenth, and
    /// `1e-9` as a `Double` needs a denominator of 2^82, which is refused.
    /// - Throws: ``Refusal/invalidNumber(_:)`` for NaN, infinities and negative values,
    ///   ``Refusal/parameterOverflow(_:)`` when the exact fraction does not fit in 64-bit parts.
    public init(exactly value: Double) throws(EgressError) {
        guard value.isFinite, value >= 0 else {
            throw EgressError(.invalidNumber("a privacy parameter must be a finite, non-negative number"))
        }
        if value == 0 {
            self = .zero
            return
        }
        let overflow = EgressError(.parameterOverflow("binary fraction does not fit in 64-bit parts; give it as a decimal string"))
        guard value.isNormal else { throw overflow }
        var significand = UInt64(value.significandBitPattern) | (UInt64(1) << 52)
        var exponent = Int(value.exponent) - 52
        let shift = min(significand.trailingZeroBitCount, max(0, -exponent))
        significand >>= UInt64(shift)
        exponent += shift
        if exponent >= 0 {
            guard exponent < 64, significand.leadingZeroBitCount >= exponent else { throw overflow }
            self.init(reducing: significand << UInt64(exponent), 1)
        } else {
            guard -exponent < 64 else { throw overflow }
            self.init(reducing: significand, UInt64(1) << UInt64(-exponent))
        }
    }
}

extension Rational {
    /// Parses what ``description`` writes: an exact decimal (`"0.25"`) or a fraction (`"1/3"`),
    /// as worker log entries carry epsilon.
    /// - Throws: ``Refusal/invalidNumber(_:)`` or ``Refusal/parameterOverflow(_:)``.
    public init(exactText text: String) throws(EgressError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        if parts.count == 2, let n = UInt64(parts[0]), let d = UInt64(parts[1]) {
            self = try Rational(n, d)
        } else {
            self = try Rational(decimal: text)
        }
    }
}
