import Crypto
import Foundation
import ParleyAttestation
import ParleyCore

/// How a launch entry carries its TPM evidence's platform logs without repeating them.
///
/// A host's IMA list only grows within a boot, and its boot log does not change, so a launch
/// entry stores the evidence without `boot_log` and `ima_log` and, beside it, what changed since
/// the previous launch entry that carried platform logs: the boot log only when it differs (else
/// its SHA-256), and the IMA list as the number of bytes of the previous list it starts with (and
/// their SHA-256) plus the bytes after them. An auditor replaying the log in order rebuilds each
/// evidence byte for byte (``PlatformLogState``) and re-verifies it as before. Every launch after
/// the first of a boot then costs its new IMA entries, not the whole list.
///
/// CBOR (the launch entry's `platform` field): `{"boot_log": bstr}` or `{"boot_log_sha256":
/// bstr(32)}`, plus `"ima_kept": uint`, `"ima_kept_sha256": bstr(32)` (when `ima_kept` > 0) and
/// `"ima_added": bstr`.
public struct PlatformLogDelta: Sendable, Equatable {
    /// The boot log, when it is not the previous one.
    public let bootLog: [UInt8]?
    /// SHA-256 of the boot log, when `bootLog` is left out.
    public let bootLogSHA256: [UInt8]?
    /// How many bytes of the previous IMA list this one starts with.
    public let imaKept: Int
    /// SHA-256 of those bytes (nil when `imaKept` is 0).
    public let imaKeptSHA256: [UInt8]?
    /// The IMA list's bytes after them.
    public let imaAdded: [UInt8]

    public init(bootLog: [UInt8]?, bootLogSHA256: [UInt8]?, imaKept: Int, imaKeptSHA256: [UInt8]?, imaAdded: [UInt8]) {
        self.bootLog = bootLog
        self.bootLogSHA256 = bootLogSHA256
        self.imaKept = imaKept
        self.imaKeptSHA256 = imaKeptSHA256
        self.imaAdded = imaAdded
    }

    public var cbor: CBOR {
        var m: [String: CBOR] = ["ima_kept": .unsigned(UInt64(imaKept)), "ima_added": .bytes(imaAdded)]
        if let bootLog { m["boot_log"] = .bytes(bootLog) }
        if let bootLogSHA256 { m["boot_log_sha256"] = .bytes(bootLogSHA256) }
        if let imaKeptSHA256 { m["ima_kept_sha256"] = .bytes(imaKeptSHA256) }
        return .textMap(m)
    }

    /// Reads the CBOR form. - Throws: `ParleyError` `.malformed` for a missing, mistyped,
    /// unknown or contradictory field.
    public init(cbor: CBOR, context: String) throws {
        let m = try cbor.textKeyedMap("\(context) platform")
        try m.rejectUnknownKeys(["boot_log", "boot_log_sha256", "ima_kept", "ima_kept_sha256", "ima_added"], in: "\(context) platform")
        bootLog = try m["boot_log"]?.bytesValue("\(context) platform boot_log")
        bootLogSHA256 = try m["boot_log_sha256"]?.bytesValue("\(context) platform boot_log_sha256")
        let kept = try m.required("ima_kept", in: "\(context) platform").unsignedValue("\(context) platform ima_kept")
        guard kept <= UInt64(UnverifiedIMAList.Limits.maxBytes) else {
            throw ParleyError(.malformed, "\(context) platform ima_kept is larger than an IMA list can be")
        }
        imaKept = Int(kept)
        imaKeptSHA256 = try m["ima_kept_sha256"]?.bytesValue("\(context) platform ima_kept_sha256")
        imaAdded = try m.required("ima_added", in: "\(context) platform").bytesValue("\(context) platform ima_added")
        guard (bootLog == nil) != (bootLogSHA256 == nil), bootLogSHA256.map({ $0.count == 32 }) ?? true,
              (imaKept == 0) == (imaKeptSHA256 == nil), imaKeptSHA256.map({ $0.count == 32 }) ?? true else {
            throw ParleyError(.malformed, "\(context) platform must hold either boot_log or a 32-byte boot_log_sha256, and ima_kept_sha256 exactly when ima_kept > 0")
        }
    }
}

/// The platform logs the launch entries of a log have carried so far, as the writer (the host)
/// and the reader (the audit replay) both track them, in log order.
public struct PlatformLogState: Sendable, Equatable {
    /// The boot log of the latest launch entry with platform logs.
    public private(set) var bootLog: [UInt8]?
    /// Its IMA list.
    public private(set) var imaLog: [UInt8] = []

    public init() {}

    /// Why a stored launch's platform logs cannot be rebuilt.
    public struct Unavailable: Error, Sendable, Equatable, CustomStringConvertible {
        public let reason: String
        public var description: String { reason }
    }

    static let evidenceLimits = CBORDecoder.Limits(maxBytes: 40 << 20, maxDepth: 4, maxItems: 10_000)

    /// The form a launch entry stores `evidence` in, and the state after it.
    /// - Returns: the evidence unchanged and no delta when it carries no platform logs (software
    ///   evidence, or TPM evidence without them), or if the rebuilt bytes would differ (then the
    ///   entry carries it whole, as before).
    public func compress(evidence: [UInt8]) -> (stored: [UInt8], delta: PlatformLogDelta?, next: PlatformLogState) {
        guard var m = try? CBORDecoder(limits: Self.evidenceLimits).decode(evidence).textKeyedMap("evidence"),
              case .bytes(let boot)? = m["boot_log"], case .bytes(let ima)? = m["ima_log"] else { return (evidence, nil, self) }
        m["boot_log"] = nil
        m["ima_log"] = nil
        let stored = CBOREncoder.encode(.textMap(m))
        let sameBoot = bootLog == boot
        let kept = sameBoot && ima.starts(with: imaLog) ? imaLog.count : 0
        let delta = PlatformLogDelta(bootLog: sameBoot ? nil : boot, bootLogSHA256: sameBoot ? Array(SHA256.hash(data: boot)) : nil,
                                     imaKept: kept, imaKeptSHA256: kept > 0 ? Array(SHA256.hash(data: imaLog)) : nil,
                                     imaAdded: Array(ima[kept...]))
        var next = self
        guard (try? next.expand(stored: stored, delta: delta)) == evidence else { return (evidence, nil, self) }
        return (stored, delta, next)
    }

    /// Rebuilds the evidence a launch entry stored with `delta`, and moves the state on to it.
    /// - Throws: ``Unavailable`` if the delta refers to logs the state does not hold (an earlier
    ///   launch entry is missing or differs) or the stored evidence is not a TPM evidence map.
    public mutating func expand(stored: [UInt8], delta: PlatformLogDelta) throws(Unavailable) -> [UInt8] {
        let boot: [UInt8]
        if let b = delta.bootLog {
            boot = b
        } else {
            guard let previous = bootLog, Array(SHA256.hash(data: previous)) == delta.bootLogSHA256 else {
                throw Unavailable(reason: "the launch entry names a boot log by its SHA-256 that no earlier launch entry carried")
            }
            boot = previous
        }
        var ima: [UInt8] = []
        if delta.imaKept > 0 {
            guard delta.imaKept <= imaLog.count, Array(SHA256.hash(data: imaLog[..<delta.imaKept])) == delta.imaKeptSHA256 else {
                throw Unavailable(reason: "the launch entry keeps \(delta.imaKept) bytes of an earlier IMA list that no earlier launch entry carried")
            }
            ima = Array(imaLog[..<delta.imaKept])
        }
        ima += delta.imaAdded
        guard var m = try? CBORDecoder(limits: Self.evidenceLimits).decode(stored).textKeyedMap("evidence"),
              m["boot_log"] == nil, m["ima_log"] == nil else {
            throw Unavailable(reason: "the launch entry's evidence is not TPM evidence stored without its platform logs")
        }
        m["boot_log"] = .bytes(boot)
        m["ima_log"] = .bytes(ima)
        bootLog = boot
        imaLog = ima
        return CBOREncoder.encode(.textMap(m))
    }
}
