import CSeccomp
import Glibc

/// Builds the seccomp filter from a ``SyscallAllowList`` with libseccomp and loads it.
///
/// The filter is for the native architecture only: a call made through another ABI (32-bit
/// `int 0x80` on x86_64, x32) does not match it and kills the process. It is loaded with
/// `SECCOMP_FILTER_FLAG_TSYNC`, so threads that already exist get it too.
enum SyscallFilterStep {
    /// Loads the filter; returns a one-line summary of what it contains.
    /// - Throws: ``SandboxError`` naming the libseccomp call that failed.
    static func apply(_ list: SyscallAllowList, unlisted: UnlistedSyscallAction = .fail) throws(SandboxError) -> String {
        let defaultAction = unlisted == .killProcess ? parley_scmp_act_kill_process() : parley_scmp_act_errno(UInt16(list.defaultErrno))
        guard let context = seccomp_init(defaultAction) else {
            throw SandboxError(.filterNotLoaded, step: .syscallFilter, reason: "seccomp_init returned NULL")
        }
        defer { seccomp_release(context) }
        try check(seccomp_attr_set(context, SCMP_FLTATR_ACT_BADARCH, parley_scmp_act_kill_process()),
                  "seccomp_attr_set(ACT_BADARCH, KILL_PROCESS)")
        try check(seccomp_attr_set(context, SCMP_FLTATR_CTL_TSYNC, 1), "seccomp_attr_set(CTL_TSYNC)")
        try check(seccomp_attr_set(context, SCMP_FLTATR_CTL_NNP, 1), "seccomp_attr_set(CTL_NNP)")

        var added = 0
        var unknown: [String] = []
        for rule in list.rules {
            let number = seccomp_syscall_resolve_name(rule.name)
            guard number >= 0 else {
                unknown.append(rule.name)  // not a system call on this architecture
                continue
            }
            added += try add(rule, number: number, to: context, killIsDefault: unlisted == .killProcess)
        }
        try check(seccomp_load(context), "seccomp_load")
        guard parley_prctl_get_seccomp() == 2 else {
            throw SandboxError(.notInEffect, step: .syscallFilter,
                               reason: "PR_GET_SECCOMP does not read back as 2 (filter mode)")
        }
        let arch = architectureName(seccomp_arch_native())
        let skipped = unknown.isEmpty ? "" : ", not on this architecture: \(unknown.joined(separator: " "))"
        let unlistedText = unlisted == .killProcess ? "default kill-process" : "default EPERM"
        return "\(added) rules for \(arch), \(unlistedText), other architectures kill\(skipped)"
    }

    /// Adds one rule (several for alternatives); returns how many filter rules were added.
    private static func add(_ rule: SyscallRule, number: Int32, to context: scmp_filter_ctx,
                            killIsDefault: Bool) throws(SandboxError) -> Int {
        switch rule.decision {
        case .denied:
            return 0  // the default action; libseccomp refuses rules that repeat it
        case .allow:
            try addOne(context, parley_scmp_act_allow(), number, [], rule.name)
            return 1
        case .fail(let value):
            try addOne(context, parley_scmp_act_errno(UInt16(value)), number, [], rule.name)
            return 1
        case .ignore:
            try addOne(context, parley_scmp_act_errno(0), number, [], rule.name)
            return 1
        case .killProcess:
            if killIsDefault { return 0 }  // repeats the default, which libseccomp refuses
            try addOne(context, parley_scmp_act_kill_process(), number, [], rule.name)
            return 1
        case .allowIf(let alternatives):
            for conditions in alternatives {
                try addOne(context, parley_scmp_act_allow(), number, conditions, rule.name)
            }
            return alternatives.count
        }
    }

    private static func addOne(_ context: scmp_filter_ctx, _ action: UInt32, _ number: Int32,
                               _ conditions: [ArgumentCondition], _ name: String) throws(SandboxError) {
        let comparisons = conditions.map { condition in
            scmp_arg_cmp(arg: condition.argument, op: SCMP_CMP_MASKED_EQ,
                         datum_a: condition.mask, datum_b: condition.value)
        }
        let result = comparisons.withUnsafeBufferPointer { buffer in
            seccomp_rule_add_array(context, action, number, UInt32(buffer.count), buffer.baseAddress)
        }
        try check(result, "seccomp_rule_add(\(name))")
    }

    /// libseccomp returns 0 or a negative errno.
    private static func check(_ result: Int32, _ call: String) throws(SandboxError) {
        guard result == 0 else {
            throw SandboxError(.filterNotLoaded, step: .syscallFilter, errno: -result, reason: call)
        }
    }

    /// The AUDIT_ARCH token as a name, for the architectures Parley builds for.
    private static func architectureName(_ token: UInt32) -> String {
        for name in ["x86_64", "aarch64", "riscv64", "ppc64le", "s390x"]
        where seccomp_arch_resolve_name(name) == token {
            return name
        }
        return "architecture 0x\(String(token, radix: 16))"
    }
}
