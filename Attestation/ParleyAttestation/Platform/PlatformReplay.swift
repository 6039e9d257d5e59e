import ParleyCore

/// The PCRs the firmware's measured-boot log covers and Parley quotes and appraises.
public let bootPCRIndices = Array(0...7)
/// The PCR the kernel's IMA extends.
public let imaPCRIndex = 10

/// Why a platform log does not replay to the quoted PCRs (stage 2). Each names the PCR and the
/// events involved, like go-attestation's `ReplayError`.
public enum PlatformReplayFailure: Sendable, Equatable, CustomStringConvertible {
    /// The boot log has no digests in the quoted bank.
    case bootBankMissing(PCRBank)
    /// A boot PCR's quoted value is not what its events replay to; `events` are the sequence
    /// numbers of the events extended into it.
    case bootPCRMismatch(pcr: Int, events: [Int])
    /// A PCR the appraisal needs is not in the quote.
    case pcrNotQuoted(Int)
    /// An IMA entry's stated template digest is not SHA-1 of its template data.
    case imaTemplateDigestMismatch(entry: Int)
    /// An IMA entry was extended into a PCR other than 10 (not covered by the quote).
    case imaEntryOutsidePCR10(entry: Int, pcr: Int)
    /// No prefix of the IMA list (of `entries`) replays to the quoted PCR 10.
    case imaPCRMismatch(entries: Int)

    /// A stable identifier for scripts.
    public var code: String {
        switch self {
        case .bootBankMissing: return "bootBankMissing"
        case .bootPCRMismatch: return "bootPCRMismatch"
        case .pcrNotQuoted: return "pcrNotQuoted"
        case .imaTemplateDigestMismatch: return "imaTemplateDigestMismatch"
        case .imaEntryOutsidePCR10: return "imaEntryOutsidePCR10"
        case .imaPCRMismatch: return "imaPCRMismatch"
        }
    }

    public var description: String {
        switch self {
        case .bootBankMissing(let b): return "the boot event log has no \(b) digests, the bank the quote covers"
        case .bootPCRMismatch(let pcr, let events):
            return "the boot event log does not replay to the quoted PCR \(pcr) (events \(events.map(String.init).joined(separator: ", ")) extend it; one was changed, dropped, reordered or inserted)"
        case .pcrNotQuoted(let i): return "the TPM quote does not cover PCR \(i), which the platform appraisal needs"
        case .imaTemplateDigestMismatch(let i): return "IMA entry \(i)'s template digest is not the hash of its template data"
        case .imaEntryOutsidePCR10(let i, let pcr): return "IMA entry \(i) was extended into PCR \(pcr), which the quote does not cover"
        case .imaPCRMismatch(let n): return "no prefix of the IMA measurement list (\(n) entries) replays to the quoted PCR \(imaPCRIndex): an entry was changed, dropped, reordered or inserted"
        }
    }
}

/// Boot events whose digests replayed to quoted PCR values: the only form appraisal accepts.
public struct ReplayedBootLog: Sendable, Equatable {
    /// The quoted (and replayed) values of PCRs 0-7.
    public let pcrs: [Int: [UInt8]]
    /// The events extended into PCRs 0-7 (their digests are now trusted; their data is still a hint).
    public let events: [BootEvent]
}

/// IMA entries that replayed to the quoted PCR 10, in order.
public struct ReplayedIMAList: Sendable, Equatable {
    /// The prefix of the list the quote covers.
    public let entries: [IMAEntry]
    /// Entries after that prefix (measured after the quote was taken); not trusted, not appraised.
    public let unquotedCount: Int
}

/// Replays the measured-boot log against quoted PCRs.
public enum BootLogReplay {
    /// - Parameters:
    ///   - quoted: the quote's PCR values (already verified against the quote's digest).
    ///   - bank: the quoted bank.
    public static func replay(_ log: UnverifiedBootLog, quoted: [Int: [UInt8]], bank: PCRBank = .sha256)
        -> Result<ReplayedBootLog, PlatformReplayFailureList> {
        guard let values = log.replayedValues(bank: bank) else { return .failure(.init([.bootBankMissing(bank)])) }
        var failures: [PlatformReplayFailure] = []
        for pcr in bootPCRIndices {
            guard let q = quoted[pcr] else { failures.append(.pcrNotQuoted(pcr)); continue }
            if (values[pcr] ?? log.initialValue(pcr: pcr, bank: bank)) != q {
                failures.append(.bootPCRMismatch(pcr: pcr, events: log.events.filter { $0.pcr == pcr && $0.isExtended }.map(\.sequence)))
            }
        }
        guard failures.isEmpty else { return .failure(.init(failures)) }
        let pcrs = Dictionary(uniqueKeysWithValues: bootPCRIndices.compactMap { i in quoted[i].map { (i, $0) } })
        return .success(ReplayedBootLog(pcrs: pcrs, events: log.events.filter { bootPCRIndices.contains($0.pcr) }))
    }
}

/// Replays the IMA list against the quoted PCR 10.
public enum IMAReplay {
    /// Checks every template digest, then finds the prefix of the list that replays to PCR 10
    /// (the kernel appends to the list before it extends, and the host reads the list after
    /// quoting, so the list may run ahead of the quote; it may never fall behind it).
    public static func replay(_ list: UnverifiedIMAList, quoted: [Int: [UInt8]], bank: PCRBank = .sha256)
        -> Result<ReplayedIMAList, PlatformReplayFailureList> {
        guard let target = quoted[imaPCRIndex] else { return .failure(.init([.pcrNotQuoted(imaPCRIndex)])) }
        var failures: [PlatformReplayFailure] = []
        for e in list.entries {
            if e.pcr != imaPCRIndex { failures.append(.imaEntryOutsidePCR10(entry: e.sequence, pcr: e.pcr)) }
            if !e.isViolation, PCRBank.sha1.hash(e.templateData) != e.templateDigest {
                failures.append(.imaTemplateDigestMismatch(entry: e.sequence))
            }
            if failures.count >= 16 { break }
        }
        guard failures.isEmpty else { return .failure(.init(failures)) }
        var pcr = [UInt8](repeating: 0, count: bank.digestSize)
        var matched: Int? = pcr == target ? 0 : nil
        for (i, e) in list.entries.enumerated() {
            pcr = bank.extend(pcr, with: e.extendDigest(bank: bank))
            if pcr == target { matched = i + 1 }
        }
        guard let n = matched else { return .failure(.init([.imaPCRMismatch(entries: list.entries.count)])) }
        return .success(ReplayedIMAList(entries: Array(list.entries.prefix(n)), unquotedCount: list.entries.count - n))
    }
}

/// Replay failures, as an `Error` so they travel in a `Result`.
public struct PlatformReplayFailureList: Error, Sendable, Equatable {
    public let failures: [PlatformReplayFailure]
    init(_ failures: [PlatformReplayFailure]) { self.failures = failures }
}
