import Crypto
import Foundation
import ParleyCore

/// The PCR Parley extends launch events into: PCR 13. PCRs 0-15 cannot be reset at any locality
/// (only a TPM Reset or Restart, a reboot, zeroes them), so nobody on the host can clear the launch
/// log and write a new history; 16 and 23 are resettable from locality 0 and 17-22 are the
/// dynamic-launch PCRs locality 0 cannot extend. 0-7 are the firmware's, 8-9 the boot loader's,
/// 10 IMA's, 11-12 and 14-15 systemd-stub's, shim's and systemd's; 13 is used only by systemd-stub
/// for system extension images of a unified kernel image. See docs/formats.md.
public let launchPCRIndex = 13

/// One entry of the TPM event log. Its PCR digest is SHA-256 of the event's deterministic CBOR.
public enum LaunchLogEvent: Sendable, Equatable {
    /// `parley/epoch-event/2`: the first event of a boot's launch log, and again after a TPM
    /// Resume. `epoch` numbers the host's log files; `resetCount`/`restartCount` are the TPM's
    /// counters (TPMS_CLOCK_INFO) when it was written, which a quote must repeat.
    case epoch(number: UInt64, startedMillis: UInt64, resetCount: UInt32, restartCount: UInt32)
    /// `parley/launch-event/1`: one worker launch, with the same claims a software document holds.
    case launch(LaunchClaims)

    public static let epochFormat = "parley/epoch-event/2"
    public static let launchFormat = "parley/launch-event/1"
    /// Caps per event: 8 KiB, depth 4, 64 items.
    static let limits = CBORDecoder.Limits(maxBytes: 8 << 10, maxDepth: 4, maxItems: 160) // 64 for the fields, the rest for a ledger claim's open jobs

    /// The event's deterministic CBOR: the bytes the log stores and the PCR digest covers.
    public var encoded: [UInt8] {
        switch self {
        case .epoch(let n, let started, let reset, let restart):
            return CBOREncoder.encode(.textMap(["format": .text(Self.epochFormat), "epoch": .unsigned(n), "started": .unsigned(started),
                                                "reset_count": .unsigned(UInt64(reset)), "restart_count": .unsigned(UInt64(restart))]))
        case .launch(let claims):
            var m = claims.fields()
            m["format"] = .text(Self.launchFormat)
            return CBOREncoder.encode(.textMap(m))
        }
    }

    /// Parses one stored event. UNTRUSTED until the log replays to a quoted PCR value.
    /// - Throws: for an unknown event type, unknown fields or a malformed event.
    public init(bytes: [UInt8]) throws {
        let m = try CBORDecoder(limits: Self.limits).decode(bytes).textKeyedMap("event")
        let format = try m.required("format", in: "event").textValue("event format")
        switch format {
        case Self.epochFormat:
            try m.rejectUnknownKeys(["format", "epoch", "started", "reset_count", "restart_count"], in: "epoch event")
            func counter(_ k: String) throws -> UInt32 {
                let v = try m.required(k, in: "epoch event").unsignedValue(k)
                guard let c = UInt32(exactly: v) else { throw ParleyError(.malformed, "epoch event \(k) is over 32 bits") }
                return c
            }
            self = .epoch(number: try m.required("epoch", in: "epoch event").unsignedValue("epoch"),
                          startedMillis: try m.required("started", in: "epoch event").unsignedValue("started"),
                          resetCount: try counter("reset_count"), restartCount: try counter("restart_count"))
        case Self.launchFormat:
            try m.rejectUnknownKeys(Set(["format", "job", "measurements", "debug", "public_key", "signing_key"]).union(LaunchClaims.optionalFields), in: "launch event")
            self = .launch(try LaunchClaims.parse(m, context: "launch event"))
        default:
            throw ParleyError(.unsupported, "event log holds an unknown event type \"\(format)\"")
        }
    }

    /// The digest extended into the PCR for these event bytes.
    public static func digest(of bytes: [UInt8]) -> [UInt8] { Array(SHA256.hash(data: bytes)) }

    /// Replays event bytes from the PCR's value at TPM start (32 zero bytes): `pcr = SHA-256(pcr || digest)`.
    public static func replay(_ events: [[UInt8]]) -> [UInt8] {
        var pcr = [UInt8](repeating: 0, count: 32)
        for e in events { pcr = Array(SHA256.hash(data: pcr + digest(of: e))) }
        return pcr
    }
}
