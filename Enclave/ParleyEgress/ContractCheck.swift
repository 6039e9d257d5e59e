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
                }
            }
        }
    }
}
