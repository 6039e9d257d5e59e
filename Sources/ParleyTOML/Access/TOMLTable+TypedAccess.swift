/// Typed reads that turn a missing key or a wrong value into a ``TOMLError`` pointing into the
/// file, so caller code stays short:
///
/// ```swift
/// let module = try policy.requiredString("module", mustBe: "a string of 96 hex digits") {
///     $0.utf8.count == 96 && $0.allSatisfy(\.isHexDigit)
/// }
/// // policy.toml:3:10: "module" must be a string of 96 hex digits
/// // policy.toml:1:1: missing required key "module"
/// ```
///
/// `mustBe` describes the acceptable value ("a string of 96 hex digits"); it is used when the
/// type is wrong and when `where` refuses the value. Without it, the type is described
/// ("must be a string"). Optional reads return `nil` only when the key is absent; a present
/// value of the wrong type is still an error.
extension TOMLTable {
    // MARK: Errors

    /// The key as a quoted full path, for messages: `"module"`, `"datasets.exposures.provider"`.
    public func displayName(of key: String) -> String {
        "\"\(path.appending(key: key))\""
    }

    /// An error of the caller's at a key's value (or at the table, if the key is absent).
    /// - Parameters:
    ///   - message: What is wrong and what to do.
    ///   - key: The key whose value is at fault.
    ///   - code: The kind of failure; by default ``TOMLError/Code/invalidValue``.
    public func error(_ message: String, at key: String, code: TOMLError.Code = .invalidValue) -> TOMLError {
        error(message, at: valuePosition(of: key) ?? position, code: code)
    }

    /// An error of the caller's at a position of this table's file.
    public func error(_ message: String, at position: TOMLPosition, code: TOMLError.Code = .invalidValue) -> TOMLError {
        TOMLError(code: code, fileName: fileName, position: position, message: message)
    }

    /// `missing required key "module"` (plus ` in [policy]` below the top level), at the
    /// table's position.
    public func missingKeyError(_ key: String) -> TOMLError {
        let place = path.isRoot ? "" : " in " + (path.isKeysOnly ? "[\(path)]" : "\(path)")
        return error("missing required key \"\(key)\"\(place)", at: position, code: .missingKey)
    }

    // MARK: Scalars

    /// The string at `key`.
    /// - Parameters:
    ///   - key: The key.
    ///   - mustBe: What an acceptable value is, for messages (e.g. "a string of 96 hex digits").
    ///   - isValid: A check of the value; a refusal becomes ``TOMLError/Code/invalidValue``.
    /// - Throws: ``TOMLError`` if the key is missing, not a string, or refused by `isValid`.
    public func requiredString(_ key: String, mustBe: String? = nil, where isValid: (String) -> Bool = { _ in true }) throws(TOMLError) -> String {
        try required(key, "a string", mustBe, \.stringValue, isValid)
    }

    /// The string at `key`, or `nil` if the key is absent. See ``requiredString(_:mustBe:where:)``.
    public func optionalString(_ key: String, mustBe: String? = nil, where isValid: (String) -> Bool = { _ in true }) throws(TOMLError) -> String? {
        try optional(key, "a string", mustBe, \.stringValue, isValid)
    }

    /// The integer at `key`. See ``requiredString(_:mustBe:where:)`` for the parameters.
    public func requiredInt(_ key: String, mustBe: String? = nil, where isValid: (Int64) -> Bool = { _ in true }) throws(TOMLError) -> Int64 {
        try required(key, "an integer", mustBe, \.integerValue, isValid)
    }

    /// The integer at `key`, or `nil` if the key is absent.
    public func optionalInt(_ key: String, mustBe: String? = nil, where isValid: (Int64) -> Bool = { _ in true }) throws(TOMLError) -> Int64? {
        try optional(key, "an integer", mustBe, \.integerValue, isValid)
    }

    /// The boolean at `key`.
    public func requiredBool(_ key: String) throws(TOMLError) -> Bool {
        try required(key, "true or false", nil, \.boolValue, { _ in true })
    }

    /// The boolean at `key`, or `nil` if the key is absent.
    public func optionalBool(_ key: String) throws(TOMLError) -> Bool? {
        try optional(key, "true or false", nil, \.boolValue, { _ in true })
    }

    /// The float at `key`, with its text as written (`"1.0"`, `"1e-9"`) for exact decimal reading.
    /// - Parameters:
    ///   - allowInteger: Whether an integer (`epsilon = 1`) is accepted; its text is then its digits.
    ///   - isValid: A check of the value.
    public func requiredFloat(_ key: String, allowInteger: Bool = false, mustBe: String? = nil, where isValid: (TOMLFloat) -> Bool = { _ in true }) throws(TOMLError) -> TOMLFloat {
        try required(key, allowInteger ? "a number" : "a float such as 1.0", mustBe, { Self.float($0, allowInteger) }, isValid)
    }

    /// The float at `key`, or `nil` if the key is absent. See ``requiredFloat(_:allowInteger:mustBe:where:)``.
    public func optionalFloat(_ key: String, allowInteger: Bool = false, mustBe: String? = nil, where isValid: (TOMLFloat) -> Bool = { _ in true }) throws(TOMLError) -> TOMLFloat? {
        try optional(key, allowInteger ? "a number" : "a float such as 1.0", mustBe, { Self.float($0, allowInteger) }, isValid)
    }

    private static func float(_ value: TOMLValue, _ allowInteger: Bool) -> TOMLFloat? {
        if let float = value.floatValue { return float }
        if allowInteger, let integer = value.integerValue {
            return TOMLFloat(value: Double(integer), text: String(integer))
        }
        return nil
    }

    // MARK: Arrays and tables

    /// The array at `key`, each element a string. An element of the wrong type, or refused by
    /// `isValid`, is reported at the element, named like `"runtime[1]"`.
    public func requiredStringArray(_ key: String, mustBe: String? = nil, where isValid: (String) -> Bool = { _ in true }) throws(TOMLError) -> [String] {
        try stringArray(requiredArray(key), key: key, mustBe: mustBe, isValid)
    }

    /// The array of strings at `key`, or `nil` if the key is absent.
    public func optionalStringArray(_ key: String, mustBe: String? = nil, where isValid: (String) -> Bool = { _ in true }) throws(TOMLError) -> [String]? {
        guard let elements = try optionalArray(key) else { return nil }
        return try stringArray(elements, key: key, mustBe: mustBe, isValid)
    }

    private func stringArray(_ elements: [TOMLValue], key: String, mustBe: String?, _ isValid: (String) -> Bool) throws(TOMLError) -> [String] {
        var strings: [String] = []
        strings.reserveCapacity(elements.count)
        for (index, element) in elements.enumerated() {
            let name = "\"\(path.appending(key: key).appending(index: index))\""
            strings.append(try checked(element, name: name, "a string", mustBe, \.stringValue, isValid))
        }
        return strings
    }

    /// The array at `key`, elements of any type.
    public func requiredArray(_ key: String) throws(TOMLError) -> [TOMLValue] {
        try required(key, "an array", nil, \.arrayValue, { _ in true })
    }

    /// The array at `key`, or `nil` if the key is absent.
    public func optionalArray(_ key: String) throws(TOMLError) -> [TOMLValue]? {
        try optional(key, "an array", nil, \.arrayValue, { _ in true })
    }

    /// The table at `key` (a `[section]`, dotted-key table or inline table).
    public func requiredTable(_ key: String) throws(TOMLError) -> TOMLTable {
        try required(key, "a table", nil, \.tableValue, { _ in true })
    }

    /// The table at `key`, or `nil` if the key is absent.
    public func optionalTable(_ key: String) throws(TOMLError) -> TOMLTable? {
        try optional(key, "a table", nil, \.tableValue, { _ in true })
    }

    /// The tables of an array of tables (`[[key]]` sections, or an array of inline tables), or
    /// `nil` if the key is absent.
    public func optionalArrayOfTables(_ key: String) throws(TOMLError) -> [TOMLTable]? {
        guard let elements = try optionalArray(key) else { return nil }
        var tables: [TOMLTable] = []
        for (index, element) in elements.enumerated() {
            let name = "\"\(path.appending(key: key).appending(index: index))\""
            tables.append(try checked(element, name: name, "a table", nil, \.tableValue, { _ in true }))
        }
        return tables
    }

    /// Every entry of this table as a table, in order, for sections like `[parties.brand]`
    /// where each key names an item.
    /// - Throws: ``TOMLError/Code/wrongType`` at the first entry that is not a table.
    public func childTables() throws(TOMLError) -> [(key: String, table: TOMLTable)] {
        var children: [(key: String, table: TOMLTable)] = []
        for entry in entries {
            children.append((entry.key, try checked(entry.value, name: displayName(of: entry.key), "a table", nil, \.tableValue, { _ in true })))
        }
        return children
    }

    // MARK: Shared checks

    private func required<T>(_ key: String, _ expected: String, _ mustBe: String?, _ extract: (TOMLValue) -> T?, _ isValid: (T) -> Bool) throws(TOMLError) -> T {
        guard let value = value(for: key) else { throw missingKeyError(key) }
        return try checked(value, name: displayName(of: key), expected, mustBe, extract, isValid)
    }

    private func optional<T>(_ key: String, _ expected: String, _ mustBe: String?, _ extract: (TOMLValue) -> T?, _ isValid: (T) -> Bool) throws(TOMLError) -> T? {
        guard let value = value(for: key) else { return nil }
        return try checked(value, name: displayName(of: key), expected, mustBe, extract, isValid)
    }

    private func checked<T>(_ value: TOMLValue, name: String, _ expected: String, _ mustBe: String?, _ extract: (TOMLValue) -> T?, _ isValid: (T) -> Bool) throws(TOMLError) -> T {
        guard let typed = extract(value) else {
            throw error("\(name) must be \(mustBe ?? expected) (found \(value.typeDescription))", at: value.position, code: .wrongType)
        }
        guard isValid(typed) else {
            throw error(mustBe.map { "\(name) must be \($0)" } ?? "\(name) has a value that is not allowed", at: value.position)
        }
        return typed
    }
}
