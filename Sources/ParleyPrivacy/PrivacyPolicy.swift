/// The privacy policy of a sealed module, as the gate enforces it. A value of this type is
/// always valid: the initializer refuses anything the gate could not honour.
public struct PrivacyPolicy: Hashable, Sendable {
    /// Most groups one privacy unit may contribute to that the gate accepts.
    public static let maximumGroupsPerUnitLimit: UInt64 = 1_000_000

    /// The smallest `min_group_size` accepted (AWS Clean Rooms' lower bound): a released group
    /// of one privacy unit would be that unit's own data.
    public static let minimumGroupSizeFloor = 2
    /// `min_group_size` below this is flagged as weak by `module inspect`.
    public static let weakGroupSizeBelow = 10
    /// A partition-selection delta above this is flagged as weak by `module inspect`.
    public static let weakPartitionSelectionDeltaAbove = 1e-6

    /// `min_group_size`: a group is released only if its noisy distinct-unit count is at least this.
    public let minGroupSize: Int64
    /// `epsilon_per_query`: the privacy loss of one run, split over its measurements.
    public let epsilonPerQuery: Rational
    /// `budget_epsilon`: total epsilon all runs of the job may spend.
    public let budgetEpsilon: Rational
    /// `delta`: when set, noise is discrete Gaussian and each run is (epsilon, delta)-DP;
    /// when `nil`, noise is discrete Laplace.
    public let delta: Rational?
    /// `max_groups_per_unit`: most groups one unit contributes to (enforced by the engine).
    public let maxGroupsPerUnit: UInt64

    /// Validates and creates a policy from the module's fields.
    /// - Throws: ``Refusal/invalidPolicy(_:)`` naming the field when `min_group_size < 2`,
    ///   `epsilon_per_query <= 0`, `budget_epsilon < epsilon_per_query` (no run could ever
    ///   happen), `delta` outside `(0, 1)`, or `max_groups_per_unit` outside
    ///   `1...maximumGroupsPerUnitLimit`.
    public init(
        minGroupSize: Int,
        epsilonPerQuery: Rational,
        budgetEpsilon: Rational,
        delta: Rational? = nil,
        maxGroupsPerUnit: Int
    ) throws(EgressError) {
        guard minGroupSize >= Self.minimumGroupSizeFloor else {
            throw EgressError(.invalidPolicy("min_group_size must be at least \(Self.minimumGroupSizeFloor): a group of one person is that person"))
        }
        guard !epsilonPerQuery.isZero else {
            throw EgressError(.invalidPolicy("epsilon_per_query must be greater than 0"))
        }
        guard budgetEpsilon >= epsilonPerQuery else {
            throw EgressError(.invalidPolicy("budget_epsilon must be at least epsilon_per_query, or no query can run"))
        }
        if let delta {
            guard !delta.isZero, delta < .one else {
                throw EgressError(.invalidPolicy("delta must be greater than 0 and less than 1 (omit it for pure epsilon-DP)"))
            }
        }
        guard maxGroupsPerUnit >= 1, UInt64(maxGroupsPerUnit) <= Self.maximumGroupsPerUnitLimit else {
            throw EgressError(.invalidPolicy("max_groups_per_unit must be between 1 and \(Self.maximumGroupsPerUnitLimit)"))
        }
        self.minGroupSize = Int64(minGroupSize)
        self.epsilonPerQuery = epsilonPerQuery
        self.budgetEpsilon = budgetEpsilon
        self.delta = delta
        self.maxGroupsPerUnit = UInt64(maxGroupsPerUnit)
    }

    /// Parses the decimal fields as they appear in the module's TOML and validates.
    /// - Throws: ``Refusal/invalidNumber(_:)`` or ``Refusal/parameterOverflow(_:)`` for a bad
    ///   decimal, ``Refusal/invalidPolicy(_:)`` as for the other initializer.
    public init(
        minGroupSize: Int,
        epsilonPerQuery: String,
        budgetEpsilon: String,
        delta: String? = nil,
        maxGroupsPerUnit: Int
    ) throws(EgressError) {
        let parsedDelta: Rational?
        if let delta { parsedDelta = try Rational(decimal: delta) } else { parsedDelta = nil }
        try self.init(
            minGroupSize: minGroupSize,
            epsilonPerQuery: try Rational(decimal: epsilonPerQuery),
            budgetEpsilon: try Rational(decimal: budgetEpsilon),
            delta: parsedDelta,
            maxGroupsPerUnit: maxGroupsPerUnit)
    }

    /// The noise this policy calls for.
    public var mechanism: NoiseMechanism { delta == nil ? .discreteLaplace : .discreteGaussian }
}
