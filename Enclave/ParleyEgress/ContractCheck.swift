import ParleyPrivacy
/// Checks of the query engine's contract that the gate can make from the result alone.
/// Refusals name the rule broken, never a value.
enum ContractCheck {
    static func validate(_ result: BoundedQueryResult) throws(EgressError) {
        var seenKeys = Set<[String]>()
        for group in result.groups {
            guard group.totals.count == result.aggregates.count else {
                throw EgressError(.contractViolation("a group has a different number of totals than the query has aggregates"))
            }
            guard group.distinctUnits >= (result.partitions.isPublic ? 0 : 1) else {
                throw EgressError(.contractViolation("a group has no privacy units"))
            }
            guard seenKeys.insert(group.keys).inserted else {
                throw EgressError(.contractViolation("two groups have the same keys"))
            }
            var sums: [Measurement: Int64] = [:]
            for (aggregate, total) in zip(result.aggregates, group.totals) {
                let units = Int128(group.distinctUnits)
                switch aggregate.kind {
                case .countDistinctUnits:
                    guard total == group.distinctUnits else {
                        throw EgressError(.contractViolation("COUNT(DISTINCT) of \(aggregate.name) differs from the group's unit count"))
                    }
                case let .countRows(maxRows):
                    guard total >= 0, Int128(total) <= units * Int128(maxRows) else {
                        throw EgressError(.contractViolation("\(aggregate.name) exceeds its per-unit row bound; clamping was not applied"))
                    }
                case let .sum(column, bounds), let .average(column, bounds):
                    guard Int128(total) >= units * Int128(bounds.lower), Int128(total) <= units * Int128(bounds.upper) else {
                        throw EgressError(.contractViolation("\(aggregate.name) lies outside its clamping bounds \(bounds); clamping was not applied"))
                    }
                    let measurement = Measurement.sum(column: column, bounds: bounds)
                    if let other = sums.updateValue(total, forKey: measurement), other != total {
                        throw EgressError(.contractViolation("SUM and AVG of \(column) disagree on the total"))
                    }
                case .quantile, .variance, .histogram:
                    guard total == 0 else {
                        throw EgressError(.contractViolation("\(aggregate.name) has a total; its values belong in the group's details"))
                    }
                }
            }
            if !group.details.isEmpty {
                guard group.details.count == result.aggregates.count else {
                    throw EgressError(.contractViolation("a group has a different number of details than the query has aggregates"))
                }
            }
            for (index, aggregate) in result.aggregates.enumerated() {
                try validateDetail(group.detail(index), of: aggregate, units: group.distinctUnits)
            }
        }
    }

    /// A quantile has one value per unit, within its bounds; a variance its two sums within
    /// what the bounds allow; a histogram one count per bin, together at most the units.
    private static func validateDetail(_ detail: [Int64], of aggregate: AggregateSpec, units: Int64) throws(EgressError) {
        let wideUnits = Int128(units)
        switch aggregate.kind {
        case let .quantile(_, bounds, _):
            guard detail.count == units, detail.allSatisfy({ $0 >= bounds.lower && $0 <= bounds.upper }) else {
                throw EgressError(.contractViolation("\(aggregate.name) needs one value per unit within \(bounds); clamping was not applied"))
            }
        case let .variance(_, moments, _):
            guard detail.count == 2,
                  Int128(detail[0].magnitude) <= wideUnits * Int128(moments.halfWidth),
                  detail[1] >= 0, Int128(detail[1]) <= wideUnits * Int128(moments.maxSquare) else {
                throw EgressError(.contractViolation("\(aggregate.name) needs its centred sum and sum of squares within its bounds"))
            }
        case let .histogram(_, edges):
            guard detail.count == edges.count - 1, detail.allSatisfy({ $0 >= 0 }),
                  Int128(detail.reduce(0, { $0 &+ $1 })) <= wideUnits else {
                throw EgressError(.contractViolation("\(aggregate.name) needs one count per bin, at most the group's units in all"))
            }
        default:
            guard detail.isEmpty else {
                throw EgressError(.contractViolation("\(aggregate.name) has details it does not use"))
            }
        }
    }
}
