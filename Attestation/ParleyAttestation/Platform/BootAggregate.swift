import ParleyCore

/// The PCRs the kernel hashes into a non-SHA-1 `boot_aggregate` (Linux 5.8 and later,
/// `ima_calc_boot_aggregate`): 0-7, then 8 and 9 (the boot loader's kernel command line and
/// image). A SHA-1 `boot_aggregate` covers 0-7 only. The quote covers all ten.
public let bootAggregatePCRIndices = Array(0...9)

/// Why IMA's first entry, `boot_aggregate`, does not match the quoted PCRs (its own appraisal
/// stage: the entry is recomputed, never looked up in the allow-list).
public enum BootAggregateFailure: Sendable, Equatable, CustomStringConvertible {
    /// The quoted IMA list does not start with a `boot_aggregate` file entry (it is empty, starts
    /// with another entry, or its first entry is a violation or not a file).
    case missing
    /// The `boot_aggregate` hashes PCRs of a bank the quote does not cover (a SHA-1 aggregate is
    /// over the SHA-1 bank; Parley quotes SHA-256). Boot with `ima_hash=sha256` (Linux 5.8+).
    case bankNotQuoted(algorithm: String)
    /// A PCR the aggregate covers is not in the quote.
    case pcrNotQuoted(Int)
    /// The recorded aggregate is not the hash of the quoted PCRs: the kernel that started IMA saw
    /// other PCR 0-9 values than the TPM holds now (they were extended after IMA started), or the
    /// list is from another boot.
    case mismatch(algorithm: String)

    /// A stable identifier for scripts.
    public var code: String {
        switch self {
        case .missing: return "missing"
        case .bankNotQuoted: return "bankNotQuoted"
        case .pcrNotQuoted: return "pcrNotQuoted"
        case .mismatch: return "mismatch"
        }
    }

    public var description: String {
        switch self {
        case .missing:
            return "the quoted IMA list does not start with a boot_aggregate entry, so it cannot be tied to the quoted boot"
        case .bankNotQuoted(let a):
            return "the IMA boot_aggregate is a \(a) digest over a PCR bank the quote does not cover; boot the host with ima_hash=sha256 (Linux 5.8 or later)"
        case .pcrNotQuoted(let i):
            return "the TPM quote does not cover PCR \(i), which the IMA boot_aggregate hashes"
        case .mismatch(let a):
            return "the IMA boot_aggregate (\(a)) is not the hash of the quoted PCRs 0-\(a == PCRBank.sha1.rawValue ? 7 : 9): they changed after IMA started, or the list is from another boot"
        }
    }
}

/// Recomputes IMA's `boot_aggregate` from quoted PCRs and compares it with the list's first entry.
public enum BootAggregateAppraiser {
    /// The name the kernel gives the entry.
    public static let entryName = "boot_aggregate"

    /// The aggregate the kernel computes in `bank`: the bank's hash of the PCR values
    /// concatenated in index order, over PCRs 0-7 for SHA-1 and 0-9 for any other bank.
    /// - Returns: nil if a PCR it needs is missing.
    public static func expected(bank: PCRBank, pcrs: [Int: [UInt8]]) -> [UInt8]? {
        let indices = bank == .sha1 ? Array(bootAggregatePCRIndices.prefix(8)) : bootAggregatePCRIndices
        var data: [UInt8] = []
        for i in indices {
            guard let v = pcrs[i] else { return nil }
            data += v
        }
        return bank.hash(data)
    }

    /// Whether `entry` is the kernel's `boot_aggregate` entry (a file entry named so, not a violation).
    public static func isBootAggregate(_ entry: IMAEntry) -> Bool {
        if case .file(let path, _, _, _) = entry.content, path == entryName, !entry.isViolation { return true }
        return false
    }

    /// - Parameters:
    ///   - ima: the replayed (quoted) IMA list.
    ///   - quoted: the quote's PCR values, of `bank`.
    /// - Returns: nil when the first entry is `boot_aggregate` and equals the recomputed value.
    public static func appraise(ima: ReplayedIMAList, quoted: [Int: [UInt8]], bank: PCRBank = .sha256) -> BootAggregateFailure? {
        appraise(entries: ima.entries, quoted: quoted, bank: bank)
    }

    /// The same check on IMA entries in list order (only replayed entries may be trusted).
    public static func appraise(entries: [IMAEntry], quoted: [Int: [UInt8]], bank: PCRBank = .sha256) -> BootAggregateFailure? {
        guard let first = entries.first, first.sequence == 0, isBootAggregate(first),
              case .file(_, let algorithm, let digest, _) = first.content else { return .missing }
        guard PCRBank(rawValue: algorithm) == bank else { return .bankNotQuoted(algorithm: algorithm) }
        let indices = bank == .sha1 ? Array(bootAggregatePCRIndices.prefix(8)) : bootAggregatePCRIndices
        if let absent = indices.first(where: { quoted[$0] == nil }) { return .pcrNotQuoted(absent) }
        return expected(bank: bank, pcrs: quoted) == digest ? nil : .mismatch(algorithm: algorithm)
    }
}
