import CSeccomp
import Glibc

/// Takes every privilege away: as root, switches to the policy's unprivileged uid/gid with no
/// supplementary group; in every case empties the bounding and ambient sets and the effective,
/// permitted and inheritable sets, then reads all of it back.
///
/// After the switch the worker owns nothing of the host's (the host's keys are 0600 files of
/// root in a 0700 directory) and cannot become root again: its saved uid is not 0 either.
enum IdentityStep {
    /// Applies the step; returns the identity and capability state it read back.
    /// - Throws: ``SandboxError`` if a call fails or a read-back shows a privilege left.
    static func apply(_ identity: WorkerIdentity) throws(SandboxError) -> String {
        var notes: [String] = []
        let wasRoot = getuid() == 0 || geteuid() == 0
        if wasRoot {
            guard identity.uid != 0, identity.gid != 0 else {
                throw SandboxError(.invalidPolicy, step: .identity,
                                   reason: "the worker identity \(identity) is root; give it an unprivileged user")
            }
            try ThreadCount.requireSingleThread(for: .identity, because: "capabilities are per thread")
            try dropBoundingSet(required: true, notes: &notes)
            try clearAmbient()
            guard parley_set_identity(identity.uid, identity.gid) == 0 else {
                throw SandboxError(.kernelRefused, step: .identity, errno: errno,
                                   reason: "setgroups(0), setresgid(\(identity.gid)), setresuid(\(identity.uid))")
            }
            guard parley_identity_is(identity.uid, identity.gid) == 1 else {
                throw SandboxError(.notInEffect, step: .identity,
                                   reason: "the real, effective and saved ids do not read back as \(identity)")
            }
            // The saved uid is no longer 0: there is no way back.
            if parley_set_identity(0, 0) == 0 {
                throw SandboxError(.notInEffect, step: .identity, reason: "the worker could switch back to root")
            }
            notes.insert("uid/gid 0 -> \(identity), no supplementary groups", at: 0)
        } else {
            notes.append("uid \(getuid()) gid \(getgid()) kept (not started as root)")
            let held = try readCapabilities()
            if held.effective != 0 || held.permitted != 0 || held.inheritable != 0 {
                // In a fresh user namespace the worker holds every capability there: drop them.
                try ThreadCount.requireSingleThread(for: .identity, because: "capabilities are per thread")
            }
            try dropBoundingSet(required: held.permitted != 0, notes: &notes)
            try clearAmbient()
        }
        guard parley_clear_capabilities() == 0 else {
            throw SandboxError(.kernelRefused, step: .identity, errno: errno,
                               reason: "capset(effective=0, permitted=0, inheritable=0)")
        }
        let left = try readCapabilities()
        guard left.effective == 0, left.permitted == 0, left.inheritable == 0 else {
            throw SandboxError(.notInEffect, step: .identity,
                               reason: "capabilities left: effective \(String(left.effective, radix: 16)), "
                                   + "permitted \(String(left.permitted, radix: 16)), inheritable \(String(left.inheritable, radix: 16))")
        }
        let ambient = parley_ambient_count()
        guard ambient == 0 else {
            throw SandboxError(.notInEffect, step: .identity, errno: ambient < 0 ? errno : nil,
                               reason: "the ambient set reads back with \(ambient) capabilities")
        }
        notes.append("capabilities: effective, permitted, inheritable and ambient empty")
        return notes.joined(separator: "; ")
    }

    private static func clearAmbient() throws(SandboxError) {
        guard parley_clear_ambient() == 0 else {
            throw SandboxError(.kernelRefused, step: .identity, errno: errno, reason: "prctl(PR_CAP_AMBIENT_CLEAR_ALL)")
        }
    }

    /// Drops the whole bounding set. An unprivileged process without CAP_SETPCAP cannot; when it
    /// holds no capability either (`required == false`) that is recorded, not fatal: nothing can
    /// grant it one (no-new-privileges comes next, and the filter forbids exec).
    private static func dropBoundingSet(required: Bool, notes: inout [String]) throws(SandboxError) {
        let dropped = parley_drop_bounding_set()
        if dropped < 0 {
            let code = errno
            guard code == EPERM, !required else {
                throw SandboxError(.kernelRefused, step: .identity, errno: code, reason: "prctl(PR_CAPBSET_DROP)")
            }
            notes.append("bounding set kept: dropping it needs CAP_SETPCAP, and the worker holds no capability")
            return
        }
        let left = parley_bounding_set_count()
        guard left == 0 else {
            throw SandboxError(.notInEffect, step: .identity, errno: left < 0 ? errno : nil,
                               reason: "the bounding set reads back with \(left) capabilities")
        }
        notes.append("bounding set empty (\(dropped) dropped)")
    }

    private static func readCapabilities() throws(SandboxError) -> (effective: UInt64, permitted: UInt64, inheritable: UInt64) {
        var e: UInt64 = 0, p: UInt64 = 0, i: UInt64 = 0
        guard parley_read_capabilities(&e, &p, &i) == 0 else {
            throw SandboxError(.kernelRefused, step: .identity, errno: errno, reason: "capget")
        }
        return (e, p, i)
    }
}
