import Foundation
import ParleyAudit
import ParleyCore
import ParleyLog

/// The host's log signer key on disk (see ``LogKeyFile`` for the layout). Only the host's log
/// writer creates or reads the private half, so this lives with it, never on the party's side.
enum LogSignerKeyFile {
    /// Loads the key, or creates it if missing, and (re)writes the public half.
    /// - Throws: `AuditError` `.badKey` if the file is readable by group or others, does not
    ///   parse, or is for another origin; `.storage` if it cannot be read or written.
    static func loadOrCreate(dataDirectory: String, origin: String) throws(AuditError) -> NoteSignerKey {
        let path = dataDirectory + "/" + LogKeyFile.privateName
        let key: NoteSignerKey
        if FileManager.default.fileExists(atPath: path) {
            var info = stat()
            guard stat(path, &info) == 0 else { throw AuditError(.storage, "cannot stat \(path): \(String(cString: strerror(errno)))") }
            guard info.st_mode & 0o077 == 0 else {
                throw AuditError(.badKey, "\(path) is readable by other users (mode \(String(info.st_mode & 0o777, radix: 8))); run chmod 600 \(path)")
            }
            let text: String
            do { text = try FileIO.readText(path, maxBytes: 4096) } catch {
                throw AuditError(.storage, "cannot read the log key \(path): \(error)")
            }
            do { key = try NoteSignerKey(parsing: text.trimmingCharacters(in: .whitespacesAndNewlines)) } catch {
                throw AuditError(.badKey, "\(path) is not a log signer key: \(error.reason)")
            }
            guard key.name == origin else {
                throw AuditError(.badKey, "\(path) is the key of log \(key.name.debugDescription), not \(origin.debugDescription); start with that origin or move the key away")
            }
        } else {
            do { key = try NoteSignerKey.generate(name: origin) } catch {
                throw AuditError(.badKey, "the origin \(origin.debugDescription) cannot name a log key: \(error.reason)")
            }
            do { try FileIO.write(Array((key.encoded + "\n").utf8), to: path, mode: 0o600, overwrite: false) } catch {
                throw AuditError(.storage, "cannot create the log key \(path): \(error)")
            }
        }
        let publicPath = dataDirectory + "/" + LogKeyFile.publicName
        let publicText = key.verifierKey.encoded + "\n"
        if (try? FileIO.readText(publicPath, maxBytes: 4096)) != publicText {
            do { try FileIO.write(Array(publicText.utf8), to: publicPath, mode: 0o644) } catch {
                throw AuditError(.storage, "cannot write \(publicPath): \(error)")
            }
        }
        return key
    }
}
