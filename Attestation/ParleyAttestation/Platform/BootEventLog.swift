import ParleyCore

/// One event of the firmware's measured-boot log (TCG PC Client Platform Firmware Profile,
/// TCG_PCR_EVENT2).
///
/// **Untrusted.** Everything here is what the host sent. Only the digests are ever trusted, and only
/// after ``BootLogReplay`` has shown that they replay to quoted PCR values; the event data (which
/// names what was measured) is a hint the firmware wrote and nothing checks.
public struct BootEvent: Sendable, Equatable {
    /// Position in the log, counting the Spec ID header as 0 (as `tpm2_eventlog`'s `EventNum`).
    public let sequence: Int
    /// The PCR the event was extended into.
    public let pcr: Int
    /// The event type (`EV_*`); unknown types are kept, with their digests.
    public let type: UInt32
    /// Digest per bank, as the log states them.
    public let digests: [PCRBank: [UInt8]]
    /// The event data. Untrusted hint.
    public let data: [UInt8]

    public init(sequence: Int, pcr: Int, type: UInt32, digests: [PCRBank: [UInt8]], data: [UInt8]) {
        self.sequence = sequence
        self.pcr = pcr
        self.type = type
        self.digests = digests
        self.data = data
    }

    /// EV_NO_ACTION: informational, never extended into a PCR.
    public static let noAction: UInt32 = 0x0000_0003

    /// Whether this event was extended (every type but EV_NO_ACTION).
    public var isExtended: Bool { type != Self.noAction }

    /// The TCG name of the event type, or its number.
    public var typeName: String { BootEventType.name(type) }
}

/// The measured-boot log as parsed: the crypto-agile format (a SHA-1-format Spec ID Event03 header,
/// then TCG_PCR_EVENT2 records), or the SHA-1 legacy format, as Linux exposes it in
/// `/sys/kernel/security/tpm0/binary_bios_measurements`.
///
/// **Untrusted** until replayed. Parsing caps the size, the number of events and each event's data,
/// and refuses any record that does not match the algorithms its header declares.
public struct UnverifiedBootLog: Sendable, Equatable {
    /// Caps on untrusted input.
    public enum Limits {
        /// Largest log accepted (real logs are 10 to 300 KiB).
        public static let maxBytes = 2 << 20
        /// Most events accepted.
        public static let maxEvents = 8_192
        /// Largest event data (a Secure Boot `dbx` variable is tens of KiB).
        public static let maxEventBytes = 256 << 10
        /// Most algorithms a header may declare.
        public static let maxAlgorithms = 8
    }

    /// The banks the header declares, in header order.
    public let banks: [PCRBank]
    /// The header record's bytes, as read.
    public let header: [UInt8]
    /// Every event after the header, in log order (EV_NO_ACTION included, never extended).
    public let events: [BootEvent]
    /// The locality the TPM was started from, from a `StartupLocality` EV_NO_ACTION event
    /// (PCR 0 then starts at `0…0 || locality` instead of zero). Untrusted until replayed.
    public let startupLocality: UInt8?

    static let specIDSignature = Array("Spec ID Event03".utf8) + [0]
    static let startupLocalitySignature = Array("StartupLocality".utf8) + [0]

    /// Parses a crypto-agile log.
    /// A log without a Spec ID header is read as the SHA-1 legacy format (bank sha1 only, so a
    /// SHA-256 quote cannot be replayed against it).
    /// - Throws: ``ParleyError`` `.limitExceeded` (a cap), `.malformed` (truncated, wrong header,
    ///   a record whose digests differ from the header's algorithms), `.unsupported` (a header
    ///   algorithm Parley does not know).
    public init(bytes: [UInt8]) throws {
        guard bytes.count <= Limits.maxBytes else {
            throw ParleyError(.limitExceeded, "the boot event log is \(bytes.count) bytes, over the cap of \(Limits.maxBytes)")
        }
        var r = LittleEndianReader(bytes, structure: "boot event log")
        // The header is a TCG_PCClientPCREvent (SHA-1 format) carrying TCG_EfiSpecIDEvent.
        let headerPCR = try r.u32("header pcrIndex")
        let headerType = try r.u32("header eventType")
        _ = try r.take(20, "header digest", cap: 20)
        let headerSize = Int(try r.u32("header eventSize"))
        let header = try r.take(headerSize, "header event", cap: Limits.maxEventBytes)
        guard headerPCR == 0, headerType == BootEvent.noAction, header.count >= 24,
              Array(header.prefix(16)) == Self.specIDSignature else {
            // No Spec ID header: a legacy log, every record in the SHA-1 format.
            self = try Self.parseLegacy(bytes)
            return
        }
        var h = LittleEndianReader(Array(header.dropFirst(16)), structure: "Spec ID header")
        _ = try h.u32("platformClass")
        _ = try h.u8("specVersionMinor")
        _ = try h.u8("specVersionMajor")
        _ = try h.u8("specErrata")
        _ = try h.u8("uintnSize")
        let count = Int(try h.u32("numberOfAlgorithms"))
        guard (1...Limits.maxAlgorithms).contains(count) else {
            throw ParleyError(.limitExceeded, "the boot log header declares \(count) algorithms (1 to \(Limits.maxAlgorithms) accepted)")
        }
        var sizes: [UInt16: Int] = [:], banks: [PCRBank] = []
        for _ in 0..<count {
            let id = try h.u16("algorithmId"), size = Int(try h.u16("digestSize"))
            guard let bank = PCRBank(algorithmID: id) else {
                throw ParleyError(.unsupported, "the boot log header declares algorithm 0x\(String(id, radix: 16)), which Parley does not know")
            }
            guard bank.digestSize == size, sizes[id] == nil else {
                throw ParleyError(.malformed, "the boot log header declares \(bank) twice or with size \(size)")
            }
            sizes[id] = size
            banks.append(bank)
        }
        let vendor = Int(try h.u8("vendorInfoSize"))
        _ = try h.take(vendor, "vendorInfo", cap: 255)
        guard h.atEnd else { throw ParleyError(.malformed, "the Spec ID header has trailing bytes") }
        let headerEnd = r.offset

        var events: [BootEvent] = []
        var locality: UInt8?
        while !r.atEnd {
            guard events.count < Limits.maxEvents else {
                throw ParleyError(.limitExceeded, "the boot event log has more than \(Limits.maxEvents) events")
            }
            let sequence = events.count + 1
            let pcr = try r.u32("event \(sequence) pcrIndex")
            guard pcr < 24 else { throw ParleyError(.malformed, "boot log event \(sequence) names PCR \(pcr), not 0-23") }
            let type = try r.u32("event \(sequence) eventType")
            let n = Int(try r.u32("event \(sequence) digest count"))
            guard n == banks.count else {
                throw ParleyError(.malformed, "boot log event \(sequence) has \(n) digests; the header declares \(banks.count) algorithms")
            }
            var digests: [PCRBank: [UInt8]] = [:]
            for _ in 0..<n {
                let id = try r.u16("event \(sequence) hashAlg")
                guard let size = sizes[id], let bank = PCRBank(algorithmID: id), digests[bank] == nil else {
                    throw ParleyError(.malformed, "boot log event \(sequence) has a digest of an algorithm the header does not declare, or one twice")
                }
                digests[bank] = try r.take(size, "event \(sequence) digest", cap: 64)
            }
            let size = Int(try r.u32("event \(sequence) eventSize"))
            let data = try r.take(size, "event \(sequence) data", cap: Limits.maxEventBytes)
            let event = BootEvent(sequence: sequence, pcr: Int(pcr), type: type, digests: digests, data: data)
            try Self.noteLocality(event, before: events, into: &locality)
            events.append(event)
        }
        self = UnverifiedBootLog(header: Array(bytes[0..<headerEnd]), banks: banks, events: events, startupLocality: locality)
    }

    /// A SHA-1-only log (TCG PC Client 1.2 format: `pcrIndex`, `eventType`, `digest[20]`,
    /// `eventSize`, data), numbered from 0.
    private static func parseLegacy(_ bytes: [UInt8]) throws -> UnverifiedBootLog {
        var r = LittleEndianReader(bytes, structure: "boot event log (SHA-1 format)")
        var events: [BootEvent] = []
        var locality: UInt8?
        while !r.atEnd {
            guard events.count < Limits.maxEvents else {
                throw ParleyError(.limitExceeded, "the boot event log has more than \(Limits.maxEvents) events")
            }
            let sequence = events.count
            let pcr = try r.u32("event \(sequence) pcrIndex")
            guard pcr < 24 else { throw ParleyError(.malformed, "boot log event \(sequence) names PCR \(pcr), not 0-23") }
            let type = try r.u32("event \(sequence) eventType")
            let digest = try r.take(20, "event \(sequence) digest", cap: 20)
            let data = try r.take(Int(try r.u32("event \(sequence) eventSize")), "event \(sequence) data", cap: Limits.maxEventBytes)
            let event = BootEvent(sequence: sequence, pcr: Int(pcr), type: type, digests: [.sha1: digest], data: data)
            try Self.noteLocality(event, before: events, into: &locality)
            events.append(event)
        }
        return UnverifiedBootLog(header: [], banks: [.sha1], events: events, startupLocality: locality)
    }

    /// Records a StartupLocality EV_NO_ACTION event (on PCR 0, before any extend of PCR 0).
    static func noteLocality(_ e: BootEvent, before earlier: [BootEvent], into locality: inout UInt8?) throws {
        guard e.pcr == 0, e.type == BootEvent.noAction, e.data.count == 17, Array(e.data.prefix(16)) == startupLocalitySignature else { return }
        guard locality == nil else { throw ParleyError(.malformed, "the boot log has two StartupLocality events") }
        guard earlier.allSatisfy({ $0.pcr != 0 || !$0.isExtended }) else {
            throw ParleyError(.malformed, "the boot log's StartupLocality event comes after an extend of PCR 0")
        }
        locality = e.data[16]
    }

    /// A log with this header and `events` (in the header's banks); an empty header is the
    /// SHA-1 legacy format.
    public init(header: [UInt8], banks: [PCRBank], events: [BootEvent], startupLocality: UInt8? = nil) {
        self.header = header
        self.banks = banks
        self.events = events
        self.startupLocality = startupLocality
    }

    /// The log's bytes: the header, then each event as TCG_PCR_EVENT2 (digests in header order).
    public var encoded: [UInt8] {
        if header.isEmpty {
            var out: [UInt8] = []
            for e in events {
                let digest: [UInt8] = e.digests[.sha1] ?? [UInt8](repeating: 0, count: 20)
                out += le32(UInt32(e.pcr))
                out += le32(e.type)
                out += digest
                out += le32(UInt32(e.data.count))
                out += e.data
            }
            return out
        }
        var out = header
        for e in events {
            out += le32(UInt32(e.pcr)) + le32(e.type) + le32(UInt32(banks.count))
            for b in banks {
                out += [UInt8(b.algorithmID & 0xff), UInt8(b.algorithmID >> 8)] + (e.digests[b] ?? [UInt8](repeating: 0, count: b.digestSize))
            }
            out += le32(UInt32(e.data.count)) + e.data
        }
        return out
    }

    /// A Spec ID Event03 header declaring `banks`.
    public static func header(banks: [PCRBank]) -> [UInt8] {
        var spec = specIDSignature + le32(0) + [0, 2, 0, 2] + le32(UInt32(banks.count))
        for b in banks { spec += [UInt8(b.algorithmID & 0xff), UInt8(b.algorithmID >> 8), UInt8(b.digestSize), 0] }
        spec += [0]
        return le32(0) + le32(BootEvent.noAction) + [UInt8](repeating: 0, count: 20) + le32(UInt32(spec.count)) + spec
    }

    /// The value each PCR would hold after this log, in `bank`, for every PCR the log extends
    /// (and PCR 0). EV_NO_ACTION is not extended; PCR 0 starts at the startup locality.
    /// - Returns: nil when the log has no digests in `bank`.
    public func replayedValues(bank: PCRBank) -> [Int: [UInt8]]? {
        guard banks.contains(bank) else { return nil }
        var pcrs: [Int: [UInt8]] = [0: initialValue(pcr: 0, bank: bank)]
        for e in events where e.isExtended {
            guard let d = e.digests[bank] else { return nil }
            pcrs[e.pcr] = bank.extend(pcrs[e.pcr] ?? initialValue(pcr: e.pcr, bank: bank), with: d)
        }
        return pcrs
    }

    /// A PCR's value at TPM start: zero, except PCR 0 after a startup from locality 3 or 4.
    public func initialValue(pcr: Int, bank: PCRBank) -> [UInt8] {
        var v = [UInt8](repeating: 0, count: bank.digestSize)
        if pcr == 0, let l = startupLocality { v[v.count - 1] = l }
        return v
    }
}

/// Names of the TCG PC Client event types, for messages.
public enum BootEventType {
    static let names: [UInt32: String] = [
        0x0: "EV_PREBOOT_CERT", 0x1: "EV_POST_CODE", 0x3: "EV_NO_ACTION", 0x4: "EV_SEPARATOR", 0x5: "EV_ACTION",
        0x6: "EV_EVENT_TAG", 0x7: "EV_S_CRTM_CONTENTS", 0x8: "EV_S_CRTM_VERSION", 0x9: "EV_CPU_MICROCODE",
        0xA: "EV_PLATFORM_CONFIG_FLAGS", 0xB: "EV_TABLE_OF_DEVICES", 0xC: "EV_COMPACT_HASH", 0xD: "EV_IPL",
        0xE: "EV_IPL_PARTITION_DATA", 0xF: "EV_NONHOST_CODE", 0x10: "EV_NONHOST_CONFIG", 0x11: "EV_NONHOST_INFO",
        0x12: "EV_OMIT_BOOT_DEVICE_EVENTS",
        0x8000_0001: "EV_EFI_VARIABLE_DRIVER_CONFIG", 0x8000_0002: "EV_EFI_VARIABLE_BOOT",
        0x8000_0003: "EV_EFI_BOOT_SERVICES_APPLICATION", 0x8000_0004: "EV_EFI_BOOT_SERVICES_DRIVER",
        0x8000_0005: "EV_EFI_RUNTIME_SERVICES_DRIVER", 0x8000_0006: "EV_EFI_GPT_EVENT", 0x8000_0007: "EV_EFI_ACTION",
        0x8000_0008: "EV_EFI_PLATFORM_FIRMWARE_BLOB", 0x8000_0009: "EV_EFI_HANDOFF_TABLES",
        0x8000_000A: "EV_EFI_PLATFORM_FIRMWARE_BLOB2", 0x8000_000B: "EV_EFI_HANDOFF_TABLES2",
        0x8000_000C: "EV_EFI_VARIABLE_BOOT2", 0x8000_00E0: "EV_EFI_VARIABLE_AUTHORITY",
    ]

    /// `EV_…` or `0x…` for an unknown type.
    public static func name(_ type: UInt32) -> String { names[type] ?? "0x" + String(type, radix: 16) }
}
