import ParleyEgress
import ParleyPrivacy

/// Small builders so tests read like use.
enum Fixtures {
    static func policy(
        minGroupSize: Int = 5, epsilon: String = "1.0", budget: String = "10.0",
        delta: String? = nil, maxGroupsPerUnit: Int = 1
    ) throws -> PrivacyPolicy {
        try PrivacyPolicy(minGroupSize: minGroupSize, epsilonPerQuery: epsilon, budgetEpsilon: budget,
                          delta: delta, maxGroupsPerUnit: maxGroupsPerUnit)
    }

    static func sum(_ column: String, _ lower: Int64, _ upper: Int64, name: String? = nil) throws -> AggregateSpec {
        AggregateSpec(name: name ?? "sum_\(column)", kind: .sum(column: column, bounds: try ContributionBounds(lower: lower, upper: upper)))
    }

    static func average(_ column: String, _ lower: Int64, _ upper: Int64, name: String? = nil) throws -> AggregateSpec {
        AggregateSpec(name: name ?? "avg_\(column)", kind: .average(column: column, bounds: try ContributionBounds(lower: lower, upper: upper)))
    }

    static let distinct = AggregateSpec(name: "units", kind: .countDistinctUnits)
    static let rows = AggregateSpec(name: "rows", kind: .countRows)
}
