import ParleyCore

/// The party's reference values for the platform: what a known-good boot and runtime look like.
public struct PlatformReference: Sendable {
    /// Expected PCR 0-7 values.
    public let boot: BootReference
    /// The allow-list every measured file is appraised against.
    public let runtime: RuntimePolicy
    /// File digests (hex) that must each appear in an appraised IMA entry: the reviewed host
    /// (`parley`) and worker (`parley-enclave`) executables.
    public let requiredMeasured: [String]

    public init(boot: BootReference, runtime: RuntimePolicy, requiredMeasured: [String]) throws {
        guard !requiredMeasured.isEmpty else {
            throw ParleyError(.malformed, "policy: required_measured must list the digests of the reviewed parley and parley-enclave executables")
        }
        self.boot = boot
        self.runtime = runtime
        self.requiredMeasured = requiredMeasured.map { $0.lowercased() }
    }
}

/// Why a replayed platform does not match the party's reference values (stage 3).
public enum PlatformAppraisalFailure: Sendable, Equatable, CustomStringConvertible {
    /// A boot PCR differs from the reference (the firmware, boot loader, kernel or Secure Boot
    /// state is not the reviewed one).
    case bootPCRNotReference(pcr: Int)
    /// A measured file whose path is not on the allow-list.
    case executableNotAllowed(entry: Int, path: String, digest: String)
    /// A measured file on the allow-list, but with a digest the list does not accept.
    case digestNotAllowed(entry: Int, path: String, digest: String)
    /// A violation entry (a file measured while open for writing): its content is unknown.
    case violation(entry: Int, path: String)
    /// An entry of a template that names no file (`ima-buf`, or one Parley does not decode).
    case templateNotAppraisable(entry: Int, template: String)
    /// A reviewed executable that is not in the quoted IMA list (it did not run, or not as reviewed).
    case requiredNotMeasured(digest: String)
    /// IMA's first entry, `boot_aggregate`, is missing or is not the hash of the quoted PCRs 0-9.
    case bootAggregate(BootAggregateFailure)

    public var code: String {
        switch self {
        case .bootPCRNotReference: return "bootPCRNotReference"
        case .executableNotAllowed: return "executableNotAllowed"
        case .digestNotAllowed: return "digestNotAllowed"
        case .violation: return "imaViolation"
        case .templateNotAppraisable: return "templateNotAppraisable"
        case .requiredNotMeasured: return "requiredNotMeasured"
        case .bootAggregate(let f): return "bootAggregate." + f.code
        }
    }

    public var description: String {
        switch self {
        case .bootPCRNotReference(let p): return "boot PCR \(p) is not the reference value: the platform did not boot the reviewed firmware, boot loader, kernel or Secure Boot state"
        case .executableNotAllowed(let i, let path, let d): return "IMA entry \(i): \(path) (digest \(d)) ran but is not on the runtime allow-list"
        case .digestNotAllowed(let i, let path, let d): return "IMA entry \(i): \(path) ran with digest \(d), which the runtime allow-list does not accept for that path"
        case .violation(let i, let path): return "IMA entry \(i): \(path) is a measurement violation (measured while open for writing); its content is unknown"
        case .templateNotAppraisable(let i, let t): return "IMA entry \(i) has template \(t), which names no file to appraise; exclude it or boot with ima_template=ima-ng"
        case .requiredNotMeasured(let d): return "the reviewed executable with digest \(d) is not in the quoted IMA list"
        case .bootAggregate(let f): return f.description
        }
    }
}

/// Stage 3 for the platform: replayed logs against the party's reference values.
public enum PlatformAppraiser {
    /// Caps the failures reported (a rogue host can have thousands of unknown files).
    public static let maxFailures = 32

    /// Every failure, in order: boot PCRs, then `boot_aggregate` (recomputed from `quoted`, the
    /// quote's PCR values: see ``BootAggregateAppraiser``), then the other IMA entries against
    /// the allow-list, then required executables.
    public static func appraise(boot: ReplayedBootLog, ima: ReplayedIMAList, quoted: [Int: [UInt8]],
                                reference: PlatformReference) -> [PlatformAppraisalFailure] {
        var failures: [PlatformAppraisalFailure] = []
        for pcr in bootPCRIndices where boot.pcrs[pcr] != reference.boot.pcrs[pcr] {
            failures.append(.bootPCRNotReference(pcr: pcr))
        }
        if let f = BootAggregateAppraiser.appraise(ima: ima, quoted: quoted) { failures.append(.bootAggregate(f)) }
        var seen = Set<String>()
        for e in ima.entries {
            guard failures.count < maxFailures else { break }
            // The first entry is the boot_aggregate stage's, never the allow-list's; a later entry
            // under that name is an ordinary file and is not found on any list under it.
            if e.sequence == 0, BootAggregateAppraiser.isBootAggregate(e) { continue }
            switch e.content {
            case .file(let path, _, let digest, _):
                let hex = Hex.encode(digest)
                if path == BootAggregateAppraiser.entryName {
                    failures.append(.executableNotAllowed(entry: e.sequence, path: path, digest: hex))
                    continue
                }
                if reference.runtime.isExcluded(path) { continue }
                if e.isViolation {
                    failures.append(.violation(entry: e.sequence, path: path))
                } else if let allowed = reference.runtime.digests[path] {
                    if allowed.contains(hex) { seen.insert(hex) } else { failures.append(.digestNotAllowed(entry: e.sequence, path: path, digest: hex)) }
                } else {
                    failures.append(.executableNotAllowed(entry: e.sequence, path: path, digest: hex))
                }
            case .buffer(let name, _, _):
                if !reference.runtime.isExcluded(name) { failures.append(.templateNotAppraisable(entry: e.sequence, template: e.templateName)) }
            case .undecoded:
                failures.append(.templateNotAppraisable(entry: e.sequence, template: e.templateName))
            }
        }
        for d in reference.requiredMeasured where !seen.contains(d) {
            failures.append(.requiredNotMeasured(digest: d))
        }
        return failures
    }
}
