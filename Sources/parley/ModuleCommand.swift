import ArgumentParser
import Foundation
import ParleyAnalysis
import ParleyCore
import ParleyPrivacy
import ParleyModule

struct ModuleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "module",
        abstract: "Seal an analysis module, and inspect or measure a sealed one.",
        discussion: """
        A module source (TOML) declares the parties and their public keys, the datasets each one \
        provides (columns, privacy unit, clamping bounds), the privacy policy, and the named \
        queries with who may receive them. `seal` checks all of it, compiles every query, and \
        writes a signed bundle whose measurement the parties pin in their policy. Examples: \
        Enclave/Modules/.
        """,
        subcommands: [Seal.self, Inspect.self, Measure.self]
    )

    struct Seal: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate a module source and write the signed bundle; prints its measurement.",
            discussion: """
            Every error names the file, line and column, and what to do. Example:
              parley module seal campaign-lift.toml --key author.key -o campaign-lift.parley
            """
        )
        @Argument(help: "The module source (TOML).") var source: String
        @Option(help: "The author's private key (from `parley keygen`).") var key: String
        @Option(name: .shortAndLong, help: "Where to write the bundle (default: SOURCE with .parley).") var output: String?
        @Flag(help: "Replace an existing bundle.") var force = false

        func run() throws {
            do {
                let author = try PartyPrivateKey.load(path: key)
                let definition = try ModuleDefinition.load(source: source, author: Array(author.signing.publicKey.derRepresentation))
                let sealed = try SealedModule.seal(definition, key: author)
                let out = output ?? (source.hasSuffix(".toml") ? String(source.dropLast(5)) : source) + ".parley"
                try FileIO.write(sealed.bytes, to: out, mode: 0o644, overwrite: force)
                print("sealed \(definition.name) \(definition.version) to \(out)")
                print("module measurement: \(sealed.measurement.hex)")
                print("module signer:      \(sealed.signer.hex)")
            } catch let e as ParleyError {
                fail(e.reason + (e.reason.contains("already exists") ? " (or pass --force)" : ""))
            }
        }
    }

    struct Measure: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a sealed module's measurement (what parties pin as `module` in their policy).")
        @Argument(help: "The sealed bundle (.parley).") var bundle: String

        func run() throws {
            do { print(try SealedModule.load(path: bundle).measurement.hex) } catch let e as ParleyError { fail(e.reason) }
        }
    }

    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a reviewer everything that matters in a sealed module, and what each query costs.")
        @Argument(help: "The sealed bundle (.parley).") var bundle: String
        @Flag(help: "Print JSON instead of text.") var json = false

        func run() throws {
            let sealed: SealedModule
            do { sealed = try SealedModule.load(path: bundle) } catch let e as ParleyError { fail(e.reason) }
            let report: ModuleReport
            do { report = try ModuleReport(sealed) } catch let e as ParleyError { fail(e.reason) }
            print(json ? report.json : report.text)
        }
    }
}

/// What `module inspect` shows, computed once for both renderings.
struct ModuleReport {
    struct Query { let name: String; let sql: String; let receivers: [String]; let epsilon: String; let delta: String
                    let mechanism: String; let thresholdDelta: Double; let outputs: [String]
                    let partitions: PartitionSelection; let weaknesses: [String]
                    /// The identifier equalities of each multi-identifier join, in priority order.
                    var matching: [[String]] = []
                    /// The declared @parameters: name -> (type, allowed values as a reviewer reads them).
                    var parameters: [String: ParameterDeclaration] = [:] }
    let sealed: SealedModule
    let queries: [Query]

    init(_ sealed: SealedModule) throws {
        self.sealed = sealed
        let d = sealed.definition
        let policy = try d.privacyPolicy()
        let plans = try d.compiledQueries()
        queries = try d.queries.keys.sorted().map { name in
            guard let q = d.queries[name], let plan = plans[name] else { throw ParleyError(.internal, "query \(name) vanished") }
            let cost = try d.cost(ofQuery: name)
            let outputs = plan.outputs.map { o -> String in
                switch o {
                case .groupKey(_, let name), .aggregate(_, let name): return name
                }
            }
            return Query(name: name, sql: q.sql.trimmingCharacters(in: .whitespacesAndNewlines), receivers: q.receivers,
                         epsilon: cost.epsilon.description, delta: cost.delta.description, mechanism: cost.mechanism.rawValue,
                         thresholdDelta: cost.partitionSelectionDelta, outputs: outputs,
                         partitions: cost.partitions, weaknesses: cost.weaknesses(under: policy),
                         matching: plan.joins.filter { !$0.alternatives.isEmpty }.map { $0.matches.map(\.description) },
                         parameters: q.parameters)
        }
    }

    var text: String {
        let d = sealed.definition
        var out = ["module \(d.name) version \(d.version)",
                   "  measurement   \(sealed.measurement.hex)",
                   "  signer        \(sealed.signer.hex)",
                   "  ledger        \(d.ledgerName)\(d.ledger == nil ? " (the module's name: the default)" : "") with these parties, id \(Hex.encode(d.ledgerID))",
                   "                (every job of a module with this ledger and these parties draws on one budget)", "", "parties"]
        for (n, p) in d.parties.sorted(by: { $0.key < $1.key }) {
            out.append("  \(n.padding(toLength: 14, withPad: " ", startingAt: 0)) signing key \(MeasurementDigest.of(Array(p.signing.derRepresentation)).hex.prefix(16))…")
        }
        out += ["", "datasets"]
        for (n, ds) in d.datasets.sorted(by: { $0.key < $1.key }) {
            let identifiers = [ds.privacyUnit] + ds.alsoIdentifiedBy
            let unit = identifiers.count == 1 ? "privacy unit \(ds.privacyUnit)"
                : "a person is matched by \(identifiers.joined(separator: ", then ")) (one privacy unit across identifiers)"
            out.append("  \(n) (provided by \(ds.provider); \(unit)\(ds.phoneCountry.map { "; national phone numbers are in \($0)" } ?? ""))")
            for c in ds.columns {
                let b = ds.bounds[c.name].map { "  clamped to [\($0.lower), \($0.upper)]" } ?? ""
                let role = c.name == ds.privacyUnit ? "  (privacy unit: never output)"
                    : identifiers.contains(c.name) ? "  (identifies a person: never output)"
                    : c.type.isIdentifier ? "  (identifier: never output)" : ""
                let normalised = c.type.isIdentifier ? "; normalised and SHA-256 hashed inside the worker" : ""
                out.append("    \(c.name): \(c.type)\(role)\(normalised)\(b)")
            }
        }
        let p = d.policy
        out += ["", "policy",
                "  min_group_size       \(p.minGroupSize)   (groups with fewer noisy distinct units are suppressed; declared keys are all released)",
                "  epsilon_per_query    \(p.epsilonPerQuery)", "  budget_epsilon       \(p.budgetEpsilon)   (per ledger, across jobs; runs are refused once spent)",
                "  delta                \(p.delta ?? "none (pure epsilon-DP, discrete Laplace noise)")",
                "  max_groups_per_unit  \(p.maxGroupsPerUnit)", "  max_rows_per_unit    \(p.maxRowsPerUnit)",
                "  max_join_rows_per_unit \(p.maxJoinRowsPerUnit)   (a unit's rows kept per joined source)", "", "queries"]
        for q in queries {
            out.append("  \(q.name): receivers \(q.receivers.joined(separator: ", ")); outputs \(q.outputs.joined(separator: ", "))")
            out.append("    cost per run: epsilon \(q.epsilon), delta \(q.delta), \(q.mechanism) noise; partition-selection delta \(String(format: "%.2g", q.thresholdDelta))")
            out.append("    groups: \(q.partitions.summary)")
            if case .declared(let keys) = q.partitions {
                let shown = keys.prefix(5).map { "(" + $0.joined(separator: ", ") + ")" }.joined(separator: " ")
                out.append("    declared keys: \(shown)\(keys.count > 5 ? " … \(keys.count - 5) more" : "")")
            }
            for (name, p) in q.parameters.sorted(by: { $0.key < $1.key }) {
                out.append("    parameter @\(name): \(p.type), \(p.allowedDescription) (bound by the receiver per run; every run is charged)")
            }
            for rule in q.matching {
                out.append("    matching: \(rule.joined(separator: ", else ")) (each person counted once; see docs/privacy.md)")
            }
            for weakness in q.weaknesses { out.append("    WEAK: \(weakness)") }
            for line in q.sql.split(separator: "\n") { out.append("    | \(line)") }
        }
        return out.joined(separator: "\n")
    }

    var json: String { String(decoding: APIJSON.encode(JSON(self), pretty: true), as: UTF8.self) }

    /// `module inspect --json`: stable keys for scripts and reviewers' tools.
    struct JSON: Encodable {
        struct Ledger: Encodable { let name: String; let declared: Bool; let id: String }
        struct Party: Encodable {
            let signingKeySHA384: String
            enum CodingKeys: String, CodingKey { case signingKeySHA384 = "signing_key_sha384" }
        }
        struct Column: Encodable { let name: String; let type: String }
        struct Dataset: Encodable {
            let provider: String; let privacyUnit: String; let columns: [Column]; let bounds: [String: [String]]
            /// Only for datasets matched on several identifiers, and only with a phone column.
            var identifiedBy: [String]? = nil
            var phoneCountry: String? = nil
            enum CodingKeys: String, CodingKey {
                case provider, columns, bounds, privacyUnit = "privacy_unit", identifiedBy = "identified_by", phoneCountry = "phone_country"
            }
        }
        struct Policy: Encodable {
            let minGroupSize: Int; let epsilonPerQuery: String; let budgetEpsilon: String
            /// Null when the policy declares none.
            let delta: Nullable<String>
            let maxGroupsPerUnit: Int; let maxRowsPerUnit: Int; let maxJoinRowsPerUnit: Int
            enum CodingKeys: String, CodingKey {
                case minGroupSize = "min_group_size", epsilonPerQuery = "epsilon_per_query", budgetEpsilon = "budget_epsilon", delta
                case maxGroupsPerUnit = "max_groups_per_unit", maxRowsPerUnit = "max_rows_per_unit", maxJoinRowsPerUnit = "max_join_rows_per_unit"
            }
        }
        struct Partitions: Encodable {
            let kind: String; let keys: [[String]]?
            init(_ p: PartitionSelection) {
                switch p {
                case .threshold: kind = "threshold"; keys = nil
                case .whole: kind = "whole"; keys = nil
                case .declared(let k): kind = "declared"; keys = k
                }
            }
        }
        struct Cost: Encodable {
            let epsilon: String; let delta: String; let mechanism: String; let thresholdDelta: Double
            let partitions: Partitions; let weak: [String]
            enum CodingKeys: String, CodingKey {
                case epsilon, delta, mechanism, partitions, weak
                case thresholdDelta = "threshold_delta", partitionSelectionDelta = "partition_selection_delta"
            }
            func encode(to encoder: any Encoder) throws {
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encode(epsilon, forKey: .epsilon)
                try c.encode(delta, forKey: .delta)
                try c.encode(mechanism, forKey: .mechanism)
                // Both names, as before: `threshold_delta` is the older one.
                try c.encode(thresholdDelta, forKey: .thresholdDelta)
                try c.encode(thresholdDelta, forKey: .partitionSelectionDelta)
                try c.encode(partitions, forKey: .partitions)
                try c.encode(weak, forKey: .weak)
            }
        }
        struct Query: Encodable {
            let sql: String; let receivers: [String]; let outputs: [String]; let cost: Cost
            /// Only for queries that match on several identifiers: each join's equalities in priority order.
            var matching: [[String]]? = nil
            /// Only for queries with @parameters: name -> {type, values} or {type, min, max}.
            var params: [String: [String: AnyCodableText]]? = nil
        }

        let name: String, version: String, measurement: String, signer: String
        let ledger: Ledger
        let parties: [String: Party]
        let datasets: [String: Dataset]
        let policy: Policy
        let queries: [String: Query]

        init(_ r: ModuleReport) {
            let d = r.sealed.definition
            name = d.name; version = d.version; measurement = r.sealed.measurement.hex; signer = r.sealed.signer.hex
            ledger = Ledger(name: d.ledgerName, declared: d.ledger != nil, id: Hex.encode(d.ledgerID))
            parties = d.parties.mapValues { Party(signingKeySHA384: MeasurementDigest.of(Array($0.signing.derRepresentation)).hex) }
            datasets = d.datasets.mapValues { ds in
                Dataset(provider: ds.provider, privacyUnit: ds.privacyUnit,
                        columns: ds.columns.map { Column(name: $0.name, type: $0.type.rawValue) },
                        bounds: ds.bounds.mapValues { [$0.lower, $0.upper] },
                        identifiedBy: ds.alsoIdentifiedBy.isEmpty ? nil : [ds.privacyUnit] + ds.alsoIdentifiedBy,
                        phoneCountry: ds.phoneCountry)
            }
            let p = d.policy
            policy = Policy(minGroupSize: p.minGroupSize, epsilonPerQuery: p.epsilonPerQuery, budgetEpsilon: p.budgetEpsilon, delta: Nullable(p.delta),
                            maxGroupsPerUnit: p.maxGroupsPerUnit, maxRowsPerUnit: p.maxRowsPerUnit, maxJoinRowsPerUnit: p.maxJoinRowsPerUnit)
            queries = Dictionary(uniqueKeysWithValues: r.queries.map { q in
                (q.name, Query(sql: q.sql, receivers: q.receivers, outputs: q.outputs,
                               cost: Cost(epsilon: q.epsilon, delta: q.delta, mechanism: q.mechanism, thresholdDelta: q.thresholdDelta,
                                          partitions: Partitions(q.partitions), weak: q.weaknesses),
                               matching: q.matching.isEmpty ? nil : q.matching,
                               params: q.parameters.isEmpty ? nil : q.parameters.mapValues { p in
                                   switch p.allowed {
                                   case .values(let v): ["type": .text(p.type.rawValue), "values": .list(v)]
                                   case .range(let lo, let hi): ["type": .text(p.type.rawValue), "min": .text(lo), "max": .text(hi)]
                                   }
                               }))
            })
        }
    }
}

/// A JSON value that is text or a list of text (a parameter's declaration in `module inspect --json`).
enum AnyCodableText: Encodable {
    case text(String)
    case list([String])

    func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .text(let t): try c.encode(t)
        case .list(let l): try c.encode(l)
        }
    }
}
