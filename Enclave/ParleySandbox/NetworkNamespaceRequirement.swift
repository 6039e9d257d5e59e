/// Whether the worker must move into a new, empty network namespace.
///
/// The seccomp filter already denies every socket call, so the namespace is a second wall:
/// if the filter had a hole, there would still be no interface to reach anything through.
public enum NetworkNamespaceRequirement: String, Sendable, Hashable {
    /// Lock-down fails (outside debug mode) if no new network namespace can be entered.
    case required
    /// Enter one if the kernel allows it; otherwise the report records why not, and lock-down
    /// goes on (the filter still denies all sockets). Recorded, so a verifier can insist.
    case bestEffort = "best-effort"
}
