import Foundation
import ParleyAudit
import ParleyCore

extension AuditBundle {
    /// Exports a running host's log: a consistent snapshot (taken under the writer's lock) of the
    /// entries and checkpoints, plus the keys and TPM event log in its data directory.
    /// - Parameter directory: a new folder (or an empty one) to write the bundle into.
    /// - Throws: `AuditError` `.storage` if the folder exists and is not empty, or a file cannot
    ///   be read or written.
    @discardableResult
    public static func export(from log: HostLog, to directory: String) throws -> AuditBundle {
        let snapshot = try log.snapshot()
        try write(entryFile: snapshot.entryFile, notes: snapshot.checkpointNotes,
                  logKeyText: log.verifierKey.encoded + "\n", dataDirectory: log.dataDirectory, to: directory)
        return try open(directory)
    }
}
