import CSeccomp
import Glibc

/// Puts /dev/null on descriptors 0-2 (unless the policy keeps them) and closes every inherited
/// descriptor above 2 that the policy does not keep, with `close_range`.
enum DescriptorStep {
    /// Applies the policy; returns what 0-2 are now and which descriptors were kept.
    /// - Throws: ``SandboxError`` if /dev/null cannot be opened, a descriptor cannot be closed,
    ///   or a read-back finds a descriptor the policy did not keep.
    static func apply(_ policy: DescriptorPolicy) throws(SandboxError) -> String {
        let kept = policy.keep.filter { $0 > 2 }.sorted()
        if policy.standardStreams == .nullDevice {
            guard parley_null_standard_streams() == 0 else {
                throw SandboxError(.kernelRefused, step: .descriptors, errno: errno,
                                   reason: "open(/dev/null) or dup2 onto descriptors 0-2")
            }
            for fd: Int32 in 0...2 where !isNullDevice(fd) {
                throw SandboxError(.notInEffect, step: .descriptors,
                                   reason: "descriptor \(fd) is not /dev/null after dup2")
            }
        }
        // Close the gaps between kept descriptors, then everything above the last.
        var first: UInt32 = 3
        for fd in kept {
            try close(from: first, to: UInt32(fd) - 1)
            first = UInt32(fd) + 1
        }
        try close(from: first, to: UInt32.max)
        let open = openDescriptors()
        let unexpected = open.filter { $0 > 2 && !kept.contains($0) }
        guard unexpected.isEmpty else {
            throw SandboxError(.notInEffect, step: .descriptors,
                               reason: "descriptors \(unexpected.map(String.init).joined(separator: ", ")) are still open")
        }
        let streams = policy.standardStreams == .nullDevice ? "0-2 on /dev/null" : "0-2 inherited"
        let keptText = kept.isEmpty ? "none" : kept.map(String.init).joined(separator: ", ")
        return "\(streams); kept above 2: \(keptText); every other descriptor closed"
    }

    private static func close(from first: UInt32, to last: UInt32) throws(SandboxError) {
        guard first <= last else { return }
        guard parley_close_range(first, last) == 0 else {
            throw SandboxError(.kernelRefused, step: .descriptors, errno: errno,
                               reason: "close_range(\(first), \(last == UInt32.max ? "~0" : String(last)), 0)")
        }
    }

    /// Whether `fd` is the character device /dev/null (major 1, minor 3).
    static func isNullDevice(_ fd: Int32) -> Bool {
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFCHR else { return false }
        return info.st_rdev == deviceNumber(major: 1, minor: 3)
    }

    /// The descriptors open now, found by probing up to the current RLIMIT_NOFILE with F_GETFD
    /// (no directory read: this also works where /proc is not mounted).
    static func openDescriptors() -> [Int32] {
        var limit = rlimit()
        getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        let top = Int32(min(UInt64(limit.rlim_cur), 65_536))
        return (0..<top).filter { fcntl($0, F_GETFD) >= 0 }
    }
}

private func deviceNumber(major: UInt32, minor: UInt32) -> dev_t {
    // glibc's encoding (sys/sysmacros.h), which is a macro Swift cannot import.
    let ma = dev_t(major), mi = dev_t(minor)
    return ((ma & 0xffff_f000) << 32) | ((ma & 0xfff) << 8) | ((mi & 0xffff_ff00) << 12) | (mi & 0xff)
}
