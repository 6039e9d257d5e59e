import Foundation
import ParleyCore

extension AuditBundle {
    /// Exports the log of a host that is not running, read-only, from its data directory.
    /// - Throws: `AuditError` `.storage` if the host is running (its writer holds the log's lock:
    ///   export through ``export(from:to:)`` instead), if the log or `log-key.pub` is missing,
    ///   or if the folder exists and is not empty; `.malformedBundle` if `checkpoints.log` is damaged.
    @discardableResult
    public static func export(dataDirectory: String, to directory: String) throws -> AuditBundle {
        let logDirectory = HostFiles.logDirectory(in: dataDirectory)
        guard let lockHandle = FileHandle(forReadingAtPath: logDirectory + "/LOCK") else {
            throw AuditError(.storage, "\(logDirectory) holds no log (no LOCK file)")
        }
        defer { try? lockHandle.close() }
        let lockFile = lockHandle.fileDescriptor
        guard flock(lockFile, LOCK_SH | LOCK_NB) == 0 else {
            throw AuditError(.storage, "the log in \(logDirectory) is open in a running host; export it through the host instead")
        }
        defer { flock(lockFile, LOCK_UN) }
        let entryFile = try read(logDirectory + "/entries.log")
        let notes = try CheckpointFile.notes(in: try read(logDirectory + "/checkpoints.log"))
        let keyText = try readText(dataDirectory + "/" + LogKeyFile.publicName, what: "the log's verifier key")
        try write(entryFile: entryFile, notes: notes, logKeyText: keyText, dataDirectory: dataDirectory, to: directory)
        return try open(directory)
    }

    package static func write(entryFile: [UInt8], notes: [[UInt8]], logKeyText: String, dataDirectory: String,
                              to directory: String) throws(AuditError) {
        let fm = FileManager.default
        if fm.fileExists(atPath: directory) {
            guard ((try? fm.contentsOfDirectory(atPath: directory)) ?? ["?"]).isEmpty else {
                throw AuditError(.storage, "\(directory) exists and is not empty; export into a new folder")
            }
        }
        var manifest = BundleManifest(digests: [:])
        func put(_ relative: String, _ bytes: [UInt8]) throws(AuditError) {
            let path = directory + "/" + relative
            do {
                try fm.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try FileIO.write(bytes, to: path, mode: 0o644)
            } catch {
                throw AuditError(.storage, "cannot write \(path): \(error)")
            }
            manifest.digests[relative] = BundleManifest.digest(bytes)
        }
        try put(entriesName, entryFile)
        for (index, note) in notes.enumerated() {
            try put(checkpointsName + "/" + noteName(index), note)
        }
        try put(logKeyName, Array(logKeyText.utf8))
        for name in [quotingRootName, tpmAKName] where fm.fileExists(atPath: dataDirectory + "/" + name) {
            try put(name, try read(dataDirectory + "/" + name))
        }
        for name in try listing(dataDirectory + "/" + tpmEventsName) {
            try put(tpmEventsName + "/" + name, try read(dataDirectory + "/" + tpmEventsName + "/" + name))
        }
        do { try FileIO.write(Array(manifest.text.utf8), to: directory + "/" + BundleManifest.fileName, mode: 0o644) } catch {
            throw AuditError(.storage, "cannot write the MANIFEST: \(error)")
        }
    }

    /// `00000000.note`: eight digits, so that name order is publication order.
    static func noteName(_ index: Int) -> String {
        let digits = String(index)
        return String(repeating: "0", count: max(0, 8 - digits.count)) + digits + ".note"
    }
}
