import Glibc

extension SyscallAllowList {
    /// The list as a Markdown table (system call, decision, reason), for docs/sandbox.md.
    public func markdownTable() -> String {
        var lines = ["| system call | decision | seen | why |", "|---|---|---|---|"]
        for rule in rules {
            let seen = rule.isAllowed ? (rule.seen ? "yes" : "no") : ""
            lines.append("| `\(rule.name)` | \(SyscallAllowList.describe(rule.decision)) | \(seen) | \(rule.reason) |")
        }
        return lines.joined(separator: "\n")
    }

    /// A decision in words: "allow", "allow if arg2: …", "ENOSYS", "EPERM (default)", "kill process".
    static func describe(_ decision: SyscallRule.Decision) -> String {
        switch decision {
        case .allow:
            return "allow"
        case .allowIf(let alternatives):
            let text = alternatives.map { $0.map(\.description).joined(separator: " and ") }
            return "allow if " + text.joined(separator: ", or ")
        case .fail(let value):
            return "fail with \(SyscallAllowList.errnoName(value))"
        case .ignore:
            return "return 0, do nothing"
        case .denied:
            return "EPERM (default)"
        case .killProcess:
            return "kill process (SIGSYS)"
        }
    }

    /// One "name decision" line per rule (`allow`, `allow-if`, `fail`, `ignore`, `denied`,
    /// `kill`), for Scripts/derive-syscalls.py to compare a trace with.
    public func decisionLines() -> String {
        rules.map { rule in
            let word: String
            switch rule.decision {
            case .allow: word = "allow"
            case .allowIf: word = "allow-if"
            case .fail: word = "fail"
            case .ignore: word = "ignore"
            case .denied: word = "denied"
            case .killProcess: word = "kill"
            }
            return "\(rule.name) \(word)"
        }.joined(separator: "\n")
    }

    /// The names of every system call the filter lets through (conditionally or not).
    public var allowedNames: [String] { rules.filter(\.isAllowed).map(\.name) }

    static func errnoName(_ value: Int32) -> String {
        switch value {
        case EPERM: return "EPERM"
        case ENOSYS: return "ENOSYS"
        case EACCES: return "EACCES"
        default: return "errno \(value)"
        }
    }
}

extension SyscallRule {
    /// Whether the filter can let the call through (always, or when its arguments match).
    public var isAllowed: Bool {
        switch decision {
        case .allow, .allowIf: return true
        case .fail, .ignore, .denied, .killProcess: return false
        }
    }
}
