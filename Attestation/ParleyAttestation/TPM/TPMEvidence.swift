import Foundation
import ParleyCore

/// TPM evidence `parley/tpm-quote/2`: a TPM2_Quote with the party's nonce as `extraData` over the
/// launch PCR (13) and, when the host sends its platform logs, PCRs 0-7 and 10; the attestation
/// key's public area; the PCR values; the launch event log; and the platform's measured-boot log
/// and IMA measurement list, raw, as the kernel exposes them. `attest`, `signature` and
/// `ak_public` are the TPM's own marshalled bytes, exactly what `tpm2_checkquote` verifies.
public enum TPMEvidence {
    public static let format = "parley/tpm-quote/2"
    /// Caps: 40 MiB in all, at most 4,096 launch events of at most 8 KiB; the platform logs have
    /// their own caps (``UnverifiedBootLog/Limits``, ``UnverifiedIMAList/Limits``).
    static let limits = CBORDecoder.Limits(maxBytes: 40 << 20, maxDepth: 4, maxItems: 8_256)
    static let maxEvents = 4_096
    static let fields: Set<String> = ["format", "attest", "signature", "ak_public", "pcr_bank", "pcrs", "event_log",
                                      "job", "nonce", "public_key", "signing_key", "boot_log", "ima_log"]

    /// Assembles evidence from a quote and the log it covers.
    /// - Parameters: `publicKey`/`signingKey` repeat the job's launch-event keys for clients;
    ///   verifiers refuse evidence where they differ from the event's.
    public static func make(attest: [UInt8], signature: [UInt8], akPublic: [UInt8], pcrs: [Int: [UInt8]],
                            eventLog: [[UInt8]], job: String, nonce: Nonce,
                            publicKey: [UInt8], signingKey: [UInt8], platformLogs: PlatformLogBytes? = nil) -> [UInt8] {
        var pcrMap: [CBOR: CBOR] = [:]
        for (i, v) in pcrs { pcrMap[.unsigned(UInt64(i))] = .bytes(v) }
        var m: [String: CBOR] = [
            "format": .text(format), "attest": .bytes(attest), "signature": .bytes(signature),
            "ak_public": .bytes(akPublic), "pcr_bank": .text("sha256"), "pcrs": .map(pcrMap),
            "event_log": .array(eventLog.map { .bytes($0) }), "job": .text(job), "nonce": .bytes(nonce.bytes),
            "public_key": .bytes(publicKey), "signing_key": .bytes(signingKey),
        ]
        if let platformLogs {
            m["boot_log"] = .bytes(platformLogs.bootLog)
            m["ima_log"] = .bytes(platformLogs.imaLog)
        }
        return CBOREncoder.encode(.textMap(m))
    }
}

/// The platform's two logs, raw: `binary_bios_measurements` and `binary_runtime_measurements`.
public struct PlatformLogBytes: Sendable, Equatable {
    public let bootLog: [UInt8]
    public let imaLog: [UInt8]

    public init(bootLog: [UInt8], imaLog: [UInt8]) {
        self.bootLog = bootLog
        self.imaLog = imaLog
    }
}

/// The platform logs as parsed from evidence. **Untrusted** until replayed against the quote.
public struct UnverifiedPlatformLogs: Sendable {
    public let boot: UnverifiedBootLog
    public let ima: UnverifiedIMAList
}

/// TPM evidence as parsed from untrusted bytes. Nothing here is trusted until
/// ``EvidenceVerifier`` has checked the quote and replayed the log.
public struct UnverifiedTPMEvidence: Sendable {
    public let attest: [UInt8]
    public let signature: [UInt8]
    public let akPublic: [UInt8]
    public let pcrs: [Int: [UInt8]]
    /// Raw event bytes, in log order (what the PCR digests cover).
    public let eventBytes: [[UInt8]]
    /// The same events, parsed.
    public let events: [LaunchLogEvent]
    public let job: String
    public let nonce: [UInt8]
    public let publicKey: [UInt8]
    public let signingKey: [UInt8]
    /// The platform's logs, or nil when the host sent none (the evidence can then not be
    /// appraised, and policies refuse it by default).
    public let platform: UnverifiedPlatformLogs?

    public init(bytes: [UInt8]) throws {
        let m = try CBORDecoder(limits: TPMEvidence.limits).decode(bytes).textKeyedMap("tpm-quote")
        try m.rejectUnknownKeys(TPMEvidence.fields, in: "tpm-quote")
        let format = try m.required("format", in: "tpm-quote").textValue("tpm-quote format")
        guard format == TPMEvidence.format else {
            throw ParleyError(.unsupported, "evidence format \"\(format)\" is not \(TPMEvidence.format)")
        }
        let bank = try m.required("pcr_bank", in: "tpm-quote").textValue("tpm-quote pcr_bank")
        guard bank == "sha256" else { throw ParleyError(.unsupported, "PCR bank \"\(bank)\" is not accepted (sha256 only)") }
        attest = try m.required("attest", in: "tpm-quote").bytesValue("tpm-quote attest")
        signature = try m.required("signature", in: "tpm-quote").bytesValue("tpm-quote signature")
        akPublic = try m.required("ak_public", in: "tpm-quote").bytesValue("tpm-quote ak_public")
        guard case .map(let pcrMap) = try m.required("pcrs", in: "tpm-quote"), pcrMap.count <= 24 else {
            throw ParleyError(.malformed, "tpm-quote pcrs must be a map of at most 24 PCRs")
        }
        var pcrs: [Int: [UInt8]] = [:]
        for (k, v) in pcrMap {
            guard case .unsigned(let i) = k, i < 24 else { throw ParleyError(.malformed, "tpm-quote pcrs has a key that is not a PCR index 0-23") }
            pcrs[Int(i)] = try v.bytesValue("tpm-quote pcr \(i)")
        }
        self.pcrs = pcrs
        let log = try m.required("event_log", in: "tpm-quote").arrayValue("tpm-quote event_log")
        guard log.count <= TPMEvidence.maxEvents else { throw ParleyError(.limitExceeded, "tpm-quote event_log has more than \(TPMEvidence.maxEvents) events") }
        eventBytes = try log.map { try $0.bytesValue("tpm-quote event") }
        events = try eventBytes.enumerated().map { i, b in
            do { return try LaunchLogEvent(bytes: b) } catch let e as ParleyError {
                throw ParleyError(e.code, "event \(i): \(e.reason)")
            }
        }
        job = try m.required("job", in: "tpm-quote").textValue("tpm-quote job")
        nonce = try m.required("nonce", in: "tpm-quote").bytesValue("tpm-quote nonce")
        publicKey = try m.required("public_key", in: "tpm-quote").bytesValue("tpm-quote public_key")
        signingKey = try m.required("signing_key", in: "tpm-quote").bytesValue("tpm-quote signing_key")
        switch (m["boot_log"], m["ima_log"]) {
        case (nil, nil): platform = nil
        case (let b?, let i?):
            platform = UnverifiedPlatformLogs(boot: try UnverifiedBootLog(bytes: try b.bytesValue("tpm-quote boot_log")),
                                              ima: try UnverifiedIMAList(binary: try i.bytesValue("tpm-quote ima_log")))
        default:
            throw ParleyError(.malformed, "tpm-quote carries one platform log without the other (boot_log and ima_log go together)")
        }
    }
}
