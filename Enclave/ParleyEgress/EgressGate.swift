/// The egress gate: the only way a query result leaves the worker.
///
/// For each run it (1) checks the engine's result against its contract, (2) computes the
/// run's ``QueryCost`` and charges the job's ``PrivacyBudget`` (or refuses), (3) adds exact
/// discrete noise to every measurement of every group, (4) releases a group only if its noisy
/// distinct-unit count reaches `min_group_size`, and (5) reports a noisy count of the groups
/// it withheld. See docs/privacy.md for the guarantee this gives.
public struct EgressGate: Sendable {
    /// The module's privacy policy.
    public let policy: PrivacyPolicy

    /// Creates a gate enforcing `policy`.
    public init(policy: PrivacyPolicy) {
        self.policy = policy
    }

    /// What a run of a query with these aggregates would cost (for `parley query cost`).
    /// - Throws: as ``QueryCost/init(aggregates:policy:)``.
    public func cost(of aggregates: [AggregateSpec]) throws(EgressError) -> QueryCost {
        try QueryCost(aggregates: aggregates, policy: policy)
    }

    /// Releases one run of a query, charging `budget`, with noise from the system's
    /// cryptographic generator (`getrandom(2)` on Linux).
    /// - Throws: as ``release(_:budget:using:)``.
    public func release(_ result: BoundedQueryResult, budget: inout PrivacyBudget) throws(EgressError) -> Release {
        var generator = SystemRandomNumberGenerator()
        return try release(result, budget: &budget, using: &generator)
    }

    /// Releases one run of a query, charging `budget`, with noise from `generator`.
    ///
    /// The budget is charged before any noise is drawn; a refusal before that point leaves it
    /// unchanged.
    /// - Parameters:
    ///   - result: the engine's exact, contribution-bounded result.
    ///   - budget: the job's budget; charged `epsilon_per_query` on success.
    ///   - generator: a cryptographic generator (a seeded one only in tests).
    /// - Throws: ``Refusal/contractViolation(_:)`` if `result` breaks the engine contract;
    ///   ``Refusal/invalidQuery(_:)`` or ``Refusal/parameterOverflow(_:)`` from costing;
    ///   ``Refusal/invalidPolicy(_:)`` if `budget` belongs to another policy;
    ///   ``Refusal/budgetExceeded(remaining:requested:)`` if the budget cannot pay.
    public func release<R: CryptographicRandomNumberGenerator>(
        _ result: BoundedQueryResult, budget: inout PrivacyBudget, using generator: inout R
    ) throws(EgressError) -> Release {
        let cost = try QueryCost(aggregates: result.aggregates, policy: policy)
        try ContractCheck.validate(result)
        guard budget.total == policy.budgetEpsilon else {
            throw EgressError(.invalidPolicy("the budget's total differs from this policy's budget_epsilon"))
        }
        try budget.charge(cost)

        var rows: [ReleasedRow] = []
        for group in result.groups {
            var noisy = NoisyGroup(group: group, aggregates: result.aggregates, cost: cost)
            let distinctUnits = try noisy.value(of: .distinctUnits, using: &generator)
            guard distinctUnits >= policy.minGroupSize else { continue }
            var values: [ReleasedValue] = []
            for aggregate in result.aggregates {
                switch aggregate.kind {
                case .countDistinctUnits:
                    values.append(.integer(distinctUnits))
                case let .countRows(maxRows):
                    let count = try noisy.value(of: .rowCount(maxRowsPerUnit: maxRows), using: &generator)
                    values.append(.integer(max(0, count)))
                case let .sum(column, bounds):
                    values.append(.integer(try noisy.value(of: .sum(column: column, bounds: bounds), using: &generator)))
                case let .average(column, bounds):
                    let sum = try noisy.value(of: .sum(column: column, bounds: bounds), using: &generator)
                    values.append(.average(NoisyAverage(sum: sum, count: distinctUnits, clampedTo: bounds)))
                }
            }
            rows.append(ReleasedRow(keys: group.keys, values: values))
        }
        rows.sort { $0.keys.lexicographicallyPrecedes($1.keys) }

        let groupNoise = try NoiseDraw.sample(cost.noise(for: .groupCount), using: &generator)
        let noisyGroupCount = try NoiseDraw.add(groupNoise, to: Int64(result.groups.count))
        let suppressed = max(0, noisyGroupCount - Int64(rows.count))

        return Release(
            columns: result.aggregates.map(\.name),
            rows: rows,
            suppressedGroupCount: UInt64(suppressed),
            mechanism: cost.mechanism,
            epsilonCharged: cost.epsilon,
            deltaCharged: cost.delta,
            partitionSelectionDelta: cost.partitionSelectionDelta,
            budgetRemaining: budget.remaining)
    }
}

/// One group's measurements, each noised at most once however many aggregates read it.
private struct NoisyGroup {
    private var exact: [Measurement: Int64] = [:]
    private var noisy: [Measurement: Int64] = [:]
    private let cost: QueryCost

    init(group: BoundedGroup, aggregates: [AggregateSpec], cost: QueryCost) {
        self.cost = cost
        exact[.distinctUnits] = group.distinctUnits
        for (aggregate, total) in zip(aggregates, group.totals) {
            switch aggregate.kind {
            case .countDistinctUnits: break
            case let .countRows(maxRows): exact[.rowCount(maxRowsPerUnit: maxRows)] = total
            case let .sum(column, bounds), let .average(column, bounds): exact[.sum(column: column, bounds: bounds)] = total
            }
        }
    }

    mutating func value<R: CryptographicRandomNumberGenerator>(
        of measurement: Measurement, using generator: inout R
    ) throws(EgressError) -> Int64 {
        if let known = noisy[measurement] { return known }
        guard let total = exact[measurement] else {
            throw EgressError(.contractViolation("a measurement has no exact total"))
        }
        let noise = try NoiseDraw.sample(cost.noise(for: measurement), using: &generator)
        let value = try NoiseDraw.add(noise, to: total)
        noisy[measurement] = value
        return value
    }
}

/// Draws planned noise and adds it with overflow checks.
enum NoiseDraw {
    static func sample<R: CryptographicRandomNumberGenerator>(
        _ distribution: NoiseDistribution?, using generator: inout R
    ) throws(EgressError) -> Int64 {
        switch distribution {
        case let .discreteLaplace(scale)?: return try ExactNoise.discreteLaplace(scale: scale, using: &generator)
        case let .discreteGaussian(variance)?: return try ExactNoise.discreteGaussian(variance: variance, using: &generator)
        case nil: throw EgressError(.contractViolation("a measurement was not planned"))
        }
    }

    static func add(_ noise: Int64, to total: Int64) throws(EgressError) -> Int64 {
        let (sum, overflowed) = total.addingReportingOverflow(noise)
        guard !overflowed else { throw EgressError(.parameterOverflow("noisy total")) }
        return sum
    }
}
