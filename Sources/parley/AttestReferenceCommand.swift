import ArgumentParser
import Foundation
import ParleyAttestation
import ParleyCore

/// `parley attest reference`: reference values from a known-good host.
struct AttestReferenceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reference",
        abstract: "Write the boot reference and runtime allow-list of a known-good TPM host, for parties to review and pin.",
        discussion: """
        Run on a host you trust, booted as it will serve, after `parley serve --quote tpm` has \
        started and run a worker (so the IMA list holds what the host really executes). Reads the \
        measured-boot log and the IMA list, and the reviewed `parley` and `parley-enclave` \
        executables, and writes into --out:
          boot-reference.json   the PCR 0-7 values the boot log replays to (parley/boot-reference/1)
          runtime-policy.json   a Keylime runtime policy: every file the IMA list measured, and both \
        executables (the worker under its memfd name, as the kernel measures it)
        and prints the policy lines to add. Review runtime-policy.json before pinning it: anything \
        in it may run on the host (remove interpreters, shells, debuggers and tpm2-tools).

        Example:
          parley attest reference --out reference/ --worker .build/release/parley-enclave
        """
    )

    @Option(help: "Measured-boot event log (TCG crypto-agile).")
    var bootLog = "/sys/kernel/security/tpm0/binary_bios_measurements"
    @Option(help: "IMA measurement list (binary, or ASCII ascii_runtime_measurements).")
    var imaLog = "/sys/kernel/security/ima/binary_runtime_measurements"
    @Option(help: "The reviewed host executable (default: this parley).")
    var host: String?
    @Option(help: "The path the kernel measures the host executable under (default: --host's absolute path).")
    var hostPath: String?
    @Option(help: "The reviewed worker executable (default: the parley-enclave beside parley).")
    var worker: String?
    @Option(help: "A path pattern (regular expression, anchored at the start) not to appraise; repeatable.")
    var exclude: [String] = []
    @Option(help: "Directory to write boot-reference.json and runtime-policy.json into.")
    var out = "."

    func run() throws {
        do {
            let hostFile = host ?? CommandLine.executablePath
            let workerFile = worker ?? defaultWorkerPath()
            let hostMeasured = hostPath ?? URL(fileURLWithPath: hostFile).standardizedFileURL.path
            let built = try PlatformReferenceBuilder.build(
                bootLog: try FileIO.read(bootLog, maxBytes: UnverifiedBootLog.Limits.maxBytes),
                imaList: try FileIO.read(imaLog, maxBytes: UnverifiedIMAList.Limits.maxBytes),
                executables: [([hostMeasured], try FileIO.read(hostFile, maxBytes: 1 << 30)),
                              ([PlatformReferenceBuilder.workerIMAPath], try FileIO.read(workerFile, maxBytes: 1 << 30))],
                excludes: exclude)
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            try FileIO.write(built.boot.json, to: out + "/boot-reference.json")
            try FileIO.write(built.runtime.keylimeJSON(generatedAt: Date()), to: out + "/runtime-policy.json")
            for s in built.skipped { FileHandle.standardError.write(Data("parley: skipped \(s)\n".utf8)) }
            print("""
            wrote \(out)/boot-reference.json and \(out)/runtime-policy.json (\(built.runtime.digests.count) paths); review them, then add to your policy:
            boot_reference = "boot-reference.json"
            runtime_policy = "runtime-policy.json"
            required_measured = [\(built.required.map { "\"\($0)\"" }.joined(separator: ", "))]
            """)
        } catch let e as ParleyError {
            fail(e.reason, code: 2)
        }
    }
}

extension CommandLine {
    /// This process's executable.
    static var executablePath: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? arguments[0]
    }
}
