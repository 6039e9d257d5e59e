import ArgumentParser
import Foundation
import ParleyParty
import ParleyAttestation
import ParleyCore
import ParleyPrivacy
import ParleyModule
import ParleyLog

struct UploadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "upload",
        abstract: "Verify the worker against your policy, then upload a CSV encrypted to it.",
        discussion: """
        Asks the host for evidence with a fresh nonce and verifies it (the same checks as \
        `parley attest verify`). Only if it passes is the file encrypted to the attested worker's \
        key, signed with your key, and streamed. A failed verification sends nothing and says why.

        Example:
          parley upload --server http://127.0.0.1:7300 --job "$JOB" --dataset purchases \\
            --file purchases.csv --key retailer.key --policy policy.toml
        """)
    @OptionGroup var server: ServerOptions
    @OptionGroup var state: StateOptions
    @Option(help: "Job id.") var job: String
    @Option(help: "The dataset's name in the module.") var dataset: String
    @Option(help: "The CSV file (header row required).") var file: String
    @Option(help: "Your private key (from `parley keygen`).") var key: String
    @Option(help: "Your appraisal policy (TOML).") var policy: String
    @Flag(help: "No progress bar.") var quiet = false

    func run() async throws {
        do {
            let http = try HTTP(server: server.server)
            let key = try PartyPrivateKey.load(path: key)
            let policy = try AppraisalPolicy.load(path: policy)
            let log = try await state.follower(http, pinnedKey: policy.logKey, witnesses: policy.witnesses, quorum: policy.witnessQuorum)
            let worker = try await ClientOps.verifiedWorker(http, job: job, policy: policy, log: log)
            if !quiet { FileHandle.standardError.write(Data("worker verified: \(worker.tier) quote\n".utf8)) }
            let receipt = try await ClientOps.upload(http, job: job, dataset: dataset, file: file, key: key, worker: worker, progress: !quiet, log: log)
            print("\(receipt.receipt.acceptedLine); dataset digest \(receipt.receipt.digest); logged as entry \(receipt.logIndex.map(String.init) ?? "?"), receipt kept in \(log.directory)/receipts")
            if let identifiers = receipt.receipt.identifiers, identifiers.unusableRows > 0 {
                print(Self.describe(identifiers))
            }
        } catch let e as ParleyError { fail(e.reason) } catch let e as LogRefusal { fail(e.description) }
    }
}

extension UploadCommand {
    /// The worker's report on unusable identifiers, for the provider: counts per column and
    /// reason, and the first rows (numbered as a spreadsheet shows them), never the contents.
    static func describe(_ s: IdentifierSummary) -> String {
        let columns = s.problems.keys.sorted().map { column in
            let reasons = (s.problems[column] ?? [:]).sorted { $0.key < $1.key }.map { "\($0.value) \($0.key.replacingOccurrences(of: "_", with: " "))" }
            return "\(column): \(reasons.joined(separator: ", "))"
        }
        let shown = s.rowNumbers.prefix(20).map(String.init).joined(separator: ", ")
        let more = s.unusableRows > 20 ? " (the first 20 of \(s.unusableRows))" : ""
        return """
            note: \(s.unusableRows) rows have identifiers the worker could not use and never match on them; \
            \(s.droppedRows) of them had no usable identifier at all and were left out.
              \(columns.joined(separator: "; "))
              rows: \(shown)\(more)
            """
    }
}

struct QueryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query", abstract: "Run a declared query, or preview what it costs.",
        subcommands: [Run.self, Cost.self])

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a query as one of its receivers; prints the checked, decrypted result.",
            discussion: """
            Verifies the worker's evidence first, signs the request with your key, and accepts the \
            result only if it is signed by the attested worker and sealed to you. --format json \
            prints one object: job, query, columns, rows, suppressed_groups, epsilon_charged, budget_left.

            A query that declares @parameters takes one --param name=value for each, in the \
            canonical form the module lists (dates YYYY-MM-DD, decimals with four places): \
            `module inspect` shows each parameter's allowed values. The values are signed with \
            the request and recorded in the worker's release entry; each run is charged.

            Example:
              parley query run --job "$JOB" --query conversions_since --param since=2024-06-01 \
                --param region=2 --key brand.key --policy policy.toml
            """)
        @OptionGroup var server: ServerOptions
        @OptionGroup var state: StateOptions
        @Option(help: "Job id.") var job: String
        @Option(help: "The query's name in the module.") var query: String
        @Option(help: "Your private key.") var key: String
        @Option(help: "Your appraisal policy (TOML).") var policy: String
        @Option(help: "table, csv or json.") var format = "table"
        @Option(name: .customLong("param"), help: ArgumentHelp("A value for one of the query's @parameters, as name=value (repeat for each).",
                                                               valueName: "name=value"))
        var params: [String] = []

        /// The --param values by name.
        var parameters: [String: String] {
            Dictionary(params.compactMap { p in p.firstIndex(of: "=").map { (String(p[..<$0]), String(p[p.index(after: $0)...])) } },
                       uniquingKeysWith: { first, _ in first })
        }

        func validate() throws {
            guard ["table", "csv", "json"].contains(format) else { throw ValidationError("--format must be table, csv or json") }
            var seen = Set<String>()
            for p in params {
                guard let eq = p.firstIndex(of: "="), eq != p.startIndex else {
                    throw ValidationError("--param takes name=value, as in --param since=2024-06-01; got \(p)")
                }
                guard seen.insert(String(p[..<eq])).inserted else { throw ValidationError("--param \(p[..<eq]) is given twice") }
            }
        }

        func run() async throws {
            do {
                let http = try HTTP(server: server.server)
                let key = try PartyPrivateKey.load(path: key)
                let policy = try AppraisalPolicy.load(path: policy)
                let log = try await state.follower(http, pinnedKey: policy.logKey, witnesses: policy.witnesses, quorum: policy.witnessQuorum)
                let worker = try await ClientOps.verifiedWorker(http, job: job, policy: policy, log: log)
                let me = try await ClientOps.partyName(http, job: job, key: key)
                print(ClientOps.render(try await ClientOps.runQuery(http, job: job, query: query, receiver: me, key: key, worker: worker, log: log,
                                                                    parameters: parameters), format: format))
            } catch let e as ParleyError { fail(e.reason) } catch let e as LogRefusal { fail(e.description) }
        }
    }

    struct Cost: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show what one run of a query charges against the budget (from the sealed module).")
        @Argument(help: "The sealed module (.parley).") var bundle: String
        @Option(help: "The query's name.") var query: String

        func run() throws {
            do {
                let sealed = try SealedModule.load(path: bundle)
                let d = sealed.definition
                guard d.queries[query] != nil else { fail("the module declares no query \(query) (it has \(d.queries.keys.sorted().joined(separator: ", ")))") }
                let cost = try d.cost(ofQuery: query)
                print("query \(query): epsilon \(cost.epsilon) and delta \(cost.delta) per run (\(cost.mechanism.rawValue) noise), of a budget of \(d.policy.budgetEpsilon)")
                print("groups: \(cost.partitions.summary)")
                print("partition-selection delta: \(String(format: "%.2g", cost.partitionSelectionDelta))"
                      + (cost.partitions.isPublic ? " (public partitions)" : " (added to every run's delta)"))
                for c in cost.aggregateCharges {
                    print("  \(c.aggregate.name): \(c.measurements.count) measurement(s): \(c.measurements.map(\.description).joined(separator: "; "))")
                }
                print("measurements (each gets an equal share of the run's loss; read by several aggregates, charged once):")
                for m in cost.measurements {
                    print("  \(m.measurement): share \(m.share), sensitivity L1 \(m.sensitivity.l1), \(m.noise)")
                }
                for weakness in cost.weaknesses(under: try d.privacyPolicy()) { print("WEAK: \(weakness)") }
            } catch let e as ParleyError { fail(e.reason) }
        }
    }
}

struct AttestFetchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fetch", abstract: "Fetch a job's evidence for your nonce into a file, to verify by hand.",
        discussion: """
        Like every party command, first checks the host's log against your client state \
        (--state): the host's current checkpoint must be proved to extend the newest one you \
        verified, or nothing is fetched (a host that restored an older data directory or \
        rewrote its log is refused here). --policy pins the log key and witnesses from your \
        policy file; without it the host's own log key is used (and a warning says so).

        Example:
          NONCE=$(openssl rand -hex 32)
          parley attest fetch --job "$JOB" --nonce "$NONCE" --policy policy.toml -o evidence.cbor
          parley attest verify evidence.cbor --nonce "$NONCE" --policy policy.toml --server "$URL"
        """)
    @OptionGroup var server: ServerOptions
    @OptionGroup var state: StateOptions
    @Option(help: "Job id.") var job: String
    @Option(help: "A fresh nonce, hex (16 to 64 bytes).") var nonce: String
    @Option(help: "Your appraisal policy (TOML), for its log_key and witnesses.") var policy: String?
    @Option(name: .shortAndLong, help: "Output file.") var output: String

    func run() async throws {
        do {
            guard let nonce = try? Nonce(hex: nonce) else { fail("--nonce must be 32 to 128 hex digits; make one with `openssl rand -hex 32`", code: 2) }
            let http = try HTTP(server: server.server)
            let policy = try self.policy.map { try AppraisalPolicy.load(path: $0) }
            let log = try await state.follower(http, pinnedKey: policy?.logKey, witnesses: policy?.witnesses ?? [], quorum: policy?.witnessQuorum ?? 0)
            let (evidence, _) = try await ClientOps.fetchEvidence(http, job: job, nonce: nonce, log: log)
            try FileIO.write(evidence, to: output, mode: 0o644)
            print("wrote \(evidence.count) bytes of evidence to \(output)")
        } catch let e as ParleyError { fail(e.reason) } catch let e as LogRefusal { fail(e.description) }
    }
}
