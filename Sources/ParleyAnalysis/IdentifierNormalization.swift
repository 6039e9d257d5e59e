/// The normalisation rules of the identifier column types, as a party's reviewers read them
/// (docs/privacy.md, "Identifier columns"): pure functions from an uploaded field to the
/// canonical text that the worker hashes, or the reason the field is unusable.
///
/// Written here rather than taken from a library: the rules are part of what the module's
/// measurement commits to, so they must be small, fixed, deterministic and reviewable (no locale,
/// no metadata tables that change between versions). The conventions followed are the ad-tech
/// ones a party that pre-hashes uses (Google's enhanced conversions): emails trimmed and
/// lower-cased with dots removed from Gmail local parts; phones in E.164 with the leading `+`.
public enum IdentifierNormalization {
    /// Why a field cannot be used as an identifier. Never carries the field's contents.
    public enum Problem: String, Error, Hashable, Sendable, CaseIterable {
        /// The field is empty (or only spaces).
        case empty
        /// Not an email address: it needs one `@`, a local part and a domain with a dot.
        case notAnEmail = "not_an_email"
        /// Not a phone number that can be written in E.164 with the dataset's default country.
        case notAPhoneNumber = "not_a_phone_number"
        /// Not 64 hexadecimal digits.
        case notSHA256Hex = "not_sha256_hex"
    }

    /// Longest field considered (an email address is at most 254 bytes; a phone number with
    /// separators far less): longer fields are unusable, never scanned further.
    public static let maxFieldBytes = 320

    /// The canonical form of an email address: trimmed, ASCII letters lower-cased, and for
    /// `gmail.com` and `googlemail.com` the dots of the local part removed.
    public static func email(_ field: some Collection<UInt8>) -> Result<[UInt8], Problem> {
        guard field.count <= maxFieldBytes else { return .failure(.notAnEmail) }
        let bytes = trimmed(field).map(asciiLower)
        guard !bytes.isEmpty else { return .failure(.empty) }
        guard let at = bytes.firstIndex(of: UInt8(ascii: "@")), bytes.lastIndex(of: UInt8(ascii: "@")) == at else {
            return .failure(.notAnEmail)
        }
        var local = Array(bytes[..<at])
        let domain = Array(bytes[(at + 1)...])
        guard bytes.count <= 254, (1...64).contains(local.count), (3...253).contains(domain.count) else { return .failure(.notAnEmail) }
        // No spaces, control characters or quotes anywhere; the domain is dot-separated labels.
        guard !bytes.contains(where: { $0 <= 0x20 || $0 == 0x7F || $0 == UInt8(ascii: "\"") }) else { return .failure(.notAnEmail) }
        let labels = domain.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard labels.count >= 2, labels.allSatisfy({ !$0.isEmpty && $0.first != UInt8(ascii: "-") && $0.last != UInt8(ascii: "-") }) else {
            return .failure(.notAnEmail)
        }
        if domain == Array("gmail.com".utf8) || domain == Array("googlemail.com".utf8) {
            local.removeAll { $0 == UInt8(ascii: ".") }
            guard !local.isEmpty else { return .failure(.notAnEmail) }
        }
        return .success(local + [UInt8(ascii: "@")] + domain)
    }

    /// The E.164 form (`+` and 7 to 15 digits) of a phone number. Spaces, `-`, `.`, `/` and
    /// parentheses are separators; any other character makes the field unusable. A number that
    /// starts with `+` (or the international prefix: `00`, or `011` in the North American plan)
    /// is international; any other is national to `country`: its trunk prefix is removed (`0`,
    /// or `1` in the North American plan) and the country's calling code put in front.
    public static func phone(_ field: some Collection<UInt8>, country: PhoneCountry) -> Result<[UInt8], Problem> {
        guard field.count <= maxFieldBytes else { return .failure(.notAPhoneNumber) }
        let bytes = trimmed(field)
        guard !bytes.isEmpty else { return .failure(.empty) }
        var digits: [UInt8] = []
        var international = false
        for (offset, byte) in bytes.enumerated() {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digits.append(byte)
            case UInt8(ascii: "+") where offset == 0: international = true
            case UInt8(ascii: " "), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "/"), UInt8(ascii: "("), UInt8(ascii: ")"): continue
            default: return .failure(.notAPhoneNumber)
            }
        }
        if !international {
            let prefix = Array(country.internationalPrefix.utf8)
            if digits.starts(with: prefix) {
                digits.removeFirst(prefix.count)
                international = true
            }
        }
        if !international {
            let trunk = Array(country.trunkPrefix.utf8)
            if !trunk.isEmpty, digits.starts(with: trunk), country.nationalDigits.contains(digits.count - trunk.count) {
                digits.removeFirst(trunk.count)
            }
            guard country.nationalDigits.contains(digits.count) else { return .failure(.notAPhoneNumber) }
            digits = Array(country.callingCode.utf8) + digits
        }
        guard (7...15).contains(digits.count), digits.first != UInt8(ascii: "0") else { return .failure(.notAPhoneNumber) }
        return .success([UInt8(ascii: "+")] + digits)
    }

    /// A SHA-256 written as 64 hexadecimal digits (either case; spaces around are trimmed), as
    /// lower-case hex.
    public static func sha256Hex(_ field: some Collection<UInt8>) -> Result<[UInt8], Problem> {
        guard field.count <= maxFieldBytes else { return .failure(.notSHA256Hex) }
        let bytes = trimmed(field)
        guard !bytes.isEmpty else { return .failure(.empty) }
        guard bytes.count == 64 else { return .failure(.notSHA256Hex) }
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "f"): out.append(byte)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): out.append(byte + 0x20)
            default: return .failure(.notSHA256Hex)
            }
        }
        return .success(out)
    }

    static func trimmed(_ field: some Collection<UInt8>) -> ArraySlice<UInt8> {
        let bytes = Array(field)[...]
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
        guard let first = bytes.firstIndex(where: { !isSpace($0) }), let last = bytes.lastIndex(where: { !isSpace($0) }) else { return [] }
        return bytes[first...last]
    }

    static func asciiLower(_ byte: UInt8) -> UInt8 {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte + 0x20 : byte
    }
}

/// A default country for national phone numbers: its calling code, trunk prefix, international
/// prefix and the length of its national significant numbers.
///
/// The table is small and fixed on purpose (see ``IdentifierNormalization``): a module names one
/// of these ISO 3166 codes as a dataset's `phone_country`. Countries whose national numbers keep
/// their leading 0 (Italy) or have none (Spain, Norway, ...) have an empty trunk prefix.
public struct PhoneCountry: Hashable, Sendable {
    /// ISO 3166-1 alpha-2 code, upper case.
    public let code: String
    /// ITU-T E.164 country calling code, digits only.
    public let callingCode: String
    /// Dialled before a national number inside the country and dropped in E.164 ("" if none).
    public let trunkPrefix: String
    /// Dialled before an international number from inside the country.
    public let internationalPrefix: String
    /// Digits of a national significant number (after the trunk prefix).
    public let nationalDigits: ClosedRange<Int>

    /// The country with this ISO code (case-insensitive), if the table has it.
    public init?(code: String) {
        guard let found = Self.table.first(where: { $0.code == code.uppercased() }) else { return nil }
        self = found
    }

    private init(_ code: String, _ calling: String, trunk: String, international: String = "00", digits: ClosedRange<Int>) {
        self.code = code
        callingCode = calling
        trunkPrefix = trunk
        internationalPrefix = international
        nationalDigits = digits
    }

    /// Every supported country, by code.
    public static let table: [PhoneCountry] = [
        .init("US", "1", trunk: "1", international: "011", digits: 10...10),
        .init("CA", "1", trunk: "1", international: "011", digits: 10...10),
        .init("GB", "44", trunk: "0", digits: 9...10),
        .init("IE", "353", trunk: "0", digits: 7...9),
        .init("FR", "33", trunk: "0", digits: 9...9),
        .init("DE", "49", trunk: "0", digits: 6...11),
        .init("NL", "31", trunk: "0", digits: 9...9),
        .init("BE", "32", trunk: "0", digits: 8...9),
        .init("CH", "41", trunk: "0", digits: 9...9),
        .init("AT", "43", trunk: "0", digits: 4...13),
        .init("SE", "46", trunk: "0", digits: 7...9),
        .init("FI", "358", trunk: "0", digits: 5...10),
        .init("ES", "34", trunk: "", digits: 9...9),
        .init("IT", "39", trunk: "", digits: 6...11),
        .init("PT", "351", trunk: "", digits: 9...9),
        .init("NO", "47", trunk: "", digits: 8...8),
        .init("DK", "45", trunk: "", digits: 8...8),
        .init("PL", "48", trunk: "", digits: 9...9),
        .init("IN", "91", trunk: "0", digits: 10...10),
        .init("JP", "81", trunk: "0", international: "010", digits: 9...10),
        .init("AU", "61", trunk: "0", international: "0011", digits: 9...9),
        .init("NZ", "64", trunk: "0", digits: 8...10),
        .init("ZA", "27", trunk: "0", digits: 9...9),
        .init("SG", "65", trunk: "", international: "000", digits: 8...8),
    ]
}
