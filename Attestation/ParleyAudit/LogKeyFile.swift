import Foundation
import ParleyCore
import ParleyLog

/// The host's log key on disk: `<data>/log-key` holds the Ed25519 note signer key in the
/// `PRIVATE+KEY+<name>+<id>+<base64>` form (mode 0600, created on first start by the host's
/// writer, `LogSignerKeyFile` in ParleyHostLog), and `<data>/log-key.pub` its verifier key
/// text, which parties and auditors pin. This side only reads the public half.
package enum LogKeyFile {
    package static let privateName = "log-key"
    package static let publicName = "log-key.pub"

    /// Reads a verifier key text file (`log-key.pub`).
    package static func loadVerifier(_ path: String) throws(AuditError) -> NoteVerifierKey {
        let text: String
        do { text = try FileIO.readText(path, maxBytes: 4096) } catch {
            throw AuditError(.storage, "cannot read \(path): \(error)")
        }
        do { return try NoteVerifierKey(parsing: text.trimmingCharacters(in: .whitespacesAndNewlines)) } catch {
            throw AuditError(.badKey, "\(path) is not a log verifier key: \(error.reason)")
        }
    }
}

extension AuditError {
    /// Wraps a log library error, keeping its reason.
    package init(_ error: LogError, doing what: String, fileID: String = #fileID, line: Int = #line) {
        let code: Code = error.code == .outOfRange ? .outOfRange : .storage
        self.init(code, "\(what): \(error.reason)", fileID: fileID, line: line)
    }
}
