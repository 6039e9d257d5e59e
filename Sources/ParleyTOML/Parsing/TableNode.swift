/// A table while the document is still being read. Headers and dotted keys reach back into
/// tables made earlier, so the tree is built from reference nodes and frozen into ``TOMLTable``
/// values at the end.
final class TableNode {
    /// How the table came to exist; decides what may still add keys to it.
    enum Origin {
        /// The top-level table.
        case root
        /// Only implied by a longer header: `[a.b]` implies `a`. A later `[a]` may still define it.
        case implicit
        /// Defined by its own `[header]`.
        case header
        /// Created by a dotted key `a.b = 1`. Only more dotted keys may add to it; a header may
        /// define sub-tables inside it but not re-open it.
        case dotted
        /// One element of an array of tables, opened by `[[name]]`.
        case arrayElement
        /// An inline table `{ ... }`; complete once closed.
        case inline
    }

    /// What a key of a table holds.
    enum Slot {
        /// A finished value: a scalar, a static array or an inline table. Never extended.
        case value(TOMLValue, keyPosition: TOMLPosition)
        /// A table that headers and dotted keys may still reach.
        case table(TableNode, keyPosition: TOMLPosition)
        /// An array of tables; `[[name]]` appends and `[name.sub]` reaches its last element.
        case arrayOfTables(TableList, keyPosition: TOMLPosition)
    }

    /// The elements of an array of tables, shared so that appending does not copy them.
    final class TableList {
        private(set) var elements: [TableNode]

        init(_ first: TableNode) {
            elements = [first]
        }

        func append(_ element: TableNode) {
            elements.append(element)
        }
    }

    var origin: Origin
    var position: TOMLPosition
    let path: TOMLPath
    private var keys: [String] = []
    private var slots: [String: Slot] = [:]

    init(origin: Origin, position: TOMLPosition, path: TOMLPath) {
        self.origin = origin
        self.position = position
        self.path = path
    }

    func slot(for key: String) -> Slot? {
        slots[key]
    }

    func set(_ slot: Slot, for key: String) {
        if slots[key] == nil {
            keys.append(key)
        }
        slots[key] = slot
    }

    /// `[a.b]` for a table reached by keys only, otherwise its path (`products[1]`), or
    /// "the top level".
    var displayName: String {
        if path.isRoot { return "the top level" }
        return path.isKeysOnly ? "[\(path)]" : "\(path)"
    }

    /// The finished, immutable table.
    func freeze(fileName: String) -> TOMLTable {
        var entries: [TOMLTable.Entry] = []
        entries.reserveCapacity(keys.count)
        for key in keys {
            guard let slot = slots[key] else { continue }
            switch slot {
            case .value(let value, let keyPosition):
                entries.append(.init(key: key, keyPosition: keyPosition, value: value))
            case .table(let child, let keyPosition):
                let value = TOMLValue(kind: .table(child.freeze(fileName: fileName)), position: child.position)
                entries.append(.init(key: key, keyPosition: keyPosition, value: value))
            case .arrayOfTables(let list, let keyPosition):
                let children = list.elements
                let elements = children.map {
                    TOMLValue(kind: .table($0.freeze(fileName: fileName)), position: $0.position)
                }
                let value = TOMLValue(kind: .array(elements), position: children.first?.position ?? keyPosition)
                entries.append(.init(key: key, keyPosition: keyPosition, value: value))
            }
        }
        return TOMLTable(fileName: fileName, path: path, position: position, entries: entries)
    }
}
