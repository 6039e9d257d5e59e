import Foundation

/// What one run of a query costs under a policy, and the noise it will get: the pure function
/// behind `parley query cost` and the plan the gate follows.
///
/// **Accounting.** A run is charged exactly `epsilon_per_query` (and, with a Gaussian policy,
/// `delta`), whatever it asks. That loss is split in equal shares over the run's distinct
/// measurements: the distinct-unit count per group (always: it decides `min_group_size`), the
/// number of groups (always: it gives the suppressed count), and one per distinct `COUNT(*)`,
/// `SUM`, quantile, centred sum, centred sum of squares or histogram the aggregates need. `AVG`
/// needs its `SUM` and the distinct-unit count, so it is charged for both; `VAR_POP` and
/// `STDDEV_POP` need the count and both centred sums. Laplace: each share is `epsilon / n`.
/// Gaussian: `epsilon` and `delta` give a zCDP rho, and each share is `rho / n` (zCDP composes
/// by addition). A quantile is not additive noise: its share sets the exponential
/// mechanism's epsilon per group (``NoiseDistribution/exponentialMechanism(epsilon:)``).
///
/// **Partition selection.** Groups come from the data, so whether a group appears at all
/// depends on it. A unit alone in a group makes it releasable with probability at most
/// `P(noise >= min_group_size - 1)`, in at most `max_groups_per_unit` groups. That adds
/// ``partitionSelectionDelta`` to the run's delta, also for a Laplace policy. Public partitions
/// (declared keys, or no `GROUP BY`: see ``PartitionSelection``) add none, and need no
/// group-count measurement.
public struct QueryCost: Hashable, Sendable {
    /// How the run's groups are chosen.
    public let partitions: PartitionSelection
    /// The noise family.
    public let mechanism: NoiseMechanism
    /// Epsilon charged to the budget: `epsilon_per_query`, exactly.
    public let epsilon: Rational
    /// Delta of the Gaussian noise: the policy's `delta`, or zero for a Laplace policy.
    public let delta: Rational
    /// Upper bound on the extra delta from releasing only groups that pass the threshold
    /// (0 for public partitions).
    public let partitionSelectionDelta: Double
    /// The zCDP parameter of the whole run, for a Gaussian policy.
    public let zeroConcentratedRho: Double?
    /// The measurements, each with its sensitivity, share and noise.
    public let measurements: [MeasurementCharge]
    /// For each aggregate of the query, in order, the measurements it is charged for.
    public let aggregateCharges: [AggregateCharge]

    /// Computes the cost and noise plan of one run.
    /// - Parameters:
    ///   - aggregates: the query's aggregate columns, in output order.
    ///   - policy: the module's privacy policy.
    ///   - partitions: how groups are chosen (default: behind the noisy threshold).
    /// - Throws: ``Refusal/invalidQuery(_:)`` for an empty aggregate list or an aggregate whose
    ///   bounds make it constant; ``Refusal/parameterOverflow(_:)`` when a sensitivity or noise
    ///   parameter does not fit exact arithmetic.
    public init(aggregates: [AggregateSpec], policy: PrivacyPolicy,
                partitions: PartitionSelection = .threshold) throws(EgressError) {
        guard !aggregates.isEmpty else {
            throw EgressError(.invalidQuery("a query must have at least one aggregate"))
        }
        if case .declared(let keys) = partitions {
            guard !keys.isEmpty else { throw EgressError(.invalidQuery("a declared key list must not be empty")) }
            guard Set(keys).count == keys.count else { throw EgressError(.invalidQuery("declared keys must be distinct")) }
        }
        var planned: [Measurement] = partitions.isPublic ? [.distinctUnits] : [.distinctUnits, .groupCount]
        for aggregate in aggregates {
            for measurement in aggregate.measurements where !planned.contains(measurement) {
                planned.append(measurement)
            }
        }
        let shares = UInt64(planned.count)
        let share = Rational(reducing: 1, shares)
        var rho: Double?
        if let delta = policy.delta {
            rho = NoiseCalibration.zeroConcentratedRho(epsilon: policy.epsilonPerQuery, delta: delta)
        }
        var charges: [MeasurementCharge] = []
        for measurement in planned {
            let sensitivity = try measurement.sensitivity(maxGroupsPerUnit: policy.maxGroupsPerUnit)
            guard sensitivity.l1 > 0 else {
                throw EgressError(.invalidQuery("\(measurement) is constant (zero bounds); remove it"))
            }
            let noise: NoiseDistribution
            if case .quantile = measurement {
                // Not additive noise: each group's draw gets an epsilon of its own, and a unit
                // is in at most max_groups_per_unit groups.
                if let rho {
                    noise = .exponentialMechanism(epsilon: try NoiseCalibration.exponentialEpsilon(
                        rho: rho, shares: shares, groups: policy.maxGroupsPerUnit))
                } else {
                    noise = .exponentialMechanism(epsilon: try policy.epsilonPerQuery.divided(by: shares).divided(by: policy.maxGroupsPerUnit))
                }
            } else if let rho {
                let variance = try NoiseCalibration.gaussianVariance(
                    l2Squared: sensitivity.l2Squared, rho: rho, shares: shares)
                _ = try DiscreteGaussianParameters(variance: variance)
                noise = .discreteGaussian(variance: variance)
            } else {
                noise = .discreteLaplace(scale: try NoiseCalibration.laplaceScale(
                    l1: sensitivity.l1, epsilon: policy.epsilonPerQuery, shares: shares))
            }
            charges.append(MeasurementCharge(measurement: measurement, sensitivity: sensitivity, share: share, noise: noise))
        }
        mechanism = policy.mechanism
        epsilon = policy.epsilonPerQuery
        delta = policy.delta ?? .zero
        zeroConcentratedRho = rho
        measurements = charges
        aggregateCharges = aggregates.map { AggregateCharge(aggregate: $0, measurements: $0.measurements) }
        self.partitions = partitions
        if partitions.isPublic {
            partitionSelectionDelta = 0
        } else {
            let countTail = NoiseCalibration.upperTailBound(of: charges[0].noise, atLeast: policy.minGroupSize - 1)
            partitionSelectionDelta = min(1, Double(policy.maxGroupsPerUnit) * countTail)
        }
    }

    /// The noise planned for `measurement`, if this run measures it.
    public func noise(for measurement: Measurement) -> NoiseDistribution? {
        measurements.first { $0.measurement == measurement }?.noise
    }
}

/// One measurement's part of a run's cost.
public struct MeasurementCharge: Hashable, Sendable {
    /// What is measured.
    public let measurement: Measurement
    /// Its sensitivity to one privacy unit.
    public let sensitivity: Sensitivity
    /// Its fraction of the run's privacy loss (`1 / number of measurements`).
    public let share: Rational
    /// The noise it gets.
    public let noise: NoiseDistribution
}

/// Which measurements one aggregate column is charged for.
public struct AggregateCharge: Hashable, Sendable {
    /// The aggregate column.
    public let aggregate: AggregateSpec
    /// The measurements it is computed from (two for `AVG`).
    public let measurements: [Measurement]
}

extension QueryCost {
    /// What `module inspect` flags as weak in this run's guarantee, as sentences a reviewer can
    /// act on (empty when nothing is): a `min_group_size` threshold under
    /// ``PrivacyPolicy/weakGroupSizeBelow`` where a threshold applies, and a partition-selection
    /// delta above ``PrivacyPolicy/weakPartitionSelectionDeltaAbove``.
    public func weaknesses(under policy: PrivacyPolicy) -> [String] {
        var out: [String] = []
        if !partitions.isDeclared, policy.minGroupSize < Int64(PrivacyPolicy.weakGroupSizeBelow) {
            out.append("min_group_size \(policy.minGroupSize) is below \(PrivacyPolicy.weakGroupSizeBelow): "
                       + "groups this small are released with little protection; raise it")
        }
        if partitionSelectionDelta > PrivacyPolicy.weakPartitionSelectionDeltaAbove {
            out.append("partition-selection delta \(String(format: "%.2g", partitionSelectionDelta)) is above "
                       + "\(PrivacyPolicy.weakPartitionSelectionDeltaAbove): whether a person's group exists is poorly hidden; "
                       + "declare the group keys (group_keys), or raise min_group_size or epsilon_per_query")
        }
        return out
    }
}
