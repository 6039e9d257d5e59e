import CSeccomp
import Foundation
import Glibc
import ParleySandbox

/// The `identity` and `stray-output` modes: what a worker without privilege can still do.
enum IdentityChecks {
    /// Applies only the identity step (no filter, no Landlock, so the state can be read back
    /// through /proc), then prints it and tries what the identity alone must stop.
    static func run(_ policy: SandboxPolicy, secret: String?) -> Int32 {
        do throws(SandboxError) {
            ProbeOutput.line("STEP identity applied: \(try Sandbox.apply(.identity, policy))")
        } catch {
            ProbeOutput.line("REFUSED \(error)")
            return 2
        }
        var r: uid_t = 0, e: uid_t = 0, s: uid_t = 0, rg: gid_t = 0, eg: gid_t = 0, sg: gid_t = 0
        getresuid(&r, &e, &s)
        getresgid(&rg, &eg, &sg)
        ProbeOutput.line("INFO ids uid=\(r)/\(e)/\(s) gid=\(rg)/\(eg)/\(sg) groups=\(getgroups(0, nil))")
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        for line in status.split(separator: "\n") where line.hasPrefix("Cap") {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            ProbeOutput.line("INFO \(fields.joined(separator: " "))")
        }
        if let secret {
            let fd = open(secret, O_RDONLY)
            ProbeOutput.outcome("read-secret", errno: fd >= 0 ? { close(fd); return nil }() : errno)
        }
        ProbeOutput.outcome("regain-root", errno: parley_set_identity(0, 0) == 0 ? nil : errno)
        ProbeOutput.line("DONE")
        return 0
    }

    /// After the lock-down: writes a marker to descriptors 1 and 2 and says on the report
    /// descriptor how many bytes each write took (the descriptors step already checked that
    /// 0-2 are /dev/null; the filter allows no fstat to look again).
    static func writeStrayOutput() -> Int32 {
        for fd: Int32 in [1, 2] {
            let marker = Array("PARLEY-STRAY-OUTPUT-\(fd)\n".utf8)
            ProbeOutput.line("WROTE fd\(fd) \(write(fd, marker, marker.count)) bytes")
        }
        ProbeOutput.line("DONE")
        return 0
    }
}
