/// A TOML table: keys in the order they were written, each with its value and the positions of
/// both.
///
/// Tables also know the file they came from and their path, so the typed accessors in
/// `TOMLTable+TypedAccess.swift` can build errors that point into the file by themselves.
public struct TOMLTable: Sendable, Equatable {
    /// One key of a table.
    public struct Entry: Sendable, Equatable {
        /// The key, after quotes and escapes are removed.
        public let key: String
        /// Where the key is written. For a dotted key `a.b.c = 1` each part has its own position;
        /// for a table made by a header `[a.b]`, the position of that part of the header.
        public let keyPosition: TOMLPosition
        /// The value.
        public let value: TOMLValue
    }

    /// The file name given to the parser, used in errors.
    public let fileName: String
    /// Where this table sits in the document; empty for the top level.
    public let path: TOMLPath
    /// Where the table was defined: 1:1 for the top level, the `[` of its header, the key that
    /// created it through a dotted key, or the `{` of an inline table. A table only implied by a
    /// header such as `[a.b]` (here `a`) takes that header's position.
    public let position: TOMLPosition
    /// The entries in the order their keys first appeared.
    public let entries: [Entry]
    private let indexByKey: [String: Int]

    init(fileName: String, path: TOMLPath, position: TOMLPosition, entries: [Entry]) {
        self.fileName = fileName
        self.path = path
        self.position = position
        self.entries = entries
        var index: [String: Int] = [:]
        for (offset, entry) in entries.enumerated() {
            index[entry.key] = offset
        }
        self.indexByKey = index
    }

    /// The keys in the order they first appeared in the file.
    public var keys: [String] { entries.map(\.key) }

    /// The number of keys.
    public var count: Int { entries.count }

    /// Whether the table has no keys.
    public var isEmpty: Bool { entries.isEmpty }

    /// The entry for a key, if present.
    public func entry(for key: String) -> Entry? {
        indexByKey[key].map { entries[$0] }
    }

    /// The value for a key, if present.
    public func value(for key: String) -> TOMLValue? {
        entry(for: key)?.value
    }

    /// The value for a key, if present.
    public subscript(key: String) -> TOMLValue? {
        value(for: key)
    }

    /// Where the key is written, if present.
    public func position(of key: String) -> TOMLPosition? {
        entry(for: key)?.keyPosition
    }

    /// Where the key's value starts, if present.
    public func valuePosition(of key: String) -> TOMLPosition? {
        entry(for: key)?.value.position
    }

    /// Whether the table has the key.
    public func contains(_ key: String) -> Bool {
        indexByKey[key] != nil
    }
}
