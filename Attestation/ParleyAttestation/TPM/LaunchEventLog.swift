import Crypto
import Foundation
import ParleyCore

/// The PCR Parley extends launch events into. PCR 23 is resettable at locality 0 and reserved
/// for application use, so a host can start a fresh log epoch without rebooting.
public let launchPCRIndex = 23

/// One entry of the TPM event log. Its PCR digest is SHA-256 of the event's deterministic CBOR.
public enum LaunchLogEvent: Sendable, Equatable {
    /// `parley/epoch-event/1`: the first event after PCR 23 was reset. `epoch` counts resets.
    case epoch(number: UInt64, startedMillis: UInt64)
    /// `parley/launch-event/1`: one worker launch, with the same claims a software document holds.
    case launch(LaunchClaims)

    public static let epochFormat = "parley/epoch-event/1"
    public static let launchFormat = "parley/launch-event/1"
    /// Caps per event: 8 KiB, depth 4, 64 items.
    static let limits = CBORDecoder.Limits(maxBytes: 8 << 10, maxDepth: 4, maxItems: 160) // 64 for the fields, the rest for a ledger claim's open jobs

    /// The event's deterministic CBOR: the bytes the log stores and the PCR digest covers.
    public var encoded: [UInt8] {
        switch self {
        case .epoch(let n, let started):
            return CBOREncoder.encode(.textMap(["format": .text(Self.epochFormat), "epoch": .unsigned(n), "started": .unsigned(started)]))
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
            try m.rejectUnknownKeys(["format", "epoch", "started"], in: "epoch event")
            self = .epoch(number: try m.required("epoch", in: "epoch event").unsignedValue("epoch"),
                          startedMillis: try m.required("started", in: "epoch event").unsignedValue("started"))
        case Self.launchFormat:
            try m.rejectUnknownKeys(Set(["format", "job", "measurements", "debug", "public_key", "signing_key"]).union(LaunchClaims.optionalFields), in: "launch event")
            self = .launch(try LaunchClaims.parse(m, context: "launch event"))
        default:
            throw ParleyError(.unsupported, "event log holds an unknown event type \"\(format)\"")
        }
    }

    /// The digest extended into the PCR for these event bytes.
    public static func digest(of bytes: [UInt8]) -> [UInt8] { Array(SHA256.hash(data: bytes)) }

    /// Replays event bytes from a reset PCR (32 zero bytes): `pcr = SHA-256(pcr || digest)`.
    public static func replay(_ events: [[UInt8]]) -> [UInt8] {
        var pcr = [UInt8](repeating: 0, count: 32)
        for e in events { pcr = Array(SHA256.hash(data: pcr + digest(of: e))) }
        return pcr
    }
}
