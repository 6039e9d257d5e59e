import ArgumentParser
import Foundation
import ParleyAttestation
import ParleyCore
import ParleyParty
import ParleyLog

struct AttestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attest",
        abstract: "Check a worker's evidence against your own policy before you send it anything.",
        subcommands: [Verify.self, AttestFetchCommand.self, AttestReferenceCommand.self]
    )

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify evidence (a software or TPM quote) for your nonce against your policy file.",
            discussion: """
            Three stages, each of which must pass: parse the evidence; check its integrity (the \
            quoting certificate chains to your pinned root and signs the document, or the TPM quote \
            is signed by your pinned attestation key, its launch log replays to the quoted PCR 13 \
            in the quote's boot of the TPM, and the platform's measured-boot log and IMA list \
            replay to PCRs 0-7 and 10; the nonce is yours); appraise it against your policy \
            (module, runtime, signer, debug mode, age, nonce not used before, the job you name, \
            and for TPM quotes the boot state and every executable the kernel measured).

            The verdict names the tier: `tpm` only when the platform was appraised. TPM evidence \
            without platform logs is refused unless the policy sets allow_unappraised_tpm = true; \
            it is then `tpm-unappraised`, with a warning: anyone who controls the TPM can forge it.

            Exit status 0 means trusted. On refusal the reason is printed on standard error (every \
            reason with --json) and the exit status is 3; 2 means the command itself could not run.

            Policy file (TOML; paths relative to it):
              quote = "software"                # or "tpm"
              module = "<96 hex>"               # parley module measure BUNDLE
              runtime = ["<96 hex>"]            # parley runtime measure
              module_signers = ["<96 hex>"]     # optional
              quoting_root = "quoting-root.pem" # from the host's data directory (software)
              tpm_ak = "tpm-ak.pem"             # from the host's data directory (tpm)
              max_age_seconds = 300
              allow_debug = false
              boot_reference = "boot-reference.json"   # tpm: from `parley attest reference`
              runtime_policy = "runtime-policy.json"   # tpm: Keylime runtime-policy JSON
              required_measured = ["<sha256 hex>", …]  # tpm: reviewed parley, parley-enclave
              allow_unappraised_tpm = false            # true accepts forgeable TPM launches

            With --server, it also talks to the host, like every party command: the host's log must \
            be proved to extend the newest checkpoint in your client state (--state), and the \
            worker's ledger claim must cover every job you saw launched; a rolled-back or rewritten \
            log is refused (exit status 3). Without --server the check is offline.

            Example:
              parley attest verify evidence.cbor --nonce "$NONCE" --policy policy.toml --job "$JOB"
              parley attest verify evidence.cbor --nonce "$NONCE" --policy policy.toml --job "$JOB" --server "$URL"
            """
        )

        @Argument(help: "The evidence file, as fetched from the host.")
        var evidence: String

        @Option(help: "The nonce you sent with the request, in hex (16 to 64 bytes).")
        var nonce: String

        @Option(help: "Your appraisal policy (TOML).")
        var policy: String

        @Option(help: "The job you asked about: evidence whose launch names another job is refused.")
        var job: String?

        @Option(help: "File recording nonces already used (default: ~/.parley/seen-nonces).")
        var nonceLedger: String?

        @Flag(help: "Print the full verdict as JSON on standard output.")
        var json = false

        @Option(help: "The host's URL: also check its log against your client state and the worker's ledger claim.")
        var server: String?

        @OptionGroup var state: StateOptions

        func validate() throws {
            guard (try? Nonce(hex: nonce)) != nil else {
                throw ValidationError("--nonce must be 32 to 128 hex digits (16 to 64 bytes); make one with `openssl rand -hex 32`.")
            }
        }

        func run() async throws {
            let nonce: Nonce, policy: AppraisalPolicy, bytes: [UInt8]
            var ledger: FileNonceLedger
            var log: (follower: LogFollower, head: VerifiedCheckpoint)?
            do {
                nonce = try Nonce(hex: self.nonce)
                policy = try AppraisalPolicy.load(path: self.policy)
                bytes = try FileIO.read(evidence, maxBytes: UnverifiedEvidence.maxSize)
                ledger = try FileNonceLedger(path: nonceLedger ?? defaultLedgerPath())
                if let server {
                    let follower = try await state.follower(try HTTP(server: server), pinnedKey: policy.logKey,
                                                      witnesses: policy.witnesses, quorum: policy.witnessQuorum)
                    log = (follower, try await follower.follow())
                }
            } catch let e as ParleyError {
                fail(e.reason, code: 2)
            } catch let e as LogRefusal {
                if json { print(VerdictJSON.render(refusedBy: e)) }
                fail("refused: \(e.description)", code: 3)
            }
            let verdict = AttestationVerifier(policy: policy, now: Date()).verify(bytes, nonce: nonce, ledger: &ledger, job: job)
            if case .trusted(let r) = verdict, let log {
                do { try await log.follower.checkLedger(r.claims, head: log.head) } catch let e as LogRefusal {
                    if json { print(VerdictJSON.render(refusedBy: e)) }
                    fail("refused: \(e.description)", code: 3)
                } catch { fail("\(error)", code: 2) }
            }
            if json { print(VerdictJSON.render(verdict)) }
            switch verdict {
            case .trusted(let r):
                if let warning = r.warning { FileHandle.standardError.write(Data("parley: \(warning)\n".utf8)) }
                if !json {
                    print("trusted: \(r.tier) quote; job \(r.claims.job); module \(r.claims.module.hex.prefix(16))…; runtime \(r.claims.runtime.hex.prefix(16))…")
                    for (step, outcome) in r.claims.sandbox.sorted(by: { $0.key < $1.key }) { print("  sandbox \(step): \(outcome)") }
                }
            case .refused(let reasons):
                if !json { FileHandle.standardError.write(Data("parley: refused: \(reasons[0])\n".utf8)) }
                throw ExitCode(3)
            case .failed(let failure):
                // Not a verdict on the evidence: the command itself could not run.
                if !json { FileHandle.standardError.write(Data("parley: \(failure)\n".utf8)) }
                throw ExitCode(2)
            }
        }
    }
}

func defaultLedgerPath() -> String {
    (ProcessInfo.processInfo.environment["HOME"] ?? ".") + "/.parley/seen-nonces"
}

/// The `--json` rendering of a verdict: stable keys for scripts.
struct VerdictJSON: Encodable {
    struct Claims: Encodable {
        let job: String, runtime: String, module: String, moduleSigner: String, debug: Bool, publicKey: String, signingKey: String
        /// The worker's lock-down report, step -> outcome (absent when the worker reported none).
        let sandbox: [String: String]?
        enum CodingKeys: String, CodingKey {
            case job, runtime, module, debug, sandbox
            case moduleSigner = "module_signer", publicKey = "public_key", signingKey = "signing_key"
        }
    }
    struct Reason: Encodable { let code: String; let message: String }

    let verdict: String
    var tier: String?
    var claims: Claims?
    var warning: String?
    var reasons: [Reason]?
    var error: Reason?

    static func render(_ verdict: AttestationVerdict) -> String {
        var out: VerdictJSON
        switch verdict {
        case .trusted(let r):
            out = VerdictJSON(verdict: "trusted")
            out.tier = r.tier.rawValue
            out.claims = Claims(job: r.claims.job, runtime: r.claims.runtime.hex, module: r.claims.module.hex,
                                moduleSigner: r.claims.moduleSigner.hex, debug: r.claims.debug,
                                publicKey: Hex.encode(r.claims.publicKey), signingKey: Hex.encode(r.claims.signingKey),
                                sandbox: r.claims.sandbox.isEmpty ? nil : r.claims.sandbox)
            out.warning = r.warning
        case .refused(let reasons):
            out = VerdictJSON(verdict: "refused")
            out.reasons = reasons.map { Reason(code: $0.code, message: $0.description) }
        case .failed(let failure):
            out = VerdictJSON(verdict: "failed")
            out.error = Reason(code: failure.code, message: failure.description)
        }
        return String(decoding: APIJSON.encode(out), as: UTF8.self)
    }

    /// A refusal by the client's log memory (ledger claim), in the same shape as a refused verdict.
    static func render(refusedBy refusal: LogRefusal) -> String {
        var out = VerdictJSON(verdict: "refused")
        out.reasons = [Reason(code: refusal.code, message: refusal.description)]
        return String(decoding: APIJSON.encode(out), as: UTF8.self)
    }
}
