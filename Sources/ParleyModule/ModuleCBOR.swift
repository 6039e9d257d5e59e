import Crypto
import Foundation
import ParleyAnalysis
import ParleyCore

extension ModuleDefinition {
    /// Caps for reading a module: 1 MiB, depth 6, 100,000 items.
    static let limits = CBORDecoder.Limits(maxBytes: 1 << 20, maxDepth: 6, maxItems: 100_000)

    /// The module's deterministic CBOR: the sealed payload, whose SHA-384 is the module measurement.
    public var cbor: [UInt8] {
        var parties: [String: CBOR] = [:]
        for (n, p) in self.parties {
            parties[n] = .textMap(["signing_key": .bytes(Array(p.signing.derRepresentation)),
                                   "agreement_key": .bytes(Array(p.agreement.rawRepresentation))])
        }
        var datasets: [String: CBOR] = [:]
        for (n, d) in self.datasets {
            var bounds: [String: CBOR] = [:]
            for (c, b) in d.bounds { bounds[c] = .array([.text(b.lower), .text(b.upper)]) }
            // One identifier is written as text, several as an array, and `phone_country` only
            // when declared: modules that use neither keep the measurement they always had.
            var dataset: [String: CBOR] = [
                "provider": .text(d.provider),
                "privacy_unit": d.alsoIdentifiedBy.isEmpty ? .text(d.privacyUnit) : .array(([d.privacyUnit] + d.alsoIdentifiedBy).map { .text($0) }),
                "columns": .array(d.columns.map { .array([.text($0.name), .text($0.type.rawValue)]) }),
                "bounds": .textMap(bounds),
            ]
            if let country = d.phoneCountry { dataset["phone_country"] = .text(country) }
            datasets[n] = .textMap(dataset)
        }
        var policy: [String: CBOR] = [
            "min_group_size": .unsigned(UInt64(self.policy.minGroupSize)),
            "epsilon_per_query": .text(self.policy.epsilonPerQuery), "budget_epsilon": .text(self.policy.budgetEpsilon),
            "max_groups_per_unit": .unsigned(UInt64(self.policy.maxGroupsPerUnit)),
            "max_rows_per_unit": .unsigned(UInt64(self.policy.maxRowsPerUnit)),
        ]
        if let d = self.policy.delta { policy["delta"] = .text(d) }
        // Written only when it differs from the default, so modules sealed before it existed
        // keep their measurement.
        if self.policy.maxJoinRowsPerUnit != ExecutionBounds.defaultMaxJoinRowsPerUnit {
            policy["max_join_rows_per_unit"] = .unsigned(UInt64(self.policy.maxJoinRowsPerUnit))
        }
        var queries: [String: CBOR] = [:]
        for (n, q) in self.queries {
            var query: [String: CBOR] = ["sql": .text(q.sql), "receivers": .array(q.receivers.map { .text($0) })]
            if let keys = q.groupKeys {
                query["group_keys"] = .array(keys.map { .array([.text($0.column), .array($0.values.map { .text($0) })]) })
            }
            // Only when declared, so queries without parameters keep their measurement.
            if !q.parameters.isEmpty {
                query["params"] = .textMap(q.parameters.mapValues { p in
                    switch p.allowed {
                    case .values(let values): .textMap(["type": .text(p.type.rawValue), "values": .array(values.map { .text($0) })])
                    case .range(let min, let max): .textMap(["type": .text(p.type.rawValue), "min": .text(min), "max": .text(max)])
                    }
                })
            }
            queries[n] = .textMap(query)
        }
        var module: [String: CBOR] = [
            "format": .text(Self.format), "name": .text(name), "version": .text(version), "author": .bytes(author),
            "parties": .textMap(parties), "datasets": .textMap(datasets), "policy": .textMap(policy), "queries": .textMap(queries),
        ]
        // Only when declared, so modules without one keep their measurement.
        if let ledger { module["ledger"] = .text(ledger) }
        return CBOREncoder.encode(.textMap(module))
    }

    /// Reads a module from its CBOR (the payload of a verified bundle).
    public init(cbor bytes: [UInt8]) throws {
        let m = try CBORDecoder(limits: Self.limits).decode(bytes).textKeyedMap("module")
        try m.rejectUnknownKeys(["format", "name", "version", "author", "parties", "datasets", "policy", "queries", "ledger"], in: "module")
        guard try m.required("format", in: "module").textValue("module format") == Self.format else {
            throw ParleyError(.unsupported, "module format is not \(Self.format)")
        }
        name = try m.required("name", in: "module").textValue("module name")
        ledger = try m["ledger"].map { try $0.textValue("module ledger") }
        version = try m.required("version", in: "module").textValue("module version")
        author = try m.required("author", in: "module").bytesValue("module author")
        var parties: [String: PartyPublicKey] = [:]
        for (n, v) in try m.required("parties", in: "module").textKeyedMap("parties") {
            let p = try v.textKeyedMap("party \(n)")
            do {
                parties[n] = PartyPublicKey(
                    signing: try P256.Signing.PublicKey(derRepresentation: try p.required("signing_key", in: "party \(n)").bytesValue("signing_key")),
                    agreement: try Curve25519.KeyAgreement.PublicKey(rawRepresentation: try p.required("agreement_key", in: "party \(n)").bytesValue("agreement_key")))
            } catch let e as ParleyError { throw e } catch {
                throw ParleyError(.badKey, "party \(n) has an unusable key")
            }
        }
        self.parties = parties
        var datasets: [String: DatasetDeclaration] = [:]
        for (n, v) in try m.required("datasets", in: "module").textKeyedMap("datasets") {
            let d = try v.textKeyedMap("dataset \(n)")
            let columns = try d.required("columns", in: "dataset \(n)").arrayValue("columns").map { c -> (name: String, type: ColumnType) in
                let pair = try c.arrayValue("column")
                guard pair.count == 2, let type = ColumnType(rawValue: try pair[1].textValue("column type")) else {
                    throw ParleyError(.malformed, "dataset \(n) has a malformed column")
                }
                return (try pair[0].textValue("column name"), type)
            }
            var bounds: [String: (lower: String, upper: String)] = [:]
            for (c, b) in try d.required("bounds", in: "dataset \(n)").textKeyedMap("bounds") {
                let pair = try b.arrayValue("bounds")
                guard pair.count == 2 else { throw ParleyError(.malformed, "dataset \(n) bounds of \(c) must be [lower, upper]") }
                bounds[c] = (try pair[0].textValue("lower"), try pair[1].textValue("upper"))
            }
            let unitValue = try d.required("privacy_unit", in: "dataset \(n)")
            var identifiers: [String]
            if case .array = unitValue {
                identifiers = try unitValue.arrayValue("privacy_unit").map { try $0.textValue("privacy_unit identifier") }
                guard identifiers.count >= 2, identifiers.count <= Self.maxUnitIdentifiers else {
                    throw ParleyError(.malformed, "dataset \(n): privacy_unit lists \(identifiers.count) identifiers; an array needs 2 to \(Self.maxUnitIdentifiers)")
                }
            } else {
                identifiers = [try unitValue.textValue("privacy_unit")]
            }
            datasets[n] = DatasetDeclaration(provider: try d.required("provider", in: "dataset \(n)").textValue("provider"),
                                             privacyUnit: identifiers.removeFirst(),
                                             columns: columns, bounds: bounds, alsoIdentifiedBy: identifiers,
                                             phoneCountry: try d["phone_country"].map { try $0.textValue("phone_country") })
        }
        self.datasets = datasets
        let p = try m.required("policy", in: "module").textKeyedMap("policy")
        func int(_ k: String) throws -> Int {
            let v = try p.required(k, in: "policy").unsignedValue(k)
            guard v <= UInt64(Int32.max) else { throw ParleyError(.malformed, "policy \(k) is too large") }
            return Int(v)
        }
        policy = PolicyDeclaration(minGroupSize: try int("min_group_size"),
                                   epsilonPerQuery: try p.required("epsilon_per_query", in: "policy").textValue("epsilon_per_query"),
                                   budgetEpsilon: try p.required("budget_epsilon", in: "policy").textValue("budget_epsilon"),
                                   delta: try p["delta"].map { try $0.textValue("delta") },
                                   maxGroupsPerUnit: try int("max_groups_per_unit"), maxRowsPerUnit: try int("max_rows_per_unit"),
                                   maxJoinRowsPerUnit: p["max_join_rows_per_unit"] == nil
                                       ? ExecutionBounds.defaultMaxJoinRowsPerUnit : try int("max_join_rows_per_unit"))
        var queries: [String: QueryDeclaration] = [:]
        for (n, v) in try m.required("queries", in: "module").textKeyedMap("queries") {
            let q = try v.textKeyedMap("query \(n)")
            try q.rejectUnknownKeys(["sql", "receivers", "group_keys", "params"], in: "query \(n)")
            var parameters: [String: ParameterDeclaration] = [:]
            if let declared = q["params"] {
                let map = try declared.textKeyedMap("query \(n) params")
                guard map.count <= ParameterDeclaration.maxPerQuery else {
                    throw ParleyError(.malformed, "query \(n) declares more than \(ParameterDeclaration.maxPerQuery) parameters")
                }
                for (name, value) in map {
                    let p = try value.textKeyedMap("parameter \(name)")
                    try p.rejectUnknownKeys(["type", "values", "min", "max"], in: "parameter \(name)")
                    guard let type = ColumnType(rawValue: try p.required("type", in: "parameter \(name)").textValue("parameter type")) else {
                        throw ParleyError(.malformed, "parameter \(name) has an unknown type")
                    }
                    let allowed: ParameterDeclaration.Allowed
                    if let values = p["values"] {
                        guard p["min"] == nil, p["max"] == nil else { throw ParleyError(.malformed, "parameter \(name) has both values and a range") }
                        allowed = .values(try values.arrayValue("parameter values").map { try $0.textValue("parameter value") })
                    } else {
                        allowed = .range(min: try p.required("min", in: "parameter \(name)").textValue("min"),
                                         max: try p.required("max", in: "parameter \(name)").textValue("max"))
                    }
                    let declaration = try ParameterDeclaration(type: type, allowed: allowed)
                    // The canonical form is what is sealed: anything else is not this format.
                    guard declaration.allowed == allowed else { throw ParleyError(.malformed, "parameter \(name)'s values are not in canonical form") }
                    parameters[name] = declaration
                }
            }
            var groupKeys: [GroupKeyColumn]?
            if let declared = q["group_keys"] {
                groupKeys = try declared.arrayValue("group_keys").map { entry in
                    let pair = try entry.arrayValue("group_keys entry")
                    guard pair.count == 2 else { throw ParleyError(.malformed, "query \(n): a group_keys entry must be [column, values]") }
                    return GroupKeyColumn(column: try pair[0].textValue("group_keys column"),
                                          values: try pair[1].arrayValue("group_keys values").map { try $0.textValue("group key") })
                }
            }
            queries[n] = QueryDeclaration(sql: try q.required("sql", in: "query \(n)").textValue("sql"),
                                          receivers: try q.required("receivers", in: "query \(n)").arrayValue("receivers").map { try $0.textValue("receiver") },
                                          groupKeys: groupKeys, parameters: parameters)
        }
        self.queries = queries
    }
}
