import ParleyAnalysis

/// A text column: one dictionary code per row.
public struct TextColumn: Sendable {
    /// Row `i` holds `dictionary.string(codes[i])`.
    public var codes: [UInt32]
    /// The distinct values.
    public var dictionary: TextDictionary

    /// Creates a column.
    public init(codes: [UInt32] = [], dictionary: TextDictionary = TextDictionary()) {
        self.codes = codes
        self.dictionary = dictionary
    }
}

/// The stored values of one column.
public enum ColumnData: Sendable {
    /// `int` values, `decimal` values scaled by ``DecimalValue/unit``, or `date` day numbers.
    case numbers([Int64])
    /// Dictionary-encoded text.
    case text(TextColumn)

    /// Number of rows.
    public var count: Int {
        switch self {
        case .numbers(let values): values.count
        case .text(let column): column.codes.count
        }
    }
}

/// A loaded dataset in columnar form: one ``ColumnData`` per declared column, in schema order.
public struct Table: Sendable {
    /// The dataset's declaration.
    public let schema: DatasetSchema
    /// Number of rows.
    public let rowCount: Int
    /// The columns, in `schema.columns` order.
    public let columns: [ColumnData]

    /// Creates a table; every column must have `rowCount` values of its declared kind.
    ///
    /// - Throws: ``EngineError`` if the columns do not fit the schema.
    public init(schema: DatasetSchema, columns: [ColumnData]) throws(EngineError) {
        guard columns.count == schema.columns.count else {
            throw EngineError("table for '\(schema.name)' has \(columns.count) columns, the schema declares \(schema.columns.count)")
        }
        let rowCount = columns.first?.count ?? 0
        for (column, data) in zip(schema.columns, columns) {
            guard data.count == rowCount else {
                throw EngineError("column '\(column.name)' of '\(schema.name)' has \(data.count) rows, expected \(rowCount)")
            }
            switch (column.type.storage, data) {
            case (.text, .text), (.int, .numbers), (.decimal, .numbers), (.date, .numbers): break
            default: throw EngineError("column '\(column.name)' of '\(schema.name)' holds the wrong kind of values for \(column.type)")
            }
        }
        self.schema = schema
        self.rowCount = rowCount
        self.columns = columns
    }

    /// Bytes the table's columns hold (their arrays' capacity; a shared upload piece counts as
    /// the text that points into it, which is what it keeps alive at most twice over).
    public var memoryBytes: Int {
        columns.reduce(0) { total, column in
            switch column {
            case .numbers(let values): total + values.capacity * MemoryLayout<Int64>.stride
            case .text(let text): total + text.codes.capacity * MemoryLayout<UInt32>.stride + text.dictionary.memoryBytes
                + 2 * text.dictionary.sharedByteCount
            }
        }
    }

    /// The rows of several tables with identical schemas (up to column order), one after the
    /// other, in the first table's column order: the data of a `UNION ALL` source.
    ///
    /// - Throws: ``EngineError`` if a table lacks a column of the first.
    public static func concatenating(_ tables: [Table]) throws(EngineError) -> Table {
        guard let first = tables.first else { throw EngineError("a union needs at least one table") }
        if tables.count == 1 { return first }
        var columns: [ColumnData] = []
        for column in first.schema.columns {
            var parts: [ColumnData] = []
            for table in tables {
                guard let index = table.schema.columnIndex(named: column.name) else {
                    throw EngineError("'\(table.schema.name)' has no column '\(column.name)' to union with '\(first.schema.name)'")
                }
                parts.append(table.columns[index])
            }
            columns.append(try merge(parts, name: column.name))
        }
        return try Table(schema: first.schema, columns: columns)
    }

    private static func merge(_ parts: [ColumnData], name: String) throws(EngineError) -> ColumnData {
        if case .numbers = parts[0] {
            var values: [Int64] = []
            values.reserveCapacity(parts.reduce(0) { $0 + $1.count })
            for part in parts {
                guard case .numbers(let more) = part else { throw EngineError("column '\(name)' differs in kind across the union") }
                values.append(contentsOf: more)
            }
            return .numbers(values)
        }
        var merged = TextColumn()
        merged.codes.reserveCapacity(parts.reduce(0) { $0 + $1.count })
        for part in parts {
            guard case .text(let column) = part else { throw EngineError("column '\(name)' differs in kind across the union") }
            var remap = [UInt32](repeating: 0, count: column.dictionary.count)
            for code in 0..<column.dictionary.count {
                var isNew = false
                remap[code] = column.dictionary.withBytes(UInt32(code)) { merged.dictionary.intern($0, isNew: &isNew) }
            }
            for code in column.codes { merged.codes.append(remap[Int(code)]) }
        }
        return .text(merged)
    }
}

/// A refusal or failure of the engine outside CSV parsing (missing dataset, overflow, ...).
public struct EngineError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A human explanation.
    public var reason: String
    /// Creates an error.
    public init(_ reason: String) { self.reason = reason }
    /// The reason.
    public var description: String { reason }
}
