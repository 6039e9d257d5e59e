import ParleyPrivacy
/// The privacy budget of one job: how much epsilon its runs have spent, and may still spend.
///
/// A value-type ledger: the gate charges it (through `inout`) before it draws any noise, so a
/// run that fails later has still paid. Callers persist it after every run. All sums are exact
/// rationals: ten runs at `0.1` spend exactly `1`.
public struct PrivacyBudget: Hashable, Sendable {
    /// `budget_epsilon` of the policy.
    public let total: Rational
    /// Epsilon charged so far.
    public private(set) var epsilonSpent: Rational
    /// Gaussian-noise delta charged so far (sum of the runs' policy delta; the partition
    /// selection bound of each run is reported with the run, not summed here).
    public private(set) var deltaSpent: Rational
    /// Runs charged so far.
    public private(set) var runs: UInt64

    /// A fresh budget for a job under `policy`.
    public init(policy: PrivacyPolicy) {
        total = policy.budgetEpsilon
        epsilonSpent = .zero
        deltaSpent = .zero
        runs = 0
    }

    /// Restores a budget from its persisted parts.
    /// - Throws: ``Refusal/invalidPolicy(_:)`` if more than `total` was spent.
    public init(total: Rational, epsilonSpent: Rational, deltaSpent: Rational, runs: UInt64) throws(EgressError) {
        guard epsilonSpent <= total else {
            throw EgressError(.invalidPolicy("a budget cannot have spent more than its total"))
        }
        self.total = total
        self.epsilonSpent = epsilonSpent
        self.deltaSpent = deltaSpent
        self.runs = runs
    }

    /// Epsilon that may still be spent.
    public var remaining: Rational {
        // Cannot fail: every mutation keeps epsilonSpent <= total.
        (try? total.subtracting(epsilonSpent)) ?? .zero
    }

    /// Checks, without charging, whether a run of cost `cost` would be allowed.
    /// - Throws: ``Refusal/budgetExceeded(remaining:requested:)`` if it would not.
    public func check(_ cost: QueryCost) throws(EgressError) {
        guard cost.epsilon <= remaining else {
            throw EgressError(.budgetExceeded(remaining: remaining, requested: cost.epsilon))
        }
    }

    /// Charges one run, or refuses and leaves the budget unchanged.
    /// - Throws: ``Refusal/budgetExceeded(remaining:requested:)`` with the budget left and
    ///   the cost asked; ``Refusal/parameterOverflow(_:)`` if the exact sums outgrow 64 bits.
    public mutating func charge(_ cost: QueryCost) throws(EgressError) {
        try check(cost)
        let newEpsilon = try epsilonSpent.adding(cost.epsilon)
        let newDelta = try deltaSpent.adding(cost.delta)
        epsilonSpent = newEpsilon
        deltaSpent = newDelta
        runs += 1
    }
}
