import ParleyAnalysis
import ParleyCore

/// A query's declared parameter (`@since`, `@region`): its type and the values a receiver may
/// bind, either listed or as an inclusive range. Values are kept in their canonical text form
/// (`2024-01-31`, `12.5000`, `3`), which is also how requests carry them and the log records them.
public struct ParameterDeclaration: Sendable, Equatable {
    /// Which values are allowed.
    public enum Allowed: Sendable, Equatable {
        /// Exactly these (canonical text), in declaration order.
        case values([String])
        /// From `min` to `max` inclusive (canonical text; int, decimal and date only).
        case range(min: String, max: String)
    }

    /// Most parameters one query may declare.
    public static let maxPerQuery = 8
    /// Most listed values one parameter may allow.
    public static let maxValues = 256
    /// Longest value text accepted anywhere (a request, a log entry).
    public static let maxValueBytes = 128

    /// `int`, `decimal`, `date` or `text`.
    public let type: ColumnType
    /// The allowed values.
    public let allowed: Allowed

    /// Validates a declaration: a plain type; 1 to ``maxValues`` distinct values of it, or a
    /// range with `min <= max` (not for text).
    ///
    /// - Throws: `ParleyError` `.malformed` saying what to change.
    public init(type: ColumnType, allowed: Allowed) throws {
        guard [.int, .decimal, .date, .text].contains(type) else {
            throw ParleyError(.malformed, "a parameter's type is int, decimal, date or text, not \(type)")
        }
        switch allowed {
        case .values(let values):
            guard (1...Self.maxValues).contains(values.count) else {
                throw ParleyError(.malformed, "a parameter lists 1 to \(Self.maxValues) allowed values")
            }
            var canonical: [String] = []
            for value in values {
                guard let scalar = Self.parse(value, as: type) else {
                    throw ParleyError(.malformed, "allowed value \(value) is not a \(type)\(Self.hint(type))")
                }
                let text = Self.canonicalText(scalar)
                guard !canonical.contains(text) else { throw ParleyError(.malformed, "allowed value \(value) is listed twice") }
                canonical.append(text)
            }
            self.allowed = .values(canonical)
        case .range(let min, let max):
            guard type != .text else {
                throw ParleyError(.malformed, "a text parameter lists its allowed values (values = [...]); ranges are for int, decimal and date")
            }
            guard let low = Self.parse(min, as: type), let high = Self.parse(max, as: type) else {
                throw ParleyError(.malformed, "min and max must be \(type) values\(Self.hint(type))")
            }
            guard Self.order(low) <= Self.order(high) else { throw ParleyError(.malformed, "min is above max; swap them") }
            self.allowed = .range(min: Self.canonicalText(low), max: Self.canonicalText(high))
        }
        self.type = type
    }

    /// Why a receiver's values were refused. Never quotes a value the module does not list.
    public enum Refusal: Error, Sendable, Equatable, CustomStringConvertible {
        /// A declared parameter has no value.
        case missing(String)
        /// A value for a parameter the query does not declare.
        case undeclared(String)
        /// The value does not parse as the parameter's type.
        case malformed(String, ColumnType)
        /// The value is outside the declared range or list.
        case notAllowed(String, ParameterDeclaration)
        /// The value is right but not written canonically (what is signed is what is logged).
        case notCanonical(String, String)

        public var description: String {
            switch self {
            case .missing(let name): "parameter @\(name) needs a value (--param \(name)=...)"
            case .undeclared(let name): "the query declares no parameter @\(name)"
            case .malformed(let name, let type): "parameter @\(name) must be a \(type)\(ParameterDeclaration.hint(type))"
            case .notAllowed(let name, let declaration): "parameter @\(name) must be \(declaration.allowedDescription)"
            case .notCanonical(let name, let canonical): "write parameter @\(name) as \(canonical)"
            }
        }
    }

    /// The allowed values as a reviewer reads them (`one of 1, 2, 3`; `from 2024-01-01 to 2024-12-31`).
    public var allowedDescription: String {
        switch allowed {
        case .values(let values): "one of \(values.joined(separator: ", "))"
        case .range(let min, let max): "from \(min) to \(max)"
        }
    }

    /// The typed value of `text`, if it is of the type and allowed. - Throws: ``Refusal``.
    public func check(_ name: String, _ text: String) throws(Refusal) -> ScalarValue {
        guard text.utf8.count <= Self.maxValueBytes, let value = Self.parse(text, as: type) else { throw .malformed(name, type) }
        guard Self.canonicalText(value) == text else { throw .notCanonical(name, Self.canonicalText(value)) }
        switch allowed {
        case .values(let values):
            guard values.contains(Self.canonicalText(value)) else { throw .notAllowed(name, self) }
        case .range(let min, let max):
            guard let low = Self.parse(min, as: type), let high = Self.parse(max, as: type),
                  Self.order(low) <= Self.order(value), Self.order(value) <= Self.order(high) else { throw .notAllowed(name, self) }
        }
        return value
    }

    /// Checks a request's values against a query's declarations: every declared parameter has
    /// an allowed value and nothing else is given. Names are checked in sorted order, so the
    /// first refusal is the same whoever checks (client, host, worker).
    public static func bind(_ values: [String: String], to declarations: [String: ParameterDeclaration]) throws(Refusal) -> [String: ScalarValue] {
        if let extra = values.keys.sorted().first(where: { declarations[$0] == nil }) { throw .undeclared(extra) }
        var bound: [String: ScalarValue] = [:]
        for name in declarations.keys.sorted() {
            guard let text = values[name], let declaration = declarations[name] else { throw .missing(name) }
            bound[name] = try declaration.check(name, text)
        }
        return bound
    }

    /// The canonical text of a typed value: what requests carry and the log records.
    public static func canonicalText(_ value: ScalarValue) -> String {
        switch value {
        case .text(let text): text
        case .int(let int): String(int)
        case .decimal(let decimal): decimal.description
        case .date(let date): date.description
        }
    }

    static func parse(_ text: String, as type: ColumnType) -> ScalarValue? {
        switch type {
        case .int: Int64(text).map { .int($0) }
        case .decimal: DecimalValue(parsing: Substring(text)).map { .decimal($0) }
        case .date: DateValue(parsing: Substring(text)).map { .date($0) }
        case .text: .text(text)
        default: nil
        }
    }

    static func order(_ value: ScalarValue) -> Int64 {
        switch value {
        case .int(let v): v
        case .decimal(let v): v.scaled
        case .date(let v): v.daysSinceEpoch
        case .text: 0
        }
    }

    static func hint(_ type: ColumnType) -> String {
        switch type {
        case .int: " (a whole number)"
        case .decimal: " (a number with at most \(DecimalValue.scale) decimals)"
        case .date: " (YYYY-MM-DD)"
        default: ""
        }
    }
}
