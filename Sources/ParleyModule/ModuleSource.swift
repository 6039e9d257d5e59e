import Foundation
import ParleyAnalysis
import ParleyCore
import ParleyPrivacy
import ParleyTOML

extension ModuleDefinition {
    /// Reads and fully validates a module source file (TOML), as `parley module seal` does.
    /// Every problem is reported as `file:line:column: what is wrong, and what to do`; SQL errors
    /// point into the TOML file itself.
    ///
    /// - Parameters:
    ///   - path: the source file; `public_key` paths are relative to it.
    ///   - author: the sealing key's public key (SubjectPublicKeyInfo DER).
    public static func load(source path: String, author: [UInt8]) throws -> ModuleDefinition {
        let text = try FileIO.readText(path)
        let base = URL(fileURLWithPath: path).deletingLastPathComponent()
        let t: TOMLTable
        do { t = try TOMLDocument.parse(text, fileName: path) } catch { throw ParleyError(.malformed, error.description) }
        do {
            return try build(t, base: base, author: author)
        } catch let e as TOMLError {
            throw ParleyError(.malformed, e.description)
        }
    }

    private static let identifier: @Sendable (String) -> Bool = { s in
        !s.isEmpty && s.count <= 64 && s.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || $0 == "_" || $0 == "-" }
    }

    private static func build(_ t: TOMLTable, base: URL, author: [UInt8]) throws -> ModuleDefinition {
        try t.rejectUnknownKeys(allowed: ["name", "version", "ledger", "parties", "datasets", "policy", "queries"])
        let name = try t.requiredString("name", mustBe: "a name of letters, digits, '-' or '_'", where: identifier)
        let version = try t.requiredString("version", mustBe: "a non-empty version string") { !$0.isEmpty && $0.count <= 64 }

        // Parties and their keys.
        let partiesTable = try t.requiredTable("parties")
        var parties: [String: PartyPublicKey] = [:]
        for (pname, pt) in try partiesTable.childTables() {
            guard identifier(pname) else { throw partiesTable.error("party name \"\(pname)\" must be letters, digits, '-' or '_'", at: pname) }
            try pt.rejectUnknownKeys(allowed: ["public_key"])
            let keyPath = try pt.requiredString("public_key", mustBe: "the path of the party's .pub file (from `parley keygen`)")
            let resolved = keyPath.hasPrefix("/") ? keyPath : base.appendingPathComponent(keyPath).path
            do { parties[pname] = try PartyPublicKey(pem: try FileIO.readText(resolved)) } catch let e as ParleyError {
                throw pt.error("public_key \(resolved): \(e.reason); make one with `parley keygen \(pname)`", at: "public_key")
            }
        }
        guard !parties.isEmpty else { throw t.error("[parties] is empty: declare at least one party with its public_key", at: "parties") }

        // Datasets.
        let datasetsTable = try t.requiredTable("datasets")
        var datasets: [String: DatasetDeclaration] = [:]
        for (dname, dt) in try datasetsTable.childTables() {
            guard identifier(dname) else { throw datasetsTable.error("dataset name \"\(dname)\" must be letters, digits, '-' or '_'", at: dname) }
            try dt.rejectUnknownKeys(allowed: ["provider", "privacy_unit", "columns", "bounds", "phone_country"])
            let provider = try dt.requiredString("provider", mustBe: "one of the declared parties (\(parties.keys.sorted().joined(separator: ", ")))") { parties[$0] != nil }
            let colsTable = try dt.requiredTable("columns")
            var columns: [(name: String, type: ColumnType)] = []
            for e in colsTable.entries {
                guard let typeName = e.value.stringValue, let type = ColumnType(rawValue: typeName) else {
                    throw colsTable.error("column \"\(e.key)\" must have type \"text\", \"int\", \"decimal\", \"date\", or an identifier type: \"email\", \"phone\", \"sha256_email\", \"sha256_phone\"", at: e.key)
                }
                columns.append((e.key, type))
            }
            guard !columns.isEmpty else { throw dt.error("columns is empty: declare every column of the CSV with its type", at: "columns") }
            let unitMustBe = "the name of one of the dataset's columns (the column that identifies a person), or an array of identifier columns in matching priority order"
            var identifiers: [String]
            if dt["privacy_unit"]?.arrayValue != nil {
                identifiers = try dt.requiredStringArray("privacy_unit", mustBe: unitMustBe) { u in columns.contains { $0.name == u } }
                guard (2...ModuleDefinition.maxUnitIdentifiers).contains(identifiers.count) else {
                    throw dt.error("privacy_unit lists \(identifiers.count) columns; list 2 to \(ModuleDefinition.maxUnitIdentifiers) identifier columns in priority order, or name one column", at: "privacy_unit")
                }
            } else {
                identifiers = [try dt.requiredString("privacy_unit", mustBe: unitMustBe) { u in columns.contains { $0.name == u } }]
            }
            let unit = identifiers.removeFirst()
            let phoneCountry = try dt.optionalString("phone_country", mustBe: "an ISO 3166 country code Parley knows (\(PhoneCountry.table.map(\.code).joined(separator: ", ")))") {
                PhoneCountry(code: $0) != nil
            }
            var bounds: [String: (lower: String, upper: String)] = [:]
            if let bt = try dt.optionalTable("bounds") {
                for e in bt.entries {
                    guard let col = columns.first(where: { $0.name == e.key }) else {
                        throw bt.error("bounds names \"\(e.key)\", which is not a column of \(dname)", at: e.key)
                    }
                    guard col.type == .int || col.type == .decimal else {
                        throw bt.error("bounds apply to int or decimal columns; \"\(e.key)\" is \(col.type)", at: e.key)
                    }
                    guard let pair = e.value.arrayValue, pair.count == 2 else {
                        throw bt.error("bounds of \"\(e.key)\" must be [lower, upper]", at: e.key)
                    }
                    let texts = pair.map { v -> String? in
                        if let i = v.integerValue { return String(i) }
                        if let f = v.floatValue { return f.text.replacingOccurrences(of: "_", with: "") }
                        return nil
                    }
                    guard let lo = texts[0], let hi = texts[1], let l = scaled(lo, type: col.type), let h = scaled(hi, type: col.type), l <= h else {
                        throw bt.error("bounds of \"\(e.key)\" must be two \(col.type == .int ? "integers" : "numbers with at most 4 decimals"), lower <= upper", at: e.key)
                    }
                    bounds[e.key] = (lo, hi)
                }
            }
            datasets[dname] = DatasetDeclaration(provider: provider, privacyUnit: unit, columns: columns, bounds: bounds,
                                                 alsoIdentifiedBy: identifiers, phoneCountry: phoneCountry?.uppercased())
        }
        guard !datasets.isEmpty else { throw t.error("[datasets] is empty: declare at least one dataset", at: "datasets") }

        // Policy.
        let pt = try t.requiredTable("policy")
        try pt.rejectUnknownKeys(allowed: ["min_group_size", "epsilon_per_query", "budget_epsilon", "delta", "max_groups_per_unit",
                                           "max_rows_per_unit", "max_join_rows_per_unit"])
        func decimal(_ key: String, required: Bool) throws -> String? {
            guard let v = pt[key] else {
                if required { throw pt.missingKeyError(key) }
                return nil
            }
            if let f = v.floatValue { return f.text.replacingOccurrences(of: "_", with: "") }
            if let i = v.integerValue { return String(i) }
            throw pt.error("\"\(key)\" must be a number such as 1.0", at: key)
        }
        let policy = PolicyDeclaration(
            minGroupSize: Int(try pt.requiredInt("min_group_size", mustBe: "an integer from 2 to 1000000 (a group of one person is that person's data)") {
                (Int64(PrivacyPolicy.minimumGroupSizeFloor)...1_000_000).contains($0)
            }),
            epsilonPerQuery: try decimal("epsilon_per_query", required: true) ?? "",
            budgetEpsilon: try decimal("budget_epsilon", required: true) ?? "",
            delta: try decimal("delta", required: false),
            maxGroupsPerUnit: Int(try pt.requiredInt("max_groups_per_unit", mustBe: "an integer from 1 to 1000000") { (1...1_000_000).contains($0) }),
            maxRowsPerUnit: Int(try pt.optionalInt("max_rows_per_unit", mustBe: "an integer from 1 to 1000000") { (1...1_000_000).contains($0) } ?? 1),
            maxJoinRowsPerUnit: Int(try pt.optionalInt("max_join_rows_per_unit", mustBe: "an integer from 1 to \(ExecutionBounds.maxJoinCombinationsPerUnit)") {
                (1...Int64(ExecutionBounds.maxJoinCombinationsPerUnit)).contains($0)
            } ?? Int64(ExecutionBounds.defaultMaxJoinRowsPerUnit)))

        var module = ModuleDefinition(name: name, version: version, author: author, parties: parties, datasets: datasets,
                                      policy: policy, queries: [:])
        module.ledger = try t.optionalString("ledger", mustBe: "a ledger name of letters, digits, '-' or '_'", where: identifier)
        do { _ = try module.privacyPolicy() } catch let e as ParleyError {
            throw pt.error(e.reason.replacingOccurrences(of: "policy: ", with: ""), at: pt.position)
        }
        let catalog: DatasetCatalog
        do { catalog = try module.catalog() } catch let e as ParleyError { throw datasetsTable.error(e.reason, at: datasetsTable.position) }

        // Queries: compiled now, so that nothing the worker would refuse is ever sealed.
        let qt = try t.requiredTable("queries")
        for (qname, q) in try qt.childTables() {
            guard identifier(qname) else { throw qt.error("query name \"\(qname)\" must be letters, digits, '-' or '_'", at: qname) }
            try q.rejectUnknownKeys(allowed: ["sql", "receivers", "group_keys", "params"])
            let parameters = try parameterDeclarations(q, query: qname)
            let receivers = try q.requiredStringArray("receivers", mustBe: "declared parties (\(parties.keys.sorted().joined(separator: ", ")))") { parties[$0] != nil }
            guard !receivers.isEmpty else { throw q.error("receivers is empty: name at least one party who may run this query", at: "receivers") }
            let sql = try q.requiredString("sql", mustBe: "the query's SQL")
            let plan: QueryPlan
            do {
                plan = try QueryCompiler.compile(sql, catalog: catalog, parameters: parameters.mapValues(\.type))
                _ = try module.egressAggregates(of: plan)
            } catch let e as AnalysisError {
                let at = q["sql"]?.stringSource?.sourcePosition(line: e.location.line, column: e.location.column) ?? q.valuePosition(of: "sql") ?? q.position
                throw q.error("query \(qname): \(e.reason)", at: at)
            }
            // Seal-time proof that the worker can always compute it: a failure after the budget
            // is charged would otherwise depend on the data.
            if let problem = ExecutionBounds.problem(with: plan, maxRowsPerUnit: policy.maxRowsPerUnit,
                                                     maxJoinRowsPerUnit: policy.maxJoinRowsPerUnit) {
                throw q.error("query \(qname): \(problem)", at: q.valuePosition(of: "sql") ?? q.position)
            }
            if let unused = parameters.keys.sorted().first(where: { plan.parameters[$0] == nil }) {
                throw q.error("query \(qname): parameter @\(unused) is declared but the SQL never uses it; use it in WHERE or remove it", at: q.valuePosition(of: "params") ?? q.position)
            }
            var declaration = QueryDeclaration(sql: sql, receivers: receivers)
            declaration.parameters = parameters
            if let kt = try q.optionalTable("group_keys") {
                declaration.groupKeys = try groupKeys(kt, plan: plan, query: qname)
                do { _ = try module.partitions(of: plan, query: declaration) } catch let e as ParleyError {
                    throw kt.error("query \(qname): \(e.reason)", at: kt.position)
                }
            }
            // The cost must be computable too, or the worker would refuse every run.
            module.queries[qname] = declaration
            do { _ = try module.cost(ofQuery: qname) } catch let e as ParleyError {
                throw q.error(e.reason, at: q.valuePosition(of: "sql") ?? q.position)
            }
        }
        guard !module.queries.isEmpty else { throw t.error("[queries] is empty: declare at least one query", at: "queries") }
        return module
    }

    /// A group key's text as written: a string, an integer, or a float's text without `_`.
    /// (A switch, not a chain of `??` over the value's accessors: Swift 6.3.1's optimizer crashed
    /// on that chain in release builds, CopyPropagation's ownership check.)
    private static func keyText(_ kind: TOMLValue.Kind) -> String? {
        switch kind {
        case .string(let s): return s
        case .integer(let i): return String(i)
        case .float(_, let text): return text.replacingOccurrences(of: "_", with: "")
        default: return nil
        }
    }

    /// Reads `params = { name = { type = "date", min = "...", max = "..." }, ... }` (or
    /// `values = [...]` instead of a range): the query's `@parameters`.
    private static func parameterDeclarations(_ q: TOMLTable, query: String) throws -> [String: ParameterDeclaration] {
        guard let pt = try q.optionalTable("params") else { return [:] }
        let children = try pt.childTables()
        guard children.count <= ParameterDeclaration.maxPerQuery else {
            throw pt.error("query \(query) declares \(children.count) parameters; at most \(ParameterDeclaration.maxPerQuery)", at: pt.position)
        }
        var out: [String: ParameterDeclaration] = [:]
        for (name, table) in children {
            let word = name.first.map { $0 == "_" || ($0.isASCII && $0.isLetter) } == true
                && name.allSatisfy { $0 == "_" || ($0.isASCII && ($0.isLetter || $0.isNumber)) }
            guard word else { throw pt.error("parameter name \"\(name)\" must be a plain identifier (letters, digits, _)", at: name) }
            try table.rejectUnknownKeys(allowed: ["type", "values", "min", "max"])
            let typeName = try table.requiredString("type", mustBe: "int, decimal, date or text")
            guard let type = ColumnType(rawValue: typeName) else {
                throw table.error("parameter \(name): type must be int, decimal, date or text", at: "type")
            }
            func text(_ value: TOMLValue) -> String? {
                if let s = value.stringValue { return s }
                if let i = value.integerValue { return String(i) }
                if let f = value.floatValue { return f.text.replacingOccurrences(of: "_", with: "") }
                return nil
            }
            let allowed: ParameterDeclaration.Allowed
            if let values = try table.optionalArray("values") {
                guard table["min"] == nil, table["max"] == nil else {
                    throw table.error("parameter \(name): give either values = [...] or min and max, not both", at: "values")
                }
                let texts = values.compactMap(text)
                guard texts.count == values.count else { throw table.error("parameter \(name): values must be numbers or strings", at: "values") }
                allowed = .values(texts)
            } else {
                guard let min = table["min"].flatMap(text), let max = table["max"].flatMap(text) else {
                    throw table.error("parameter \(name): declare its allowed values, values = [...], or a range, min = ... and max = ...", at: table.position)
                }
                allowed = .range(min: min, max: max)
            }
            do { out[name] = try ParameterDeclaration(type: type, allowed: allowed) } catch let e as ParleyError {
                throw table.error("parameter \(name): \(e.reason)", at: table.position)
            }
        }
        return out
    }

    /// Reads `group_keys = { column = [values...] }`, each value checked against the GROUP BY
    /// column's type and put in the text form results show.
    private static func groupKeys(_ kt: TOMLTable, plan: QueryPlan, query: String) throws -> [GroupKeyColumn] {
        var out: [GroupKeyColumn] = []
        for e in kt.entries {
            guard let column = plan.groupBy.first(where: { $0.description == e.key || $0.name == e.key }) else {
                throw kt.error("query \(query): group_keys names \"\(e.key)\", which is not a GROUP BY column; they are "
                               + plan.groupBy.map(\.description).joined(separator: ", "), at: e.key)
            }
            guard let array = e.value.arrayValue, !array.isEmpty else {
                throw kt.error("group_keys of \"\(e.key)\" must be a non-empty list of the column's public values", at: e.key)
            }
            var values: [String] = []
            for v in array {
                guard let raw = keyText(v.kind), raw.utf8.count <= 256, let canonical = canonicalKey(raw, type: column.type) else {
                    throw kt.error("group_keys of \"\(e.key)\": every value must be a \(column.type) (dates as \"YYYY-MM-DD\"), at most 256 bytes", at: e.key)
                }
                guard !values.contains(canonical) else {
                    throw kt.error("group_keys of \"\(e.key)\" lists \"\(canonical)\" twice", at: e.key)
                }
                values.append(canonical)
            }
            out.append(GroupKeyColumn(column: e.key, values: values))
        }
        return out
    }
}
