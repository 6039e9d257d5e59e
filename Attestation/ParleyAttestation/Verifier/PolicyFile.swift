import Foundation
import ParleyCore
import ParleyLog
import ParleyTOML

extension AppraisalPolicy {
    /// The keys a policy file may hold.
    static let fileKeys = ["quote", "module", "runtime", "module_signers", "quoting_root", "tpm_ak", "max_age_seconds", "allow_debug",
                           "log_key", "witnesses", "witness_quorum",
                           "boot_reference", "runtime_policy", "required_measured", "allow_unappraised_tpm"]

    /// Reads a party's policy file (TOML). Paths inside it are relative to the file.
    ///
    ///     quote = "software"                # or "tpm"
    ///     module = "<96 hex>"               # `parley module measure BUNDLE`
    ///     runtime = ["<96 hex>"]            # `parley runtime measure`
    ///     module_signers = ["<96 hex>"]     # optional
    ///     quoting_root = "quoting-root.pem" # software quotes
    ///     tpm_ak = "tpm-ak.pem"             # tpm quotes
    ///     max_age_seconds = 300
    ///     allow_debug = false
    ///     log_key = "log-key.pub"           # the host's log key: checkpoints are held to it
    ///     witnesses = ["w1.pub", "w2.pub"]  # witness keys (`parley witness`), optional
    ///     witness_quorum = 2                # cosignatures required (default: all listed)
    ///     boot_reference = "boot-reference.json"     # tpm: `parley attest reference`
    ///     runtime_policy = "runtime-policy.json"     # tpm: Keylime runtime-policy JSON
    ///     required_measured = ["<sha256 hex>", …]    # tpm: reviewed parley and parley-enclave
    ///     allow_unappraised_tpm = false              # tpm without platform appraisal: forgeable
    ///
    /// - Throws: ``ParleyError`` whose reason starts `file:line:column:` for a problem in the file;
    ///   a missing or empty expectation is an error, never a silent pass.
    public static func load(path: String) throws -> AppraisalPolicy {
        let text = try FileIO.readText(path)
        let base = URL(fileURLWithPath: path).deletingLastPathComponent()
        do {
            let t = try TOMLDocument.parse(text, fileName: path)
            try t.rejectUnknownKeys(allowed: fileKeys)
            let isHex96: (String) -> Bool = { (try? MeasurementDigest(hex: $0)) != nil }
            let quoteText = try t.requiredString("quote", mustBe: "\"software\" or \"tpm\"") { $0 == "software" || $0 == "tpm" }
            let module = try t.requiredString("module", mustBe: "96 hex digits (from `parley module measure BUNDLE`)", where: isHex96)
            let runtime = try t.requiredStringArray("runtime", mustBe: "96 hex digits (from `parley runtime measure`)", where: isHex96)
            guard !runtime.isEmpty else { throw t.error("\"runtime\" is empty: list at least one accepted runtime measurement", at: "runtime") }
            let signers = try t.optionalStringArray("module_signers", mustBe: "96 hex digits", where: isHex96)
            if let signers, signers.isEmpty {
                throw t.error("\"module_signers\" is empty: list at least one signer, or remove the key to accept any", at: "module_signers")
            }
            let maxAge = try t.optionalInt("max_age_seconds", mustBe: "1 to 86400") { (1...86_400).contains($0) } ?? 300
            let allowDebug = try t.optionalBool("allow_debug") ?? false
            let tier = AssuranceTier(rawValue: quoteText)!
            var anchors = TrustAnchors()
            func resolve(_ p: String) -> String { p.hasPrefix("/") ? p : base.appendingPathComponent(p).path }
            if let root = try t.optionalString("quoting_root") {
                do { anchors.quotingRoot = try Certificate(pem: try FileIO.readText(resolve(root))) } catch let e as ParleyError {
                    throw t.error("quoting_root \(resolve(root)): \(e.reason)", at: "quoting_root")
                }
            }
            if let ak = try t.optionalString("tpm_ak") {
                do { anchors.tpmAttestationKey = try ECVerifyingKey(pem: try FileIO.readText(resolve(ak))).derRepresentation } catch let e as ParleyError {
                    throw t.error("tpm_ak \(resolve(ak)): \(e.reason)", at: "tpm_ak")
                }
            }
            var logKey: NoteVerifierKey?
            if let k = try t.optionalString("log_key") {
                let text: String
                do { text = try FileIO.readText(resolve(k)) } catch let e as ParleyError { throw t.error("log_key \(resolve(k)): \(e.reason)", at: "log_key") }
                do { logKey = try NoteVerifierKey(parsing: text.trimmingCharacters(in: .whitespacesAndNewlines)) } catch {
                    throw t.error("log_key \(resolve(k)) is not a note verifier key (copy log-key.pub from the host's data directory): \(error.reason)", at: "log_key")
                }
            }
            var witnesses: [CosignerKey] = []
            for path in try t.optionalStringArray("witnesses") ?? [] {
                do { witnesses.append(try CosignerKey(parsing: try FileIO.readText(resolve(path)).trimmingCharacters(in: .whitespacesAndNewlines))) } catch {
                    throw t.error("witnesses: \(resolve(path)) is not a witness key (witness-key.pub from `parley witness`)", at: "witnesses")
                }
            }
            let quorum = try t.optionalInt("witness_quorum", mustBe: "1 to the number of witnesses listed") { (1...Int64(max(1, witnesses.count))).contains($0) && !witnesses.isEmpty }
            if tier == .software, anchors.quotingRoot == nil {
                throw t.error("quote = \"software\" needs quoting_root = \"quoting-root.pem\" (copy it from the host's data directory)", at: "quote")
            }
            if tier == .tpm, anchors.tpmAttestationKey == nil {
                throw t.error("quote = \"tpm\" needs tpm_ak = \"tpm-ak.pem\" (copy it from the host's data directory)", at: "quote")
            }
            let allowUnappraised = try t.optionalBool("allow_unappraised_tpm") ?? false
            var platform: PlatformReference?
            let bootPath = try t.optionalString("boot_reference"), runtimePath = try t.optionalString("runtime_policy")
            let required = try t.optionalStringArray("required_measured", mustBe: "a hex file digest (from `parley attest reference`)") {
                [20, 32, 48, 64].contains((try? Hex.decode($0))?.count ?? 0)
            }
            if bootPath != nil || runtimePath != nil || required != nil {
                guard let bootPath, let runtimePath, let required else {
                    throw t.error("boot_reference, runtime_policy and required_measured go together (write them with `parley attest reference`)",
                                  at: bootPath == nil ? "boot_reference" : runtimePath == nil ? "runtime_policy" : "required_measured")
                }
                let boot: BootReference, runtime: RuntimePolicy
                do { boot = try BootReference(json: try FileIO.read(resolve(bootPath), maxBytes: 64 << 10)) } catch let e as ParleyError {
                    throw t.error("boot_reference \(resolve(bootPath)): \(e.reason)", at: "boot_reference")
                }
                do { runtime = try RuntimePolicy(json: try FileIO.read(resolve(runtimePath), maxBytes: RuntimePolicy.Limits.maxBytes)) } catch let e as ParleyError {
                    throw t.error("runtime_policy \(resolve(runtimePath)): \(e.reason)", at: "runtime_policy")
                }
                do { platform = try PlatformReference(boot: boot, runtime: runtime, requiredMeasured: required) } catch let e as ParleyError {
                    throw t.error(e.reason, at: "required_measured")
                }
            }
            if tier == .tpm, platform == nil, !allowUnappraised {
                throw t.error("quote = \"tpm\" needs boot_reference, runtime_policy and required_measured (run `parley attest reference` on a known-good host); allow_unappraised_tpm = true accepts forgeable launches instead", at: "quote")
            }
            var policy = try AppraisalPolicy(quote: tier, module: try MeasurementDigest(hex: module), runtime: try runtime.map { try MeasurementDigest(hex: $0) },
                                       moduleSigners: try signers.map { try $0.map { try MeasurementDigest(hex: $0) } },
                                       anchors: anchors, maxAgeSeconds: Int(maxAge), allowDebug: allowDebug, logKey: logKey,
                                       platform: platform, allowUnappraisedTPM: allowUnappraised)
            policy.witnesses = witnesses
            policy.witnessQuorum = quorum.map(Int.init) ?? witnesses.count
            return policy
        } catch let e as TOMLError {
            throw ParleyError(.malformed, e.description)
        }
    }
}
