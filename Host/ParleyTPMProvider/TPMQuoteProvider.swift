import Foundation
import ParleyAttestation
import ParleyCore
import ParleyTPM
import ParleyTPMVerify

/// Where the host reads the platform's logs (Linux securityfs by default).
public struct PlatformLogPaths: Sendable, Equatable {
    /// The firmware's measured-boot log (TCG crypto-agile).
    public var bootLog: String
    /// The kernel's IMA measurement list, binary form.
    public var imaLog: String

    public static let linuxDefault = PlatformLogPaths(bootLog: "/sys/kernel/security/tpm0/binary_bios_measurements",
                                                      imaLog: "/sys/kernel/security/ima/binary_runtime_measurements")

    public init(bootLog: String, imaLog: String) {
        self.bootLog = bootLog
        self.imaLog = imaLog
    }
}

/// The host's TPM quote provider: measures each launch into PCR 13 with a durable event log and
/// produces `parley/tpm-quote/2` evidence for a party's nonce, carrying the platform's logs.
///
/// Files, under the data directory:
/// - `tpm-ak.pem`: the attestation key's public key. Parties pin it (`tpm_ak` in their policy).
/// - `tpm-events/epoch-N.log`: the launch log of epoch N (one boot of the TPM). PCR 13 cannot be
///   reset, so on open the newest epoch's log must explain the PCR exactly: it replays to it (the
///   host restarted), or does once its final, never-extended event is cut (the host died between
///   append and extend), or the PCR is at its start value and the TPM's reset or restart count
///   moved on (a reboot: epoch N+1 starts). Anything else means something other than this host
///   extended PCR 13, and the host refuses to start rather than re-base silently.
public final class TPMQuoteProvider: @unchecked Sendable {
    // @unchecked: every use of the TPM client and the log goes through `lock`.
    private let lock = NSLock()
    private let client: any TPMChannel
    private var log: DurableEventLog
    private let platformLogs: PlatformLogPaths?
    private let now: @Sendable () -> Date
    /// The attestation key's public key (SubjectPublicKeyInfo PEM), as exported for parties.
    public let attestationKeyPEM: String
    /// The current log epoch.
    public private(set) var epoch: UInt64
    private var counters: (reset: UInt32, restart: UInt32)

    /// The PCRs every quote covers: with platform logs 0-9 (the boot log's 0-7, and 8-9, which
    /// IMA's `boot_aggregate` also hashes) and 10 (IMA); always the launch PCR.
    public var quotedPCRs: [Int] { platformLogs == nil ? [launchPCRIndex] : bootAggregatePCRIndices + [imaPCRIndex, launchPCRIndex] }

    public static func attestationKeyPath(in dataDirectory: String) -> String { dataDirectory + "/tpm-ak.pem" }

    /// - Parameters:
    ///   - tcti: e.g. `swtpm:path=/run/swtpm/sock` or `device:/dev/tpmrm0`.
    ///   - platformLogs: where to read the boot log and IMA list; nil sends none (parties then refuse
    ///     the evidence unless they accept `tpm-unappraised`).
    ///   - now: stamps a new epoch event (injected).
    /// - Throws: when the TPM cannot be reached, a platform log does not parse, or PCR 13 holds a
    ///   value the launch log does not explain.
    public convenience init(tcti: String, dataDirectory: String, platformLogs: PlatformLogPaths? = nil,
                            now: @escaping @Sendable () -> Date = { Date() }) throws {
        if let platformLogs { _ = try Self.readLogs(platformLogs) }
        let client: TPMClient
        do { client = try TPMClient(tcti: tcti) } catch {
            throw ParleyError(.io, "TPM at \(tcti): \(Self.reason(error))")
        }
        try self.init(channel: TPMClientChannel(client), name: tcti, dataDirectory: dataDirectory, platformLogs: platformLogs,
                      logsChecked: true, now: now)
    }

    /// The provider over any ``TPMChannel``; `name` says which TPM in errors.
    public convenience init(channel: any TPMChannel, name: String, dataDirectory: String, platformLogs: PlatformLogPaths? = nil,
                            now: @escaping @Sendable () -> Date = { Date() }) throws {
        try self.init(channel: channel, name: name, dataDirectory: dataDirectory, platformLogs: platformLogs, logsChecked: false, now: now)
    }

    private init(channel: any TPMChannel, name: String, dataDirectory: String, platformLogs: PlatformLogPaths?,
                 logsChecked: Bool, now: @escaping @Sendable () -> Date) throws {
        self.platformLogs = platformLogs
        self.now = now
        if let platformLogs, !logsChecked { _ = try Self.readLogs(platformLogs) }
        let client = channel, ak: AttestationKeyPublic, pcr: [UInt8], clock: TPMClockInfo
        do {
            ak = try client.attestationKey()
            (pcr, clock) = try Self.launchPCRAndClock(client)
        } catch {
            throw ParleyError(.io, "TPM at \(name): \(Self.reason(error))")
        }
        self.client = client
        attestationKeyPEM = ak.pem
        try FileIO.write(Array(ak.pem.utf8), to: Self.attestationKeyPath(in: dataDirectory), mode: 0o644)
        let dir = dataDirectory + "/tpm-events"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let epochs = try FileManager.default.contentsOfDirectory(atPath: dir).compactMap { name -> UInt64? in
            guard name.hasPrefix("epoch-"), name.hasSuffix(".log") else { return nil }
            return UInt64(name.dropFirst(6).dropLast(4))
        }
        let current = (clock.resetCount, clock.restartCount)
        if let latest = epochs.max() {
            let existing = try DurableEventLog(path: "\(dir)/epoch-\(latest).log")
            if !existing.events.isEmpty, LaunchLogEvent.replay(Array(existing.events.dropLast())) == pcr {
                try existing.dropLast() // appended, never extended
            }
            let counts = Self.lastCounters(existing.events)
            if !existing.events.isEmpty, LaunchLogEvent.replay(existing.events) == pcr, let counts {
                log = existing
                epoch = latest
                self.counters = counts
                if counts != current { try recordEpoch() } // a TPM Resume: same PCRs, new restart count
                return
            }
            guard pcr == [UInt8](repeating: 0, count: 32), counts.map({ $0 != current }) ?? true else {
                throw Self.unexplained(latest)
            }
        } else if pcr != [UInt8](repeating: 0, count: 32) {
            throw Self.unexplained(nil)
        }
        epoch = (epochs.max() ?? 0) + 1
        log = try DurableEventLog(path: "\(dir)/epoch-\(epoch).log")
        counters = current
        try recordEpoch()
    }

    private static func unexplained(_ epoch: UInt64?) -> ParleyError {
        ParleyError(.verificationFailed, "PCR \(launchPCRIndex) holds a value that the launch log\(epoch.map { " (tpm-events/epoch-\($0).log)" } ?? "") does not explain: something other than this host extended it since the TPM started, or the log was lost. PCR \(launchPCRIndex) cannot be reset and Parley will not re-base its log silently; reboot the machine to start a new epoch, and find out what extended the PCR")
    }

    private static func reason(_ error: any Error) -> String {
        (error as? TPMError)?.reason ?? (error as? ParleyError)?.reason ?? "\(error)"
    }

    /// PCR 13 and the TPM's clock counters, read in one quote (a fresh random nonce; discarded).
    private static func launchPCRAndClock(_ client: any TPMChannel) throws -> ([UInt8], TPMClockInfo) {
        let q = try client.quote(nonce: Nonce.random().bytes, pcrs: [launchPCRIndex])
        let clock = try TPMAttestation.parse(q.attest).clockInfo
        guard let pcr = q.pcrs[launchPCRIndex] else { throw ParleyError(.io, "the TPM did not return PCR \(launchPCRIndex)") }
        return (pcr, clock)
    }

    private static func lastCounters(_ events: [[UInt8]]) -> (UInt32, UInt32)? {
        for bytes in events.reversed() {
            if case .epoch(_, _, let reset, let restart)? = try? LaunchLogEvent(bytes: bytes) { return (reset, restart) }
        }
        return nil
    }

    private static func readLogs(_ paths: PlatformLogPaths) throws -> PlatformLogBytes {
        let boot = try FileIO.read(paths.bootLog, maxBytes: UnverifiedBootLog.Limits.maxBytes)
        let ima = try FileIO.read(paths.imaLog, maxBytes: UnverifiedIMAList.Limits.maxBytes)
        do { _ = try UnverifiedBootLog(bytes: boot) } catch let e as ParleyError {
            throw ParleyError(e.code, "boot log \(paths.bootLog): \(e.reason)")
        }
        do { _ = try UnverifiedIMAList(binary: ima) } catch let e as ParleyError {
            throw ParleyError(e.code, "IMA list \(paths.imaLog): \(e.reason)")
        }
        return PlatformLogBytes(bootLog: boot, imaLog: ima)
    }

    private func recordEpoch() throws {
        let started = UInt64(max(0, now().timeIntervalSince1970 * 1000))
        try measure(LaunchLogEvent.epoch(number: epoch, startedMillis: started, resetCount: counters.reset, restartCount: counters.restart).encoded)
    }

    /// Appends the event durably, then extends PCR 13 with its digest.
    private func measure(_ event: [UInt8]) throws {
        try log.append(event)
        do { try client.extendPCR(launchPCRIndex, with: LaunchLogEvent.digest(of: event)) } catch {
            throw ParleyError(.io, "extending PCR \(launchPCRIndex) failed: \(Self.reason(error))")
        }
    }

    /// Measures a worker launch.
    public func recordLaunch(_ claims: LaunchClaims) throws {
        lock.lock()
        defer { lock.unlock() }
        try measure(LaunchLogEvent.launch(claims).encoded)
    }

    /// Evidence for `job` with the party's `nonce`: a fresh quote, the epoch's launch log, and the
    /// platform logs read after the quote (so the IMA list covers at least what PCR 10 does).
    /// - Throws: if the job has no launch event in the current epoch.
    public func evidence(job: String, nonce: Nonce) throws -> [UInt8] {
        lock.lock()
        defer { lock.unlock() }
        let claims = log.events.compactMap { bytes -> LaunchClaims? in
            if case .launch(let c)? = try? LaunchLogEvent(bytes: bytes), c.job == job { return c }
            return nil
        }.last
        guard let claims else {
            throw ParleyError(.malformed, "job \(job) has no launch event in TPM log epoch \(epoch)")
        }
        let ak: AttestationKeyPublic, q: TPMQuote
        do {
            ak = try client.attestationKey()
            q = try client.quote(nonce: nonce.bytes, pcrs: quotedPCRs)
        } catch {
            throw ParleyError(.io, "TPM quote failed: \(Self.reason(error))")
        }
        let logs = try platformLogs.map(Self.readLogs)
        return TPMEvidence.make(attest: q.attest, signature: q.signature, akPublic: ak.tpm2bPublic, pcrs: q.pcrs,
                                eventLog: log.events, job: job, nonce: nonce,
                                publicKey: claims.publicKey, signingKey: claims.signingKey, platformLogs: logs)
    }

    /// The current epoch's events (for auditors' exports).
    public var eventLog: [[UInt8]] {
        lock.lock()
        defer { lock.unlock() }
        return log.events
    }
}
