import Glibc
import ParleySandbox

/// Unbuffered, line-at-a-time output, so nothing is lost when a limit kills the probe.
enum ProbeOutput {
    /// Where lines go: stdout, or the `--report-fd` descriptor.
    nonisolated(unsafe) static var descriptor: Int32 = 1

    static func line(_ text: String) {
        var bytes = Array((text + "\n").utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeMutableBytes { buffer in
                write(descriptor, buffer.baseAddress.map { $0 + offset }, buffer.count - offset)
            }
            if written <= 0 { return }
            offset += written
        }
    }

    /// "DENIED name text" when errno is set, "ALLOWED name" otherwise.
    static func outcome(_ name: String, errno value: Int32?) {
        if let value {
            line("DENIED \(name) \(SandboxError.errnoText(value))")
        } else {
            line("ALLOWED \(name)")
        }
    }
}
