/// One step on the way from the top-level table to a value: a key or an array index.
public enum TOMLPathComponent: Hashable, Sendable {
    /// A key of a table.
    case key(String)
    /// A 0-based index into an array (or an array of tables).
    case index(Int)
}

/// Where a table or value sits in a document, for error messages: `datasets.exposures`,
/// `runtime[0]`, `products[1].name`. The top-level table has the empty path.
public struct TOMLPath: Hashable, Sendable, CustomStringConvertible {
    /// The steps from the top-level table.
    public let components: [TOMLPathComponent]

    /// Creates a path from its steps.
    public init(_ components: [TOMLPathComponent] = []) {
        self.components = components
    }

    /// The path of the top-level table.
    public static let root = TOMLPath()

    /// Whether this is the path of the top-level table.
    public var isRoot: Bool { components.isEmpty }

    /// The number of steps, which is also the nesting depth the parser limits.
    public var depth: Int { components.count }

    /// This path with one more key.
    public func appending(key: String) -> TOMLPath {
        TOMLPath(components + [.key(key)])
    }

    /// This path with one more array index.
    public func appending(index: Int) -> TOMLPath {
        TOMLPath(components + [.index(index)])
    }

    /// Whether every step is a key (no array index), as for a `[table.header]`.
    public var isKeysOnly: Bool {
        components.allSatisfy { if case .key = $0 { true } else { false } }
    }

    /// The path written the way TOML writes dotted keys, with `[n]` for array indices. Keys that
    /// are not bare keys are quoted.
    public var description: String {
        var text = ""
        for component in components {
            switch component {
            case .key(let key):
                if !text.isEmpty { text += "." }
                text += TOMLPath.render(key: key)
            case .index(let index):
                text += "[\(index)]"
            }
        }
        return text
    }

    /// A key as TOML would write it: bare when it can be, otherwise a quoted basic string.
    static func render(key: String) -> String {
        if !key.isEmpty, key.utf8.allSatisfy(ASCII.isBareKeyByte) {
            return key
        }
        var quoted = "\""
        for scalar in key.unicodeScalars {
            switch scalar {
            case "\"": quoted += "\\\""
            case "\\": quoted += "\\\\"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                quoted += "\\u" + hexDigits(scalar.value, width: 4)
            default: quoted.unicodeScalars.append(scalar)
            }
        }
        return quoted + "\""
    }
}

/// Upper-case hexadecimal, left-padded with zeros to `width` digits.
func hexDigits(_ value: UInt32, width: Int) -> String {
    let digits = String(value, radix: 16, uppercase: true)
    return String(repeating: "0", count: max(0, width - digits.count)) + digits
}
