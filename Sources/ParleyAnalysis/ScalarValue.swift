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

    /// Whether SUM and AVG accept the type (`int`, `decimal`).
    public var isNumeric: Bool { self == .int || self == .decimal }

    /// The type's spelling in a module source.
    public var description: String { rawValue }
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
