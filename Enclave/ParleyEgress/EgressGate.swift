import ParleyPrivacy
/// The egress gate: the only way a query result leaves the worker.
///
/// A run has two steps, in this order, so that nothing the data decides can come before the
/// charge:
/// 1. ``charge(_:partitions:budget:)``: computes the run's ``QueryCost`` from the query alone
///    and charges the job's ``PrivacyBudget`` (or refuses, before anything reads the data).
///    The charge is returned as a ``ChargedRun``, the only ticket to step 2.
/// 2. ``release(_:for:using:)``: checks the engine's result against its contract, adds exact
///    discrete noise to every measurement of every group, chooses the released groups by the
///    run's ``PartitionSelection`` (the noisy threshold, or every declared public key) and
///    reports how many were withheld. A failure here keeps the charge; the worker answers it
///    with one generic refusal.
///
/// See docs/privacy.md for the guarantee this gives.
public struct EgressGate: Sendable {
    /// The module's privacy policy.
    public let policy: PrivacyPolicy

    /// Creates a gate enforcing `policy`.
    public init(policy: PrivacyPolicy) {
        self.policy = policy
    }

    /// What a run of a query with these aggregates would cost (for `parley query cost`).
    /// - Throws: as ``QueryCost/init(aggregates:policy:partitions:)``.
    public func cost(of aggregates: [AggregateSpec], partitions: PartitionSelection = .threshold) throws(EgressError) -> QueryCost {
        try QueryCost(aggregates: aggregates, policy: policy, partitions: partitions)
    }

    /// Step 1 of a run: costs it and charges `budget`, before any data is read.
    /// - Throws: ``Refusal/invalidQuery(_:)`` or ``Refusal/parameterOverflow(_:)`` from costing;
    ///   ``Refusal/invalidPolicy(_:)`` if `budget` belongs to another policy;
    ///   ``Refusal/budgetExceeded(remaining:requested:)`` if the budget cannot pay. A refusal
    ///   leaves `budget` unchanged; none of them depends on the data.
    public func charge(_ aggregates: [AggregateSpec], partitions: PartitionSelection = .threshold,
                       budget: inout PrivacyBudget) throws(EgressError) -> ChargedRun {
        let cost = try QueryCost(aggregates: aggregates, policy: policy, partitions: partitions)
        guard budget.total == policy.budgetEpsilon else {
            throw EgressError(.invalidPolicy("the budget's total differs from this policy's budget_epsilon"))
        }
        try budget.charge(cost)
        return ChargedRun(cost: cost, budgetRemaining: budget.remaining)
    }

    /// Charges and releases one run with noise from the system's cryptographic generator
    /// (`getrandom(2)` on Linux).
    /// - Throws: as ``release(_:budget:using:)``.
    public func release(_ result: BoundedQueryResult, budget: inout PrivacyBudget) throws(EgressError) -> Release {
        var generator = SystemRandomNumberGenerator()
        return try release(result, budget: &budget, using: &generator)
    }

    /// Charges (step 1, with the result's partitions) then releases (step 2) one run.
    /// - Throws: as ``charge(_:partitions:budget:)`` (budget unchanged), then as
    ///   ``release(_:for:using:)`` (budget charged).
    public func release<R: CryptographicRandomNumberGenerator>(
        _ result: BoundedQueryResult, budget: inout PrivacyBudget, using generator: inout R
    ) throws(EgressError) -> Release {
        let run = try charge(result.aggregates, partitions: result.partitions, budget: &budget)
        return try release(result, for: run, using: &generator)
    }

    /// Step 2 of a run: releases the engine's result for a run already charged.
    ///
    /// - Parameters:
    ///   - result: the engine's exact, contribution-bounded result.
    ///   - run: the charge of this run, from ``charge(_:partitions:budget:)``.
    ///   - generator: a cryptographic generator (a seeded one only in tests).
    /// - Throws: ``Refusal/contractViolation(_:)`` if `result` breaks the engine contract or
    ///   does not belong to `run`; ``Refusal/parameterOverflow(_:)`` from a sampler. The charge
    ///   stands either way.
    public func release<R: CryptographicRandomNumberGenerator>(
        _ result: BoundedQueryResult, for run: ChargedRun, using generator: inout R
    ) throws(EgressError) -> Release {
        let cost = run.cost
        guard result.aggregates == cost.aggregateCharges.map(\.aggregate), result.partitions == cost.partitions else {
            throw EgressError(.contractViolation("the result is not of the query that was charged"))
        }
        try ContractCheck.validate(result)
        let groups = try Self.partitions(of: result)

        var rows: [ReleasedRow] = []
        for group in groups {
            var noisy = NoisyGroup(group: group, aggregates: result.aggregates, cost: cost)
            let distinctUnits = try noisy.value(of: .distinctUnits, using: &generator)
            // Declared keys are all released; the threshold is applied otherwise (for the whole
            // input, as post-processing of the noisy count).
            if !(cost.partitions.isDeclared) {
                guard distinctUnits >= policy.minGroupSize else { continue }
            }
            var values: [ReleasedValue] = []
            for aggregate in result.aggregates {
                switch aggregate.kind {
                case .countDistinctUnits:
                    values.append(.integer(cost.partitions.isDeclared ? max(0, distinctUnits) : distinctUnits))
                case let .countRows(maxRows):
                    let count = try noisy.value(of: .rowCount(maxRowsPerUnit: maxRows), using: &generator)
                    values.append(.integer(max(0, count)))
                case let .sum(column, bounds):
                    values.append(.integer(try noisy.value(of: .sum(column: column, bounds: bounds), using: &generator)))
                case let .average(column, bounds):
                    let sum = try noisy.value(of: .sum(column: column, bounds: bounds), using: &generator)
                    // A declared key's noisy count may be 0 or below: divide by at least 1.
                    values.append(.average(NoisyAverage(sum: sum, count: max(1, distinctUnits), clampedTo: bounds)))
                case let .quantile(column, bounds, fraction):
                    values.append(.integer(try noisy.quantile(column: column, bounds: bounds, fraction: fraction, using: &generator)))
                case let .variance(column, moments, standardDeviation):
                    let sum = try noisy.value(of: .centredSum(column: column, moments: moments), using: &generator)
                    let squares = try noisy.value(of: .centredSquares(column: column, moments: moments), using: &generator)
                    values.append(.variance(NoisyVariance(count: max(1, distinctUnits), centredSum: sum, centredSquares: squares,
                                                          moments: moments, standardDeviation: standardDeviation)))
                case let .histogram(column, edges):
                    let counts = try noisy.vector(of: .histogram(column: column, edges: edges), using: &generator)
                    values.append(.counts(counts.map { max(0, $0) }))
                }
            }
            rows.append(ReleasedRow(keys: group.keys, values: values))
        }
        rows.sort { $0.keys.lexicographicallyPrecedes($1.keys) }

        let suppressed: Int64
        switch cost.partitions {
        case .threshold:
            let groupNoise = try NoiseDraw.sample(cost.noise(for: .groupCount), using: &generator)
            let noisyGroupCount = NoiseDraw.add(groupNoise, to: Int64(result.groups.count))
            suppressed = max(0, noisyGroupCount - Int64(rows.count))
        case .declared, .whole:
            // The partitions are public: what was withheld follows from the noisy values alone.
            suppressed = Int64(groups.count - rows.count)
        }

        return Release(
            columns: result.aggregates.map(\.name),
            rows: rows,
            suppressedGroupCount: UInt64(suppressed),
            mechanism: cost.mechanism,
            epsilonCharged: cost.epsilon,
            deltaCharged: cost.delta,
            partitionSelectionDelta: cost.partitionSelectionDelta,
            budgetRemaining: run.budgetRemaining)
    }

    /// The groups to noise: the data's groups behind a threshold; every declared key (absent
    /// ones as empty groups, undeclared ones dropped); or the one partition of the whole input.
    private static func partitions(of result: BoundedQueryResult) throws(EgressError) -> [BoundedGroup] {
        let emptyDetails: [[Int64]] = result.aggregates.map { aggregate in
            switch aggregate.kind {
            case .variance: [0, 0]
            case let .histogram(_, edges): Array(repeating: 0, count: edges.count - 1)
            default: []
            }
        }
        let empty = { (keys: [String]) in
            BoundedGroup(keys: keys, distinctUnits: 0, totals: Array(repeating: 0, count: result.aggregates.count),
                         details: emptyDetails)
        }
        switch result.partitions {
        case .threshold:
            return result.groups
        case .whole:
            guard result.groups.count <= 1, result.groups.allSatisfy(\.keys.isEmpty) else {
                throw EgressError(.contractViolation("a query without GROUP BY must give at most one group, with no key"))
            }
            return [result.groups.first ?? empty([])]
        case .declared(let keys):
            var byKey: [[String]: BoundedGroup] = [:]
            for group in result.groups { byKey[group.keys] = group }
            return keys.map { byKey[$0] ?? empty($0) }
        }
    }
}

/// The charge of one run: proof that the budget paid for it, and what it paid. Made only by
/// ``EgressGate/charge(_:partitions:budget:)``; ``EgressGate/release(_:for:using:)`` needs one.
public struct ChargedRun: Sendable {
    /// The run's cost and noise plan.
    public let cost: QueryCost
    /// Epsilon left in the budget after the charge.
    public let budgetRemaining: Rational

    fileprivate init(cost: QueryCost, budgetRemaining: Rational) {
        self.cost = cost
        self.budgetRemaining = budgetRemaining
    }
}

/// One group's measurements, each noised (or, for a quantile, drawn) at most once however
/// many aggregates read it: reading a measurement twice is post-processing, drawing it twice
/// would spend twice what was charged.
private struct NoisyGroup {
    private var exact: [Measurement: Int64] = [:]
    private var noisy: [Measurement: Int64] = [:]
    private var exactVectors: [Measurement: [Int64]] = [:]
    private var noisyVectors: [Measurement: [Int64]] = [:]
    private let cost: QueryCost

    init(group: BoundedGroup, aggregates: [AggregateSpec], cost: QueryCost) {
        self.cost = cost
        exact[.distinctUnits] = group.distinctUnits
        for (index, (aggregate, total)) in zip(aggregates, group.totals).enumerated() {
            let detail = group.detail(index)
            switch aggregate.kind {
            case .countDistinctUnits: break
            case let .countRows(maxRows): exact[.rowCount(maxRowsPerUnit: maxRows)] = total
            case let .sum(column, bounds), let .average(column, bounds): exact[.sum(column: column, bounds: bounds)] = total
            case let .quantile(column, bounds, fraction):
                exactVectors[.quantile(column: column, bounds: bounds, fraction: fraction)] = detail
            case let .variance(column, moments, _):
                if detail.count == 2 {
                    exact[.centredSum(column: column, moments: moments)] = detail[0]
                    exact[.centredSquares(column: column, moments: moments)] = detail[1]
                }
            case let .histogram(column, edges): exactVectors[.histogram(column: column, edges: edges)] = detail
            }
        }
    }

    /// A vector measurement (a histogram), each coordinate with the measurement's noise.
    mutating func vector<R: CryptographicRandomNumberGenerator>(
        of measurement: Measurement, using generator: inout R
    ) throws(EgressError) -> [Int64] {
        if let known = noisyVectors[measurement] { return known }
        guard let totals = exactVectors[measurement] else {
            throw EgressError(.contractViolation("a measurement has no exact total"))
        }
        var values: [Int64] = []
        for total in totals {
            values.append(NoiseDraw.add(try NoiseDraw.sample(cost.noise(for: measurement), using: &generator), to: total))
        }
        noisyVectors[measurement] = values
        return values
    }

    /// A quantile, by the exponential mechanism over the units' values.
    mutating func quantile<R: CryptographicRandomNumberGenerator>(
        column: String, bounds: ContributionBounds, fraction: Rational, using generator: inout R
    ) throws(EgressError) -> Int64 {
        let measurement = Measurement.quantile(column: column, bounds: bounds, fraction: fraction)
        if let known = noisy[measurement] { return known }
        guard let values = exactVectors[measurement], case let .exponentialMechanism(epsilon)? = cost.noise(for: measurement) else {
            throw EgressError(.contractViolation("a quantile was not planned"))
        }
        guard !epsilon.isZero, fraction <= .one else { throw EgressError(.contractViolation("a quantile was planned without a mechanism")) }
        // The engine hands the values sorted; sorting again would cost O(n log n) per group.
        let sorted = zip(values, values.dropFirst()).allSatisfy { $0 <= $1 } ? values : values.sorted()
        let chosen = try ExponentialQuantileSampler.sample(
            sortedValues: sorted, candidates: QuantileCandidates(bounds: bounds), score: QuantileScore(fraction: fraction),
            epsilon: epsilon, using: &generator)
        noisy[measurement] = chosen
        return chosen
    }

    mutating func value<R: CryptographicRandomNumberGenerator>(
        of measurement: Measurement, using generator: inout R
    ) throws(EgressError) -> Int64 {
        if let known = noisy[measurement] { return known }
        guard let total = exact[measurement] else {
            throw EgressError(.contractViolation("a measurement has no exact total"))
        }
        let noise = try NoiseDraw.sample(cost.noise(for: measurement), using: &generator)
        let value = NoiseDraw.add(noise, to: total)
        noisy[measurement] = value
        return value
    }
}

/// Draws planned noise and adds it, saturating at the ends of `Int64` (clamping a noisy value is
/// post-processing, so it cannot fail a run after its charge).
enum NoiseDraw {
    static func sample<R: CryptographicRandomNumberGenerator>(
        _ distribution: NoiseDistribution?, using generator: inout R
    ) throws(EgressError) -> Int64 {
        switch distribution {
        case let .discreteLaplace(scale)?: return try ExactNoise.discreteLaplace(scale: scale, using: &generator)
        case let .discreteGaussian(variance)?: return try ExactNoise.discreteGaussian(variance: variance, using: &generator)
        case .exponentialMechanism?: throw EgressError(.contractViolation("a quantile is not additive noise"))
        case nil: throw EgressError(.contractViolation("a measurement was not planned"))
        }
    }

    static func add(_ noise: Int64, to total: Int64) -> Int64 {
        let (sum, overflowed) = total.addingReportingOverflow(noise)
        guard overflowed else { return sum }
        return noise < 0 ? .min : .max
    }
}
