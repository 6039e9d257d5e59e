import Foundation
import ParleyCore

/// Reference values from a known-good host (in the spirit of `keylime_create_policy`): the boot
/// state its measured-boot log replays to, and an allow-list of every file its IMA list measured
/// plus the reviewed host and worker executables. A party reviews the result before pinning it.
public struct PlatformReferenceBuilder {
    /// The IMA path of the worker: the host executes it from a sealed memfd named `parley-enclave`,
    /// and the kernel measures it under that name.
    public static let workerIMAPath = "/memfd:parley-enclave (deleted)"

    /// What was built.
    public struct Output {
        public let boot: BootReference
        public let runtime: RuntimePolicy
        /// The digests of the reviewed executables (`required_measured`).
        public let required: [String]
        /// Entries skipped (violations, buffers), for the operator to review.
        public let skipped: [String]
    }

    /// - Parameters:
    ///   - bootLog: `binary_bios_measurements` of the known-good host.
    ///   - imaList: its IMA list (binary or ASCII form).
    ///   - executables: (path the kernel measures it under, bytes) of each reviewed executable.
    ///   - excludes: path patterns to leave out of appraisal (Keylime `excludes`).
    public static func build(bootLog: [UInt8], imaList: [UInt8], executables: [(paths: [String], bytes: [UInt8])],
                             excludes: [String] = []) throws -> Output {
        let boot = try UnverifiedBootLog(bytes: bootLog)
        guard let values = boot.replayedValues(bank: .sha256) else {
            throw ParleyError(.unsupported, "the boot log has no SHA-256 digests; Parley quotes the SHA-256 bank")
        }
        let reference = try BootReference(pcrs: Dictionary(uniqueKeysWithValues: bootPCRIndices.map {
            ($0, values[$0] ?? boot.initialValue(pcr: $0, bank: .sha256))
        }))
        let ima = try parseIMA(imaList)
        var digests: [String: Set<String>] = [:], skipped: [String] = []
        var algorithms: [String: Int] = [:]
        for e in ima.entries {
            if e.sequence == 0, BootAggregateAppraiser.isBootAggregate(e) {
                skipped.append("entry 0: boot_aggregate (recomputed from the quoted PCRs 0-9 at every verification, not allow-listed)")
                continue
            }
            switch e.content {
            case .file(let path, let alg, let digest, _) where !e.isViolation:
                digests[path, default: []].insert(Hex.encode(digest))
                algorithms[alg, default: 0] += 1
            case .file(let path, _, _, _): skipped.append("entry \(e.sequence): \(path) is a violation entry")
            case .buffer(let name, _, _): skipped.append("entry \(e.sequence): buffer \(name)")
            case .undecoded: skipped.append("entry \(e.sequence): template \(e.templateName)")
            }
        }
        let alg = PCRBank(rawValue: algorithms.max { $0.value < $1.value }?.key ?? "sha256") ?? .sha256
        var required: [String] = []
        for exe in executables {
            let hex = Hex.encode(alg.hash(exe.bytes))
            required.append(hex)
            for p in exe.paths { digests[p, default: []].insert(hex) }
        }
        return Output(boot: reference, runtime: try RuntimePolicy(digests: digests, excludes: excludes), required: required, skipped: skipped)
    }

    /// Binary IMA list, or the ASCII form when the bytes are text starting with a PCR number.
    public static func parseIMA(_ bytes: [UInt8]) throws -> UnverifiedIMAList {
        if let first = bytes.first, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first), let text = String(validating: bytes, as: UTF8.self) {
            return try UnverifiedIMAList(ascii: text)
        }
        return try UnverifiedIMAList(binary: bytes)
    }
}
