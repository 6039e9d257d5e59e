import Crypto
import Foundation
import ParleyAnalysis
import ParleyCore
import ParleyPrivacy

/// An analysis module: who takes part, what data each brings, which queries may run, and the
/// privacy policy every release must pass. Sealed (signed) by its author; its measurement is
/// SHA-384 of its deterministic CBOR (``cbor``), which parties review and pin.
public struct ModuleDefinition: Sendable {
    public var name: String
    public var version: String
    /// The author's signing key (SubjectPublicKeyInfo DER, P-256): it signs the sealed bundle.
    public var author: [UInt8]
    public var parties: [String: PartyPublicKey]
    public var datasets: [String: DatasetDeclaration]
    public var policy: PolicyDeclaration
    public var queries: [String: QueryDeclaration]
    /// The budget ledger the module draws on, as declared (`ledger = "..."`); nil means the
    /// module's name. Every job of every module with the same ledger name and the same parties
    /// shares one privacy budget (docs/privacy.md, "The ledger across jobs").
    public var ledger: String? = nil

    public static let format = "parley/module/1"

    /// A dataset a provider uploads.
    public struct DatasetDeclaration: Sendable, Equatable {
        public var provider: String
        public var privacyUnit: String
        /// Column name -> type, in the declared order.
        public var columns: [(name: String, type: ColumnType)]
        /// Column name -> [lower, upper] as written (integers, or decimals for `decimal` columns).
        public var bounds: [String: (lower: String, upper: String)]
        /// Further identifier columns a person is matched on after `privacyUnit`, in priority
        /// order (`privacy_unit = ["email", "phone"]` declares `email` then `["phone"]`).
        public var alsoIdentifiedBy: [String] = []
        /// ISO 3166 code of the default country of national phone numbers (`phone_country`).
        public var phoneCountry: String? = nil

        public static func == (a: Self, b: Self) -> Bool {
            a.alsoIdentifiedBy == b.alsoIdentifiedBy && a.phoneCountry == b.phoneCountry
                && a.provider == b.provider && a.privacyUnit == b.privacyUnit && a.columns.map(\.name) == b.columns.map(\.name)
                && a.columns.map(\.type) == b.columns.map(\.type) && a.bounds.mapValues { [$0.lower, $0.upper] } == b.bounds.mapValues { [$0.lower, $0.upper] }
        }
    }

    /// The privacy policy, as written (decimals kept as text so nothing is rounded).
    public struct PolicyDeclaration: Sendable, Equatable {
        public var minGroupSize: Int
        public var epsilonPerQuery: String
        public var budgetEpsilon: String
        public var delta: String?
        public var maxGroupsPerUnit: Int
        /// Rows one privacy unit may add to one group for COUNT(*). Default 1.
        public var maxRowsPerUnit: Int
        /// In a join, rows of one privacy unit kept from each joined source before the join
        /// (the first ones in upload order). Default ``ExecutionBounds/defaultMaxJoinRowsPerUnit``.
        public var maxJoinRowsPerUnit: Int = ExecutionBounds.defaultMaxJoinRowsPerUnit
    }

    /// A named query and who may receive its results.
    public struct QueryDeclaration: Sendable, Equatable {
        public var sql: String
        public var receivers: [String]
        /// The query's public GROUP BY domain, if declared: for each GROUP BY column (named as
        /// in the query, `a.sector` or `sector`), its values in the text form results show.
        /// The keys are the cross product, in GROUP BY order. `nil`: groups come from the data.
        public var groupKeys: [GroupKeyColumn]? = nil
        /// The query's `@parameters` by name (without `@`); empty for most queries.
        public var parameters: [String: ParameterDeclaration] = [:]

        /// The declared parameters' types, as the compiler takes them.
        public var parameterTypes: [String: ColumnType] { parameters.mapValues(\.type) }
    }

    /// The declared values of one GROUP BY column.
    public struct GroupKeyColumn: Sendable, Equatable {
        /// The column, as the query names it.
        public var column: String
        /// Its public values, canonical text (decimals and dates as results print them).
        public var values: [String]

        /// Declares the values of one column.
        public init(column: String, values: [String]) {
            self.column = column
            self.values = values
        }
    }

    /// Most keys a query's declared domain may have (the cross product of its columns' values).
    public static let maxDeclaredKeys = 10_000

    /// Most identifier columns one dataset may match a person on.
    public static let maxUnitIdentifiers = 4

    // MARK: Derived values

    /// The egress gate's policy. - Throws: if the declared numbers are invalid.
    public func privacyPolicy() throws -> PrivacyPolicy {
        do {
            return try PrivacyPolicy(minGroupSize: policy.minGroupSize, epsilonPerQuery: policy.epsilonPerQuery,
                                     budgetEpsilon: policy.budgetEpsilon, delta: policy.delta, maxGroupsPerUnit: policy.maxGroupsPerUnit)
        } catch {
            throw ParleyError(.malformed, "policy: \(error.reason)")
        }
    }

    /// The analysis language's view of the datasets.
    public func catalog() throws -> DatasetCatalog {
        var schemas: [DatasetSchema] = []
        for (name, d) in datasets.sorted(by: { $0.key < $1.key }) {
            var cols: [ColumnSchema] = []
            for (col, type) in d.columns {
                var bounds: ClampBounds?
                if let b = d.bounds[col] {
                    guard let lo = Self.scaled(b.lower, type: type), let hi = Self.scaled(b.upper, type: type) else {
                        throw ParleyError(.malformed, "dataset \(name): bounds of \(col) must be \(type == .decimal ? "decimals" : "integers")")
                    }
                    bounds = ClampBounds(lower: lo, upper: hi)
                }
                cols.append(ColumnSchema(name: col, type: type, bounds: bounds))
            }
            var country: PhoneCountry?
            if let code = d.phoneCountry {
                guard let known = PhoneCountry(code: code) else {
                    throw ParleyError(.malformed, "dataset \(name): phone_country \(code) is not one Parley knows; use one of \(PhoneCountry.table.map(\.code).joined(separator: ", "))")
                }
                country = known
            }
            do {
                schemas.append(try DatasetSchema(name: name, provider: d.provider, columns: cols, privacyUnit: d.privacyUnit,
                                                 alsoIdentifiedBy: d.alsoIdentifiedBy, phoneCountry: country))
            } catch {
                throw ParleyError(.malformed, error.reason)
            }
        }
        do { return try DatasetCatalog(schemas) } catch { throw ParleyError(.malformed, error.reason) }
    }

    /// A bound in the column's units: integers as is, decimals in DecimalValue's fixed point.
    static func scaled(_ text: String, type: ColumnType) -> Int64? {
        switch type {
        case .int: return Int64(text)
        case .decimal: return DecimalValue(parsing: Substring(text))?.scaled
        default: return nil
        }
    }

    /// The egress gate's view of a compiled query's aggregates.
    public func egressAggregates(of plan: QueryPlan) throws -> [ParleyPrivacy.AggregateSpec] {
        try plan.aggregates.map { a in
            let kind: AggregateKind
            switch a.kind {
            case .countRows: kind = .countRows(maxRowsPerUnit: UInt64(policy.maxRowsPerUnit))
            case .countDistinctUnits: kind = .countDistinctUnits
            case .sum, .avg:
                guard let b = a.bounds, let col = a.column else { throw ParleyError(.malformed, "\(a.outputName) has no bounds") }
                let bounds: ContributionBounds
                do { bounds = try ContributionBounds(lower: b.lower, upper: b.upper) } catch { throw ParleyError(.malformed, "\(error)") }
                kind = a.kind == .sum ? .sum(column: col.description, bounds: bounds) : .average(column: col.description, bounds: bounds)
            case .quantile:
                guard let b = a.bounds, let col = a.column, let p = a.fraction else { throw ParleyError(.malformed, "\(a.outputName) has no bounds") }
                do {
                    kind = .quantile(column: col.description, bounds: try ContributionBounds(lower: b.lower, upper: b.upper),
                                     fraction: try Rational(p.numerator, p.denominator))
                } catch { throw ParleyError(.malformed, "\(error)") }
            case .variance, .standardDeviation:
                guard let b = a.bounds, let col = a.column, let centering = a.centering else { throw ParleyError(.malformed, "\(a.outputName) has no bounds") }
                do {
                    let moments = try MomentBounds(bounds: try ContributionBounds(lower: b.lower, upper: b.upper), squareUnit: centering.squareUnit)
                    kind = .variance(column: col.description, moments: moments, standardDeviation: a.kind == .standardDeviation)
                } catch { throw ParleyError(.malformed, "\(error)") }
            case .histogram:
                guard let col = a.column else { throw ParleyError(.malformed, "\(a.outputName) has no column") }
                kind = .histogram(column: col.description, edges: a.binEdges)
            }
            return ParleyPrivacy.AggregateSpec(name: a.outputName, kind: kind)
        }
    }

    /// How a compiled query's groups are chosen: `.whole` without GROUP BY, `.declared` when
    /// the module declares its keys, `.threshold` otherwise.
    /// - Throws: if the declared keys do not name exactly the query's GROUP BY columns, or
    ///   their cross product exceeds ``maxDeclaredKeys``.
    public func partitions(of plan: QueryPlan, query: QueryDeclaration) throws -> PartitionSelection {
        if plan.groupBy.isEmpty {
            guard query.groupKeys == nil else {
                throw ParleyError(.malformed, "group_keys is declared, but the query has no GROUP BY; remove group_keys")
            }
            return .whole
        }
        guard let declared = query.groupKeys else { return .threshold }
        var columns: [[String]] = []
        for column in plan.groupBy {
            let matching = declared.filter { $0.column == column.description || $0.column == column.name }
            guard matching.count == 1, let values = matching.first?.values else {
                throw ParleyError(.malformed, "group_keys must list the values of every GROUP BY column once; \(column) is "
                                  + (matching.isEmpty ? "missing" : "listed twice"))
            }
            guard !values.isEmpty, Set(values).count == values.count else {
                throw ParleyError(.malformed, "group_keys of \(column) must be a non-empty list of distinct values")
            }
            columns.append(values)
        }
        guard declared.count == plan.groupBy.count else {
            throw ParleyError(.malformed, "group_keys names a column that is not in the query's GROUP BY")
        }
        var keys: [[String]] = [[]]
        for values in columns {
            guard keys.count * values.count <= Self.maxDeclaredKeys else {
                throw ParleyError(.malformed, "group_keys declare more than \(Self.maxDeclaredKeys) keys (the cross product of the columns' values)")
            }
            keys = keys.flatMap { prefix in values.map { prefix + [$0] } }
        }
        return .declared(keys: keys)
    }

    /// The canonical text of a declared key value for a column of this type, as results show
    /// it, or `nil` if the value is not of the type.
    public static func canonicalKey(_ text: String, type: ColumnType) -> String? {
        switch type {
        case .text: return text
        case .int: return Int64(text).map { String($0) }
        case .decimal: return DecimalValue(parsing: Substring(text))?.description
        case .date: return DateValue(parsing: Substring(text))?.description
        // Identifier columns are never grouped by, so they have no declared keys.
        case .email, .phone, .sha256Email, .sha256Phone: return nil
        }
    }

    /// What one run of a declared query costs, with its partitions (what `module inspect` and
    /// `query cost` show, and what the worker charges).
    /// - Throws: if the query is not declared or cannot be costed under the policy.
    public func cost(ofQuery name: String) throws -> QueryCost {
        guard let query = queries[name] else { throw ParleyError(.malformed, "the module declares no query \(name)") }
        let plan: QueryPlan
        do { plan = try QueryCompiler.compile(query.sql, catalog: try catalog(), parameters: query.parameterTypes) } catch let e as AnalysisError {
            throw ParleyError(.malformed, "query \(name): \(e.location.line):\(e.location.column): \(e.reason)")
        }
        do {
            return try QueryCost(aggregates: try egressAggregates(of: plan), policy: try privacyPolicy(),
                                 partitions: try partitions(of: plan, query: query))
        } catch let e as EgressError {
            throw ParleyError(.malformed, "query \(name): \(e.reason)")
        }
    }

    /// Compiles every query against the datasets. - Throws: the first query that does not compile.
    public func compiledQueries() throws -> [String: QueryPlan] {
        let catalog = try catalog()
        var out: [String: QueryPlan] = [:]
        for (name, q) in queries {
            do { out[name] = try QueryCompiler.compile(q.sql, catalog: catalog, parameters: q.parameterTypes) } catch {
                throw ParleyError(.malformed, "query \(name): \(error.location.line):\(error.location.column): \(error.reason)")
            }
        }
        return out
    }

    /// The ledger's name: the declared `ledger`, else the module's name.
    public var ledgerName: String { ledger ?? name }

    /// The ledger's identity, 32 bytes: SHA-256 of the deterministic CBOR
    /// `{"format": "parley/ledger/1", "name": ledgerName, "parties": {party: SHA-256(signing key DER)}}`.
    /// The version is not in it, so re-sealing a new version does not reset the budget.
    public var ledgerID: [UInt8] {
        var parties: [String: CBOR] = [:]
        for (n, p) in self.parties { parties[n] = .bytes(Array(SHA256.hash(data: p.signing.derRepresentation))) }
        return Array(SHA256.hash(data: CBOREncoder.encode(.textMap([
            "format": .text("parley/ledger/1"), "name": .text(ledgerName), "parties": .textMap(parties),
        ]))))
    }

    /// SHA-384 of the author's key: the module signer parties may pin.
    public var signer: MeasurementDigest { .of(author) }
}
