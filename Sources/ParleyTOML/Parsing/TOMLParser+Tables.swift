/// The TOML 1.0 rules for which keys may create or extend which tables:
/// - a key is set once; a table is defined once, by one header or by dotted keys;
/// - `[a.b]` may define `a.b` if earlier headers only implied it, and may create sub-tables
///   inside tables made by dotted keys, but may not re-open them;
/// - dotted keys may extend only tables made by dotted keys (or merely implied by a header);
/// - inline tables and static arrays are complete as written;
/// - `[[a]]` appends to an array of tables, and `[a.b]` after it reaches its last element.
extension TOMLParser {
    func makeNode(_ origin: TableNode.Origin, at position: TOMLPosition, path: TOMLPath) throws(TOMLError) -> TableNode {
        try checkDepth(path, at: position)
        return TableNode(origin: origin, position: position, path: path)
    }

    func checkDepth(_ path: TOMLPath, at position: TOMLPosition) throws(TOMLError) {
        guard path.depth <= limits.maxDepth else {
            throw failure(
                .limitExceeded,
                "nesting is deeper than the limit of \(limits.maxDepth) levels; flatten the structure",
                at: position)
        }
    }

    /// Walks the dotted prefix of `a.b.c = ...` from `table`, creating tables as needed, and
    /// checks that the last part is not set yet.
    /// - Returns: The table that receives the last part, and the last part.
    func resolveDottedKey(_ parts: [KeyPart], in table: TableNode) throws(TOMLError) -> (TableNode, KeyPart) {
        var node = table
        for part in parts.dropLast() {
            let path = node.path.appending(key: part.name)
            switch node.slot(for: part.name) {
            case nil:
                let child = try makeNode(.dotted, at: part.position, path: path)
                node.set(.table(child, keyPosition: part.position), for: part.name)
                node = child
            case .table(let child, _):
                switch child.origin {
                case .dotted:
                    node = child
                case .implicit:
                    child.origin = .dotted
                    node = child
                case .header, .arrayElement, .root, .inline:
                    throw failure(
                        .tableConflict,
                        "cannot add to \(child.displayName) with the dotted key \"\(path)\": that table is defined by its header at \(child.position); put the key under that header",
                        at: part.position)
                }
            case .value(let value, let keyPosition):
                throw valueConflict(path, value: value, keyPosition: keyPosition, at: part.position, consequence: "a dotted key cannot add keys to it")
            case .arrayOfTables(_, let keyPosition):
                throw failure(
                    .tableConflict,
                    "\"\(path)\" is an array of tables ([[\(path)]] at \(keyPosition)); a dotted key cannot add to it",
                    at: part.position)
            }
        }
        guard let last = parts.last else {
            throw failure(.syntax, "expected a key", at: cursor.position)
        }
        let path = node.path.appending(key: last.name)
        switch node.slot(for: last.name) {
        case nil:
            break
        case .value(_, let keyPosition):
            throw failure(
                .duplicateKey,
                "duplicate key \"\(path)\": it was already set at \(keyPosition); remove one of the two",
                at: last.position)
        case .table(let child, _):
            throw failure(
                .duplicateKey,
                "\"\(path)\" is already a table (defined at \(child.position)); a key cannot be both a table and a value",
                at: last.position)
        case .arrayOfTables(_, let keyPosition):
            throw failure(
                .duplicateKey,
                "\"\(path)\" is already an array of tables ([[\(path)]] at \(keyPosition)); a key cannot be both a table and a value",
                at: last.position)
        }
        return (node, last)
    }

    /// Walks the parts of a header before the last, creating implied tables; an array of tables
    /// on the way is entered at its last element.
    func walkHeaderPrefix(_ parts: [KeyPart], headerAt start: TOMLPosition) throws(TOMLError) -> TableNode {
        var node = root
        for part in parts.dropLast() {
            let path = node.path.appending(key: part.name)
            switch node.slot(for: part.name) {
            case nil:
                let child = try makeNode(.implicit, at: start, path: path)
                node.set(.table(child, keyPosition: part.position), for: part.name)
                node = child
            case .table(let child, _):
                node = child
            case .arrayOfTables(let list, _):
                guard let lastElement = list.elements.last else {
                    throw failure(.tableConflict, "\"\(path)\" is an empty array of tables", at: part.position)
                }
                node = lastElement
            case .value(let value, let keyPosition):
                throw valueConflict(path, value: value, keyPosition: keyPosition, at: start, consequence: "a header cannot define a table inside it")
            }
        }
        return node
    }

    /// Handles `[a.b]`: defines the table, or refuses a redefinition or a clash.
    func openTable(_ parts: [KeyPart], headerAt start: TOMLPosition) throws(TOMLError) -> TableNode {
        let parent = try walkHeaderPrefix(parts, headerAt: start)
        guard let last = parts.last else {
            throw failure(.syntax, "expected a key in the header", at: start)
        }
        let path = parent.path.appending(key: last.name)
        switch parent.slot(for: last.name) {
        case nil:
            let table = try makeNode(.header, at: start, path: path)
            parent.set(.table(table, keyPosition: last.position), for: last.name)
            return table
        case .table(let table, _):
            switch table.origin {
            case .implicit:
                table.origin = .header
                table.position = start
                return table
            case .dotted:
                throw failure(
                    .tableConflict,
                    "table [\(path)] was already created by dotted keys at \(table.position); add its keys there instead of in a [\(path)] section",
                    at: start)
            case .header, .arrayElement, .root, .inline:
                throw failure(
                    .tableConflict,
                    "table [\(path)] is defined twice; the first [\(path)] is at \(table.position); merge the two sections",
                    at: start)
            }
        case .arrayOfTables(_, let keyPosition):
            throw failure(
                .tableConflict,
                "[\(path)] conflicts with the array of tables [[\(path)]] at \(keyPosition); write [[\(path)]] to add another element",
                at: start)
        case .value(let value, let keyPosition):
            throw valueConflict(path, value: value, keyPosition: keyPosition, at: start, consequence: "[\(path)] cannot define it as a table")
        }
    }

    /// Handles `[[a.b]]`: appends a new table to the array of tables.
    func openArrayOfTablesElement(_ parts: [KeyPart], headerAt start: TOMLPosition) throws(TOMLError) -> TableNode {
        let parent = try walkHeaderPrefix(parts, headerAt: start)
        guard let last = parts.last else {
            throw failure(.syntax, "expected a key in the header", at: start)
        }
        let path = parent.path.appending(key: last.name)
        switch parent.slot(for: last.name) {
        case nil:
            let element = try makeNode(.arrayElement, at: start, path: path.appending(index: 0))
            parent.set(.arrayOfTables(TableNode.TableList(element), keyPosition: last.position), for: last.name)
            return element
        case .arrayOfTables(let list, _):
            guard list.elements.count < limits.maxArrayLength else {
                throw failure(
                    .limitExceeded,
                    "[[\(path)]] has more than the limit of \(limits.maxArrayLength) elements",
                    at: start)
            }
            let element = try makeNode(.arrayElement, at: start, path: path.appending(index: list.elements.count))
            list.append(element)
            return element
        case .table(let table, _):
            throw failure(
                .tableConflict,
                "[[\(path)]] conflicts with the table \(table.displayName) defined at \(table.position); a key cannot be both a table and an array of tables",
                at: start)
        case .value(let value, let keyPosition):
            if value.arrayValue != nil {
                throw failure(
                    .tableConflict,
                    "cannot append to \"\(path)\" with [[\(path)]]: it is an array written out at \(keyPosition); use either the array or [[\(path)]] sections, not both",
                    at: start)
            }
            throw valueConflict(path, value: value, keyPosition: keyPosition, at: start, consequence: "[[\(path)]] cannot make it an array of tables")
        }
    }

    func valueConflict(_ path: TOMLPath, value: TOMLValue, keyPosition: TOMLPosition, at position: TOMLPosition, consequence: String) -> TOMLError {
        if value.tableValue != nil {
            return failure(
                .tableConflict,
                "cannot add to the inline table \"\(path)\" (at \(keyPosition)): inline tables are complete as written; add the keys inside its braces",
                at: position)
        }
        return failure(
            .tableConflict,
            "\"\(path)\" is already \(value.typeDescription) (set at \(keyPosition)), so \(consequence); rename one of them",
            at: position)
    }
}
