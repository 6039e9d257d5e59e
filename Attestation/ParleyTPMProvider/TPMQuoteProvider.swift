import Foundation
import ParleyAttestation
import ParleyCore
import ParleyTPM

/// The host's TPM quote provider: measures each launch into PCR 23 with a durable event log and
/// produces `parley/tpm-quote/1` evidence for a party's nonce.
///
/// Files, under the data directory:
/// - `tpm-ak.pem`: the attestation key's public key. Parties pin it (`tpm_ak` in their policy).
/// - `tpm-events/epoch-N.log`: the event log of epoch N. On open, the newest epoch's log is replayed
///   and compared with PCR 23. If they differ (the TPM was reset or rebooted, or the host died
///   between an append and its extend), PCR 23 is reset and epoch N+1 starts with an epoch event;
///   the old logs stay for auditors.
public final class TPMQuoteProvider: @unchecked Sendable {
    // @unchecked: every use of the TPM client and the log goes through `lock`.
    private let lock = NSLock()
    private let client: TPMClient
    private var log: DurableEventLog
    /// The attestation key's public key (SubjectPublicKeyInfo PEM), as exported for parties.
    public let attestationKeyPEM: String
    /// The current log epoch.
    public private(set) var epoch: UInt64

    public static func attestationKeyPath(in dataDirectory: String) -> String { dataDirectory + "/tpm-ak.pem" }

    /// - Parameters:
    ///   - tcti: e.g. `swtpm:path=/run/swtpm/sock` or `device:/dev/tpmrm0`.
    ///   - now: stamps a new epoch event (injected).
    public init(tcti: String, dataDirectory: String, now: Date) throws {
        let opened = try Self.open(tcti: tcti, dataDirectory: dataDirectory, now: now)
        client = opened.client
        attestationKeyPEM = opened.akPEM
        log = opened.log
        epoch = opened.epoch
    }

    private static func open(tcti: String, dataDirectory: String, now: Date) throws
        -> (client: TPMClient, akPEM: String, log: DurableEventLog, epoch: UInt64) {
        let client: TPMClient, ak: AttestationKeyPublic, pcr: [UInt8]?
        do {
            client = try TPMClient(tcti: tcti)
            ak = try client.attestationKey()
            pcr = try client.readPCRs([launchPCRIndex])[launchPCRIndex]
        } catch {
            throw ParleyError(.io, "TPM at \(tcti): \(error.reason)")
        }
        try FileIO.write(Array(ak.pem.utf8), to: attestationKeyPath(in: dataDirectory), mode: 0o644)
        let dir = dataDirectory + "/tpm-events"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let epochs = try FileManager.default.contentsOfDirectory(atPath: dir).compactMap { name -> UInt64? in
            guard name.hasPrefix("epoch-"), name.hasSuffix(".log") else { return nil }
            return UInt64(name.dropFirst(6).dropLast(4))
        }
        if let latest = epochs.max() {
            let existing = try DurableEventLog(path: "\(dir)/epoch-\(latest).log")
            if !existing.events.isEmpty, LaunchLogEvent.replay(existing.events) == pcr {
                return (client, ak.pem, existing, latest)
            }
        }
        let epoch = (epochs.max() ?? 0) + 1
        do { try client.resetPCR(launchPCRIndex) } catch {
            throw ParleyError(.io, "resetting PCR \(launchPCRIndex) failed: \(error.reason)")
        }
        let log = try DurableEventLog(path: "\(dir)/epoch-\(epoch).log")
        let started = UInt64(max(0, now.timeIntervalSince1970 * 1000))
        try measure(LaunchLogEvent.epoch(number: epoch, startedMillis: started).encoded, log: log, client: client)
        return (client, ak.pem, log, epoch)
    }

    /// Appends the event durably, then extends PCR 23 with its digest.
    private static func measure(_ event: [UInt8], log: DurableEventLog, client: TPMClient) throws {
        try log.append(event)
        do { try client.extendPCR(launchPCRIndex, with: LaunchLogEvent.digest(of: event)) } catch {
            throw ParleyError(.io, "extending PCR \(launchPCRIndex) failed: \(error.reason)")
        }
    }

    /// Measures a worker launch.
    public func recordLaunch(_ claims: LaunchClaims) throws {
        lock.lock()
        defer { lock.unlock() }
        try Self.measure(LaunchLogEvent.launch(claims).encoded, log: log, client: client)
    }

    /// Evidence for `job` with the party's `nonce`: a fresh quote over PCR 23 and the epoch's log.
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
            q = try client.quote(nonce: nonce.bytes, pcrs: [launchPCRIndex])
        } catch {
            throw ParleyError(.io, "TPM quote failed: \(error.reason)")
        }
        return TPMEvidence.make(attest: q.attest, signature: q.signature, akPublic: ak.tpm2bPublic, pcrs: q.pcrs,
                                eventLog: log.events, job: job, nonce: nonce,
                                publicKey: claims.publicKey, signingKey: claims.signingKey)
    }

    /// The current epoch's events (for auditors' exports).
    public var eventLog: [[UInt8]] {
        lock.lock()
        defer { lock.unlock() }
        return log.events
    }
}
