import Foundation
import ParleyParty
import ParleyCore

/// The auditor's step of the demo (the log replay lands with the audit verbs).
enum DemoAudit {
    static func replay(dir: String, server: HTTP) throws -> String {
        let r = try server.request("GET", "/v1/log/checkpoint")
        guard r.status == 200 else { throw ParleyError(.io, "no log checkpoint: \(r.errorMessage)") }
        let lines = r.text.split(separator: "\n")
        return "the auditor fetched the log checkpoint: \(lines.count > 1 ? String(lines[1]) : "?") entries, signed by the host's log key"
    }
}
