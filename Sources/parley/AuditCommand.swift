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

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a self-contained audit bundle: entries, checkpoints, the keys and roots to pin, TPM event logs.",
            discussion: "Examples:\n  parley audit export --server http://127.0.0.1:7300 -o audit\n  parley audit export --data parley-data -o audit")
        @OptionGroup var source: Source
        @Option(name: .shortAndLong, help: "Output directory (must not exist).") var output: String

        func validate() throws {
            guard (source.server == nil) != (source.data == nil) else { throw ValidationError("give exactly one of --server URL or --data DIR") }
        }

        func run() throws {
            do {
                try exportBundle(source, to: output)
                print("wrote the audit bundle to \(output); replay it with `parley audit replay --bundle \(output)`")
            } catch let e as ParleyError { fail(e.reason) } catch { fail("\(error)") }
        }
    }

    struct Replay: ParsableCommand {
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
            """)
        @OptionGroup var source: Source
        @Option(help: "A bundle written by `parley audit export`.") var bundle: String?
        @Option(help: "Pins for the replay (TOML).") var policy: String?
        @Flag(help: "Print the report as JSON.") var json = false

        func validate() throws {
            guard [source.server, source.data, bundle].compactMap({ $0 }).count == 1 else {
                throw ValidationError("give exactly one of --server URL, --data DIR or --bundle DIR")
            }
        }

        func run() throws {
            do {
                var dir = bundle ?? ""
                var temporary: String?
                if bundle == nil {
                    let t = FileManager.default.temporaryDirectory.appendingPathComponent("parley-audit-\(UUID().uuidString)").path
                    try exportBundle(source, to: t)
                    temporary = t
                    dir = t
                }
                defer { if let temporary { try? FileManager.default.removeItem(atPath: temporary) } }
                let report = AuditReplay(bundle: try AuditBundle.open(dir), policy: try policy.map(loadAuditPolicy)).run()
                print(json ? report.json : report.text)
                if case .failed = report.verdict { throw ExitCode(3) }
            } catch let e as ParleyError { fail(e.reason) }
        }
    }
}

/// Writes a bundle from a host (over HTTP) or from a stopped host's data directory.
func exportBundle(_ source: AuditCommand.Source, to output: String) throws {
    try exportBundle(server: source.server, data: source.data, to: output)
}

func exportBundle(server: String?, data: String?, to output: String) throws {
    guard !FileManager.default.fileExists(atPath: output) else { throw ParleyError(.io, "\(output) already exists; choose a new directory") }
    if let data {
        _ = try AuditBundle.export(dataDirectory: data, to: output)
        return
    }
    let r = try HTTP(server: server ?? "").request("GET", "/v1/audit/export")
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
        try t.rejectUnknownKeys(allowed: ["modules", "log_key", "quoting_root", "tpm_ak"])
        var policy = AuditPolicy()
        if let modules = try t.optionalStringArray("modules", mustBe: "96 hex digits", where: { (try? MeasurementDigest(hex: $0)) != nil }) {
            policy.expectedModules = try modules.map { try MeasurementDigest(hex: $0) }
        }
        if let k = try t.optionalString("log_key") {
            do { policy.logKey = try NoteVerifierKey(parsing: try FileIO.readText(resolve(k)).trimmingCharacters(in: .whitespacesAndNewlines)) } catch {
                throw t.error("log_key \(resolve(k)) is not a note verifier key", at: "log_key")
            }
        }
        if let q = try t.optionalString("quoting_root") { policy.anchors.quotingRoot = try Certificate(pem: try FileIO.readText(resolve(q))) }
        if let a = try t.optionalString("tpm_ak") { policy.anchors.tpmAttestationKey = try ECVerifyingKey(pem: try FileIO.readText(resolve(a))).derRepresentation }
        return policy
    } catch let e as TOMLError {
        throw ParleyError(.malformed, e.description)
    }
}
