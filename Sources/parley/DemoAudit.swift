import Foundation
import ParleyAudit
import ParleyCore
import ParleyParty

/// The auditor's step of the demo: export the log over HTTP and replay it offline.
enum DemoAudit {
    static func replay(dir: String, server: HTTP) async throws -> String {
        let out = dir + "/audit"
        try? FileManager.default.removeItem(atPath: out)
        try await exportBundle(server: server.base.absoluteString, data: nil, to: out)
        let report = AuditReplay(bundle: try AuditBundle.open(out), policy: nil).run()
        let verdict: String
        switch report.verdict {
        case .passed: verdict = "PASSED"
        case .failed(let f): verdict = "FAILED: \(f)"
        }
        return "the auditor exported the log and replayed it offline: \(verdict)\n" + report.text.split(separator: "\n").map { "   " + $0 }.joined(separator: "\n")
    }
}
