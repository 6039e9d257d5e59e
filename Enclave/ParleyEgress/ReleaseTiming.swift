import ParleyPrivacy
/// When an answer may leave the worker: time is a side channel (how long a run took depends on
/// the data), so every answer, result or refusal, is held until a whole number of release
/// quanta has passed since its request arrived. What the timing can then reveal is only that
/// number, and the quantum is chosen above the spread measured for the gate and for ordinary
/// runs (docs/privacy.md, "Timing"). A pure function; the worker's clock applies it.
public enum ReleaseTiming {
    /// How long after the request the answer leaves: the smallest whole multiple of `quantum`
    /// that is at least `elapsed`, and at least one quantum. A zero or negative quantum
    /// releases at once (`elapsed`).
    public static func releaseAfter(elapsed: Duration, quantum: Duration) -> Duration {
        guard quantum > .zero else { return elapsed }
        let quanta = max(1, Int64((elapsed / quantum).rounded(.up)))
        return quantum * quanta
    }
}
