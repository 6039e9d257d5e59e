// CSeccomp's shim includes <sys/resource.h>: a build from scratch (CI) does not always see the
// RLIMIT_* enum constants through Glibc alone, as DescriptorStep does through CSeccomp.
import CSeccomp
import Glibc

/// Applies ``ResourceLimits`` with `setrlimit`, each limit as both soft and hard value.
enum ResourceLimitStep {
    /// One `rlimit` to set.
    struct Setting {
        let name: String
        let resource: __rlimit_resource
        let soft: UInt64
        let hard: UInt64
    }

    /// The settings for a set of limits, `RLIMIT_CORE = 0` included.
    static func settings(for limits: ResourceLimits) -> [Setting] {
        [
            Setting(name: "RLIMIT_CORE", resource: RLIMIT_CORE, soft: 0, hard: 0),
            Setting(name: "RLIMIT_AS", resource: RLIMIT_AS,
                    soft: limits.addressSpaceBytes, hard: limits.addressSpaceBytes),
            Setting(name: "RLIMIT_DATA", resource: RLIMIT_DATA,
                    soft: limits.addressSpaceBytes, hard: limits.addressSpaceBytes),
            // SIGXCPU at the soft limit, SIGKILL at the hard one if SIGXCPU was caught or ignored.
            Setting(name: "RLIMIT_CPU", resource: RLIMIT_CPU,
                    soft: limits.cpuSeconds, hard: limits.cpuSeconds + 1),
            Setting(name: "RLIMIT_NOFILE", resource: RLIMIT_NOFILE,
                    soft: limits.openFiles, hard: limits.openFiles),
            Setting(name: "RLIMIT_NPROC", resource: __RLIMIT_NPROC,
                    soft: limits.processes, hard: limits.processes),
            Setting(name: "RLIMIT_FSIZE", resource: RLIMIT_FSIZE,
                    soft: limits.fileSizeBytes, hard: limits.fileSizeBytes),
        ]
    }

    /// Sets every limit; returns "NAME=soft/hard" for each.
    /// - Throws: ``SandboxError`` naming the first limit the kernel refused.
    static func apply(_ limits: ResourceLimits) throws(SandboxError) -> String {
        var applied: [String] = []
        for setting in settings(for: limits) {
            applied.append(try apply(setting))
        }
        return applied.joined(separator: " ")
    }

    private static func apply(_ setting: Setting) throws(SandboxError) -> String {
        let resource = __rlimit_resource_t(setting.resource.rawValue)
        var current = rlimit()
        guard getrlimit(resource, &current) == 0 else {
            throw SandboxError(.kernelRefused, step: .resourceLimits, errno: errno,
                               reason: "getrlimit(\(setting.name))")
        }
        // An inherited hard limit that is already stricter stays: lowering is all we want.
        let hard = min(setting.hard, UInt64(current.rlim_max))
        let soft = min(setting.soft, hard)
        var wanted = rlimit(rlim_cur: rlim_t(soft), rlim_max: rlim_t(hard))
        guard setrlimit(resource, &wanted) == 0 else {
            throw SandboxError(.kernelRefused, step: .resourceLimits, errno: errno,
                               reason: "setrlimit(\(setting.name), soft \(soft), hard \(hard))")
        }
        var check = rlimit()
        guard getrlimit(resource, &check) == 0, check.rlim_cur == soft, check.rlim_max == hard else {
            throw SandboxError(.notInEffect, step: .resourceLimits,
                               reason: "\(setting.name) reads back as \(check.rlim_cur)/\(check.rlim_max), "
                                   + "not \(soft)/\(hard)")
        }
        return "\(setting.name)=\(soft)/\(hard)"
    }
}
