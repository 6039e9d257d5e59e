/// Inclusive clamping bounds for one numeric column, in the column's storage unit.
///
/// For an `int` column the bounds are plain integers; for a `decimal` column they are scaled
/// by ``DecimalValue/unit`` (use ``init(decimalLower:upper:)`` to write them as decimals).
/// A privacy unit's total contribution to a SUM or AVG within one group is clamped to them.
public struct ClampBounds: Hashable, Sendable, CustomStringConvertible {
    /// The smallest contribution kept.
    public var lower: Int64
    /// The largest contribution kept.
    public var upper: Int64

    /// Creates bounds in storage units.
    public init(lower: Int64, upper: Int64) {
        self.lower = lower
        self.upper = upper
    }

    /// Creates bounds for a decimal column from decimal values.
    public init(decimalLower lower: DecimalValue, upper: DecimalValue) {
        self.init(lower: lower.scaled, upper: upper.scaled)
    }

    /// Clamps a value into `lower...upper`.
    @inlinable
    public func clamp(_ value: Int64) -> Int64 { Swift.min(Swift.max(value, lower), upper) }

    /// `[lower, upper]` in storage units.
    public var description: String { "[\(lower), \(upper)]" }
}

/// One declared column of a dataset.
public struct ColumnSchema: Hashable, Sendable {
    /// The column's name, case-sensitive, as queries and CSV headers spell it.
    public var name: String
    /// The column's type.
    public var type: ColumnType
    /// Clamping bounds; required for a column used in SUM or AVG, only valid on numeric columns.
    public var bounds: ClampBounds?

    /// Creates a column declaration.
    public init(name: String, type: ColumnType, bounds: ClampBounds? = nil) {
        self.name = name
        self.type = type
        self.bounds = bounds
    }
}

/// A dataset as a module declares it: who provides it, its columns and its privacy unit.
///
/// Values are validated on creation, so a `DatasetSchema` in hand is always usable: names are
/// plain identifiers, column names are unique, the privacy unit exists and is `text` or `int`,
/// bounds sit only on numeric columns with `lower <= upper`.
public struct DatasetSchema: Hashable, Sendable {
    /// The dataset's name, as queries refer to it (case-sensitive).
    public let name: String
    /// The party that uploads it.
    public let provider: String
    /// The columns, in declaration order.
    public let columns: [ColumnSchema]
    /// The name of the column that identifies a person (the privacy unit): the first of
    /// ``unitIdentifiers``.
    public let privacyUnit: String
    /// Every identifier column that identifies a person, in matching priority order: the privacy
    /// unit first, then the further identifiers a module declared (`privacy_unit = ["email",
    /// "phone"]`). One element unless the dataset matches on several identifiers.
    public let unitIdentifiers: [String]
    /// The default country of national numbers in the dataset's `phone` columns.
    public let phoneCountry: PhoneCountry?

    /// Validates and creates a dataset declaration.
    ///
    /// - Parameters:
    ///   - alsoIdentifiedBy: Further identifier columns a person is matched on after the privacy
    ///     unit, in priority order (see ``unitIdentifiers``).
    ///   - phoneCountry: Required when a column has type `phone`.
    /// - Throws: ``SchemaError`` naming the dataset and the column at fault.
    public init(name: String, provider: String, columns: [ColumnSchema], privacyUnit: String,
                alsoIdentifiedBy: [String] = [], phoneCountry: PhoneCountry? = nil) throws(SchemaError) {
        guard Identifier.isPlain(name) else {
            throw SchemaError("dataset name '\(name)' must be a plain identifier (letters, digits, _; not starting with a digit; not a keyword)")
        }
        guard !columns.isEmpty else { throw SchemaError("dataset '\(name)' declares no columns") }
        var seen = Set<String>()
        for column in columns {
            guard Identifier.isPlain(column.name) else {
                throw SchemaError("dataset '\(name)': column name '\(column.name)' must be a plain identifier (letters, digits, _; not starting with a digit; not a keyword)")
            }
            guard seen.insert(column.name).inserted else {
                throw SchemaError("dataset '\(name)': column '\(column.name)' is declared twice")
            }
            if let bounds = column.bounds {
                guard column.type.isNumeric else {
                    throw SchemaError("dataset '\(name)': column '\(column.name)' is \(column.type); clamping bounds only apply to int or decimal columns, remove them")
                }
                guard bounds.lower <= bounds.upper else {
                    throw SchemaError("dataset '\(name)': column '\(column.name)' has lower bound above upper bound; swap them")
                }
            }
        }
        guard let unit = columns.first(where: { $0.name == privacyUnit }) else {
            throw SchemaError("dataset '\(name)': privacy unit '\(privacyUnit)' is not one of its columns; declare it as a column")
        }
        guard unit.type == .text || unit.type == .int || unit.type.isIdentifier else {
            throw SchemaError("dataset '\(name)': privacy unit '\(privacyUnit)' is \(unit.type); it must be text, int or an identifier type (email, phone, sha256_email, sha256_phone)")
        }
        if !alsoIdentifiedBy.isEmpty, !unit.type.isIdentifier {
            throw SchemaError("dataset '\(name)': matching on several identifiers needs identifier columns, and privacy unit '\(privacyUnit)' is \(unit.type); declare it as email, phone, sha256_email or sha256_phone")
        }
        var identifiers = [privacyUnit]
        for other in alsoIdentifiedBy {
            guard let column = columns.first(where: { $0.name == other }) else {
                throw SchemaError("dataset '\(name)': privacy unit identifier '\(other)' is not one of its columns; declare it as a column")
            }
            guard column.type.isIdentifier else {
                throw SchemaError("dataset '\(name)': privacy unit identifier '\(other)' is \(column.type); only identifier types (email, phone, sha256_email, sha256_phone) can identify a person")
            }
            guard !identifiers.contains(other) else {
                throw SchemaError("dataset '\(name)': privacy unit identifier '\(other)' is listed twice; list each once, in priority order")
            }
            identifiers.append(other)
        }
        if let phone = columns.first(where: { $0.type == .phone }), phoneCountry == nil {
            throw SchemaError("dataset '\(name)': column '\(phone.name)' is a phone number, so the dataset needs a default country for national numbers: add phone_country = \"US\" (or another ISO 3166 code: \(PhoneCountry.table.map(\.code).joined(separator: ", ")))")
        }
        guard unit.bounds == nil else {
            throw SchemaError("dataset '\(name)': privacy unit '\(privacyUnit)' cannot have clamping bounds; it is never aggregated")
        }
        self.name = name
        self.provider = provider
        self.columns = columns
        self.privacyUnit = privacyUnit
        self.unitIdentifiers = identifiers
        self.phoneCountry = phoneCountry
    }

    /// Whether the named column is one of the identifiers of a person (``unitIdentifiers``).
    public func isUnitIdentifier(_ column: String) -> Bool { unitIdentifiers.contains(column) }

    /// The index of the column with this exact name, if any.
    public func columnIndex(named name: String) -> Int? {
        columns.firstIndex { $0.name == name }
    }

    /// The index of the privacy-unit column.
    public var privacyUnitIndex: Int {
        // Validated in init, so the column exists.
        columns.firstIndex { $0.name == privacyUnit } ?? 0
    }
}

/// The datasets a module declares, by name: what a query is checked against.
public struct DatasetCatalog: Hashable, Sendable {
    /// The datasets by name.
    public let datasets: [String: DatasetSchema]

    /// Creates a catalog.
    ///
    /// - Throws: ``SchemaError`` if two datasets share a name.
    public init(_ datasets: [DatasetSchema]) throws(SchemaError) {
        var byName: [String: DatasetSchema] = [:]
        for dataset in datasets {
            guard byName.updateValue(dataset, forKey: dataset.name) == nil else {
                throw SchemaError("dataset '\(dataset.name)' is declared twice; give each dataset its own name")
            }
        }
        self.datasets = byName
    }

    /// The dataset with this exact name.
    public subscript(name: String) -> DatasetSchema? { datasets[name] }
}
