import Foundation

/// The four column types of the analysis language.
public enum ColumnType: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// UTF-8 text.
    case text
    /// A signed 64-bit integer.
    case int
    /// A fixed-point number with four fractional digits; see ``DecimalValue``.
    case decimal
    /// A calendar date; see ``DateValue``.
    case date
    /// An email address, normalised and hashed by the worker (see ``IdentifierFamily``).
    case email
    /// A phone number, normalised to E.164 with the dataset's default country and hashed by
    /// the worker.
    case phone
    /// The SHA-256 (64 hex digits) of a normalised email address, as ad-tech parties upload it.
    case sha256Email = "sha256_email"
    /// The SHA-256 (64 hex digits) of a phone number in E.164.
    case sha256Phone = "sha256_phone"

    /// Whether SUM and AVG accept the type (`int`, `decimal`).
    public var isNumeric: Bool { self == .int || self == .decimal }

    /// What the engine stores for a column of this type: text (dictionary codes) or 64-bit
    /// numbers. Identifier types are stored as text: the hex SHA-256 of the normalised value.
    public var storage: ColumnType {
        switch self {
        case .text, .email, .phone, .sha256Email, .sha256Phone: .text
        case .int, .decimal, .date: self
        }
    }

    /// Whether values are stored as text (``storage`` is `text`).
    public var isStoredAsText: Bool { storage == .text }

    /// The identifier family of an identifier type (`email` and `sha256_email` are one family:
    /// they match each other), or nil for plain types.
    public var identifierFamily: IdentifierFamily? {
        switch self {
        case .email, .sha256Email: .email
        case .phone, .sha256Phone: .phone
        case .text, .int, .decimal, .date: nil
        }
    }

    /// Whether the type is one of the identifier types.
    public var isIdentifier: Bool { identifierFamily != nil }

    /// Whether a column of this type can be matched (joined) with one of `other`: the same
    /// type, or two identifier types of one family (a raw email matches a hashed one).
    public func matches(_ other: ColumnType) -> Bool {
        if self == other { return true }
        guard let family = identifierFamily else { return false }
        return family == other.identifierFamily
    }

    /// The type's spelling in a module source.
    public var description: String { rawValue }
}

/// The kinds of person identifier the worker normalises: each family's raw and hashed columns
/// hold the same canonical value (the lower-case hex SHA-256 of the normalised identifier), so
/// they match each other.
public enum IdentifierFamily: String, Hashable, Sendable {
    /// Email addresses (`email`, `sha256_email`).
    case email
    /// Phone numbers in E.164 (`phone`, `sha256_phone`).
    case phone
}

/// A typed constant: a literal in a query, or a group-key value in a result.
public enum ScalarValue: Hashable, Sendable, CustomStringConvertible {
    /// Text.
    case text(String)
    /// A whole number.
    case int(Int64)
    /// A fixed-point decimal.
    case decimal(DecimalValue)
    /// A date.
    case date(DateValue)

    /// The type of the value.
    public var type: ColumnType {
        switch self {
        case .text: .text
        case .int: .int
        case .decimal: .decimal
        case .date: .date
        }
    }

    /// The value written as SQL would write it (`'it''s'`, `42`, `1.5000`, `DATE '2024-01-31'`).
    public var description: String {
        switch self {
        case .text(let text): "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
        case .int(let value): String(value)
        case .decimal(let value): value.description
        case .date(let value): "DATE '\(value)'"
        }
    }
}
