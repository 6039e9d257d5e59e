import ArgumentParser
import Foundation
import ParleyAttestation
import ParleyAudit
import ParleyCore
import ParleyLog
import ParleyParty
import ParleyTOML

struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", abstract: "Export the log as a self-contained bundle, and replay it offline.",
        subcommands: [Export.self, Replay.self])

    struct Source: ParsableArguments {
        @Option(help: "Fetch from this host.") var server: String?
        @Option(help: "Export from a stopped host's data directory.") var data: String?
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a self-contained audit bundle: entries, checkpoints, the keys and roots to pin, TPM event logs.",
            discussion: "Examples:\n  parley audit export --server http://127.0.0.1:7300 -o audit\n  parley audit export --data parley-data -o audit")
        @OptionGroup var source: Source
        @Option(name: .shortAndLong, help: "Output directory (must not exist).") var output: String

        func validate() throws {
            guard (source.server == nil) != (source.data == nil) else { throw ValidationError("give exactly one of --server URL or --data DIR") }
        }

        func run() async throws {
            do {
                try await exportBundle(source, to: output)
                print("wrote the audit bundle to \(output); replay it with `parley audit replay --bundle \(output)`")
            } catch let e as ParleyError { fail(e.reason) } catch { fail("\(error)") }
        }
    }

    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replay every entry and every piece of evidence; exit non-zero naming the first entry that fails.",
            discussion: """
            Recomputes every leaf and the Merkle tree, checks checkpoint signatures and consistency, \
            re-verifies every launch's evidence (TPM event logs against quoted PCRs), checks worker \
            signatures on uploads and releases, that no budget was exceeded, that every release came \
            after its datasets, and that each job ran the module the policy expects.

            Optional policy (TOML; paths relative to it): pins what the bundle must not supply itself.
              modules = ["<96 hex>"]             # module measurements that may have run
              log_key = "log-key.pub"            # the host's log verifier key
              quoting_root = "quoting-root.pem"
              tpm_ak = "tpm-ak.pem"
              witnesses = ["w1.pub"]             # witness keys: known checkpoints must be cosigned
              witness_quorum = 1

            Hold the log to what others saw: --known-checkpoint FILE (repeatable) takes a signed \
            checkpoint note (a party's <state>/logs/<key>/checkpoint, a receipt's, a witness's); \
            the replay fails unless the log extends each one. With --server, the log is also held \
            to your own client state (--state), like every party command.
            """)
        @OptionGroup var source: Source
        @OptionGroup var state: StateOptions
        @Option(help: "A bundle written by `parley audit export`.") var bundle: String?
        @Option(help: "Pins for the replay (TOML).") var policy: String?
        @Option(name: .customLong("known-checkpoint"), help: "A signed checkpoint someone saw; the log must extend it (repeatable).")
        var knownCheckpoints: [String] = []
        @Flag(help: "Print the report as JSON.") var json = false

        func validate() throws {
            guard [source.server, source.data, bundle].compactMap({ $0 }).count == 1 else {
                throw ValidationError("give exactly one of --server URL, --data DIR or --bundle DIR")
            }
        }

        func run() async throws {
            do {
                var auditPolicy = try policy.map(loadAuditPolicy) ?? AuditPolicy()
                if let server = source.server {
                    // Before the export, so the bundle covers at least what was just verified.
                    let followed = try await state.follower(try HTTP(server: server), pinnedKey: auditPolicy.logKey,
                                                      witnesses: auditPolicy.witnesses, quorum: auditPolicy.witnessQuorum).follow()
                    auditPolicy.knownCheckpoints.append((source: "the checkpoint you just verified", note: followed.note))
                }
                var dir = bundle ?? ""
                var temporary: String?
                if bundle == nil {
                    let t = FileManager.default.temporaryDirectory.appendingPathComponent("parley-audit-\(UUID().uuidString)").path
                    try await exportBundle(source, to: t)
                    temporary = t
                    dir = t
                }
                defer { if let temporary { try? FileManager.default.removeItem(atPath: temporary) } }
                for file in knownCheckpoints {
                    auditPolicy.knownCheckpoints.append((source: file, note: try FileIO.read(file, maxBytes: SignedNote.maxByteCount)))
                }
                let report = AuditReplay(bundle: try AuditBundle.open(dir), policy: auditPolicy).run()
                print(json ? report.json : report.text)
                if case .failed = report.verdict { throw ExitCode(3) }
            } catch let e as ParleyError { fail(e.reason) } catch let e as LogRefusal { fail(e.description) }
        }
    }
}

/// Writes a bundle from a host (over HTTP) or from a stopped host's data directory.
func exportBundle(_ source: AuditCommand.Source, to output: String) async throws {
    try await exportBundle(server: source.server, data: source.data, to: output)
}

func exportBundle(server: String?, data: String?, to output: String) async throws {
    guard !FileManager.default.fileExists(atPath: output) else { throw ParleyError(.io, "\(output) already exists; choose a new directory") }
    if let data {
        _ = try AuditBundle.export(dataDirectory: data, to: output)
        return
    }
    let r = try await HTTP(server: server ?? "").request("GET", "/v1/audit/export")
    guard r.status == 200 else { throw ParleyError(.io, "export refused (\(r.status)): \(r.errorMessage)") }
    let files = try CBORDecoder(limits: .init(maxBytes: 1 << 30, maxDepth: 3, maxItems: 1 << 20)).decode(r.body).textKeyedMap("bundle")
    for (path, content) in files {
        guard !path.hasPrefix("/"), !path.split(separator: "/").contains("..") else { throw ParleyError(.malformed, "the bundle names an unsafe path") }
        let full = output + "/" + path
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try FileIO.write(try content.bytesValue(path), to: full)
    }
}

/// Reads an audit policy file.
func loadAuditPolicy(_ path: String) throws -> AuditPolicy {
    let base = URL(fileURLWithPath: path).deletingLastPathComponent()
    func resolve(_ p: String) -> String { p.hasPrefix("/") ? p : base.appendingPathComponent(p).path }
    do {
        let t = try TOMLDocument.parse(try FileIO.readText(path), fileName: path)
        try t.rejectUnknownKeys(allowed: ["modules", "log_key", "quoting_root", "tpm_ak", "witnesses", "witness_quorum"])
        var policy = AuditPolicy()
        if let modules = try t.optionalStringArray("modules", mustBe: "96 hex digits", where: { (try? MeasurementDigest(hex: $0)) != nil }) {
            policy.expectedModules = try modules.map { try MeasurementDigest(hex: $0) }
        }
        if let k = try t.optionalString("log_key") {
            do { policy.logKey = try NoteVerifierKey(parsing: try FileIO.readText(resolve(k)).trimmingCharacters(in: .whitespacesAndNewlines)) } catch {
                throw t.error("log_key \(resolve(k)) is not a note verifier key", at: "log_key")
            }
        }
        for w in try t.optionalStringArray("witnesses") ?? [] {
            do { policy.witnesses.append(try CosignerKey(parsing: try FileIO.readText(resolve(w)).trimmingCharacters(in: .whitespacesAndNewlines))) } catch {
                throw t.error("witnesses: \(resolve(w)) is not a witness key", at: "witnesses")
            }
        }
        policy.witnessQuorum = Int(try t.optionalInt("witness_quorum", mustBe: "1 to the number of witnesses") { (1...Int64(max(1, policy.witnesses.count))).contains($0) } ?? Int64(policy.witnesses.count))
        if let q = try t.optionalString("quoting_root") { policy.anchors.quotingRoot = try Certificate(pem: try FileIO.readText(resolve(q))) }
        if let a = try t.optionalString("tpm_ak") { policy.anchors.tpmAttestationKey = try ECVerifyingKey(pem: try FileIO.readText(resolve(a))).derRepresentation }
        return policy
    } catch let e as TOMLError {
        throw ParleyError(.malformed, e.description)
    }
}
