import Foundation
import ParleyAttestation
import ParleyCore
import ParleyLog

/// A self-contained folder an auditor replays offline (layout in docs/log.md):
///
///     MANIFEST            sha256sum-style list of every other file
///     entries.log         the log's entry file, byte for byte
///     checkpoints/        every signed checkpoint note, 00000000.note, 00000001.note, ...
///     log-key.pub         the log's verifier key (pin your own copy: see AuditPolicy)
///     quoting-root.pem    the software quoting root, if the host has one
///     tpm-ak.pem          the TPM attestation key, if the host has one
///     tpm-events/         the host's TPM event log epochs, if any
///
/// Everything read from a bundle is untrusted: the replay trusts entries because they hash to
/// checkpoints signed by the log key, and launches because their evidence verifies against the
/// trust anchors, which should be pinned in the ``AuditPolicy`` rather than taken from here.
public struct AuditBundle: Sendable {
    static let entriesName = "entries.log"
    static let checkpointsName = "checkpoints"
    static let logKeyName = "log-key.pub"
    static let quotingRootName = "quoting-root.pem"
    static let tpmAKName = "tpm-ak.pem"
    static let tpmEventsName = "tpm-events"
    static let maxFileBytes = 1 << 40

    /// The bundle's folder.
    public let directory: String
    /// The entry file's bytes (the `DurableLog` record format).
    public let entryFile: [UInt8]
    /// Every checkpoint note, in file-name order.
    public let checkpointNotes: [[UInt8]]
    /// The log key the bundle carries, if present and well-formed. Untrusted unless it equals
    /// the key you pinned.
    public let logKey: NoteVerifierKey?
    /// The quoting root the bundle carries, if any. Untrusted unless pinned.
    public let quotingRoot: Certificate?
    /// The TPM attestation key (SubjectPublicKeyInfo DER) the bundle carries, if any. Untrusted unless pinned.
    public let tpmAttestationKey: [UInt8]?
    /// Names of the files in `tpm-events/`.
    public let tpmEventFiles: [String]
    /// Where the files differ from the MANIFEST (changed, missing or unlisted files, an unreadable
    /// optional file). The replay reports each as a warning.
    public let manifestProblems: [String]

    /// Opens a bundle folder: reads the MANIFEST and every file, and notes where they disagree.
    /// - Throws: `AuditError` `.malformedBundle` if the MANIFEST or `entries.log` is missing or
    ///   the MANIFEST does not parse; `.storage` if a file cannot be read.
    public static func open(_ directory: String) throws -> AuditBundle {
        let manifest = try BundleManifest.parse(try readText(directory + "/" + BundleManifest.fileName, what: "the MANIFEST"))
        var problems: [String] = []
        var seen: Set<String> = []
        func load(_ relative: String) throws(AuditError) -> [UInt8]? {
            let path = directory + "/" + relative
            guard FileManager.default.fileExists(atPath: path) else { return nil }
            seen.insert(relative)
            let bytes = try read(path)
            switch manifest.digests[relative] {
            case nil: problems.append("\(relative) is not listed in the MANIFEST")
            case let listed? where listed != BundleManifest.digest(bytes): problems.append("\(relative) differs from its MANIFEST digest")
            default: break
            }
            return bytes
        }
        guard let entryFile = try load(entriesName) else {
            throw AuditError(.malformedBundle, "\(directory) has no \(entriesName): it is not an audit bundle")
        }
        var notes: [[UInt8]] = []
        for name in try listing(directory + "/" + checkpointsName) where name.hasSuffix(".note") {
            if let note = try load(checkpointsName + "/" + name) { notes.append(note) }
        }
        var logKey: NoteVerifierKey?
        if let bytes = try load(logKeyName) {
            if let text = String(validating: bytes, as: UTF8.self),
               let key = try? NoteVerifierKey(parsing: text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                logKey = key
            } else {
                problems.append("\(logKeyName) is not a log verifier key")
            }
        }
        var quotingRoot: Certificate?
        if let bytes = try load(quotingRootName) {
            quotingRoot = try? Certificate(pem: String(decoding: bytes, as: UTF8.self))
            if quotingRoot == nil { problems.append("\(quotingRootName) is not a PEM certificate") }
        }
        var tpmAK: [UInt8]?
        if let bytes = try load(tpmAKName) {
            tpmAK = (try? ECVerifyingKey(pem: String(decoding: bytes, as: UTF8.self)))?.derRepresentation
            if tpmAK == nil { problems.append("\(tpmAKName) is not a PEM public key") }
        }
        let events = try listing(directory + "/" + tpmEventsName)
        for name in events { _ = try load(tpmEventsName + "/" + name) }
        for listed in manifest.digests.keys.sorted() where !seen.contains(listed) {
            problems.append("\(listed) is listed in the MANIFEST but missing")
        }
        return AuditBundle(directory: directory, entryFile: entryFile, checkpointNotes: notes, logKey: logKey,
                           quotingRoot: quotingRoot, tpmAttestationKey: tpmAK, tpmEventFiles: events, manifestProblems: problems)
    }

    // MARK: - File helpers

    static func read(_ path: String) throws(AuditError) -> [UInt8] {
        do { return try FileIO.read(path, maxBytes: maxFileBytes) } catch {
            throw AuditError(.storage, "cannot read \(path): \(error)")
        }
    }

    static func readText(_ path: String, what: String) throws(AuditError) -> String {
        guard FileManager.default.fileExists(atPath: path) else {
            throw AuditError(.malformedBundle, "\(what) (\(path)) is missing")
        }
        do { return try FileIO.readText(path, maxBytes: 16 << 20) } catch {
            throw AuditError(.storage, "cannot read \(path): \(error)")
        }
    }

    /// Regular files directly in `path`, sorted; empty if the folder does not exist.
    static func listing(_ path: String) throws(AuditError) -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else { return [] }
        do {
            return try FileManager.default.contentsOfDirectory(atPath: path).filter { name in
                var dir: ObjCBool = false
                return !name.hasPrefix(".") && FileManager.default.fileExists(atPath: path + "/" + name, isDirectory: &dir) && !dir.boolValue
            }.sorted()
        } catch {
            throw AuditError(.storage, "cannot list \(path): \(error.localizedDescription)")
        }
    }
}
