import Crypto
import Foundation
import ParleyAnalysis
import ParleyCore
import ParleyEgress

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

        public static func == (a: Self, b: Self) -> Bool {
            a.provider == b.provider && a.privacyUnit == b.privacyUnit && a.columns.map(\.name) == b.columns.map(\.name)
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
    }

    /// A named query and who may receive its results.
    public struct QueryDeclaration: Sendable, Equatable {
        public var sql: String
        public var receivers: [String]
    }

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
            do { schemas.append(try DatasetSchema(name: name, provider: d.provider, columns: cols, privacyUnit: d.privacyUnit)) } catch {
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
    public func egressAggregates(of plan: QueryPlan) throws -> [ParleyEgress.AggregateSpec] {
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
            }
            return ParleyEgress.AggregateSpec(name: a.outputName, kind: kind)
        }
    }

    /// Compiles every query against the datasets. - Throws: the first query that does not compile.
    public func compiledQueries() throws -> [String: QueryPlan] {
        let catalog = try catalog()
        var out: [String: QueryPlan] = [:]
        for (name, q) in queries {
            do { out[name] = try QueryCompiler.compile(q.sql, catalog: catalog) } catch {
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
