import ParleyEgress
import ParleyPrivacy
import XCTest

final class PolicyTests: XCTestCase {
    private func policyRefusal(
        minGroupSize: Int = 10, epsilon: String = "1.0", budget: String = "10.0",
        delta: String? = nil, maxGroupsPerUnit: Int = 1
    ) -> Refusal? {
        do {
            _ = try PrivacyPolicy(minGroupSize: minGroupSize, epsilonPerQuery: epsilon, budgetEpsilon: budget,
                                  delta: delta, maxGroupsPerUnit: maxGroupsPerUnit)
            return nil
        } catch {
            return error.refusal
        }
    }

    func testValidPolicies() throws {
        let pure = try PrivacyPolicy(minGroupSize: 10, epsilonPerQuery: "1.0", budgetEpsilon: "10.0", maxGroupsPerUnit: 3)
        XCTAssertEqual(pure.mechanism, .discreteLaplace)
        XCTAssertEqual(pure.epsilonPerQuery, .one)
        XCTAssertEqual(pure.budgetEpsilon, Rational(10))
        XCTAssertEqual(pure.maxGroupsPerUnit, 3)
        let approximate = try PrivacyPolicy(minGroupSize: 2, epsilonPerQuery: "0.5", budgetEpsilon: "0.5",
                                            delta: "1e-9", maxGroupsPerUnit: 1)
        XCTAssertEqual(approximate.mechanism, .discreteGaussian)
        XCTAssertEqual(approximate.delta, try Rational(1, 1_000_000_000))
    }

    func testRefusesInvalidPolicies() {
        let invalid: [(String, Refusal?)] = [
            ("min_group_size 0", policyRefusal(minGroupSize: 0)),
            ("min_group_size 1 (below AWS Clean Rooms' floor of 2)", policyRefusal(minGroupSize: 1)),
            ("min_group_size -3", policyRefusal(minGroupSize: -3)),
            ("epsilon 0", policyRefusal(epsilon: "0.0")),
            ("budget below one query", policyRefusal(epsilon: "2", budget: "1.5")),
            ("delta 0", policyRefusal(delta: "0")),
            ("delta 1", policyRefusal(delta: "1.0")),
            ("delta 2", policyRefusal(delta: "2")),
            ("max_groups_per_unit 0", policyRefusal(maxGroupsPerUnit: 0)),
            ("max_groups_per_unit too large", policyRefusal(maxGroupsPerUnit: 1_000_001)),
        ]
        for (label, refusal) in invalid {
            guard case let .invalidPolicy(reason)? = refusal else {
                XCTFail("\(label): expected invalidPolicy, got \(String(describing: refusal))")
                continue
            }
            XCTAssertFalse(reason.isEmpty, label)
        }
        guard case .invalidNumber? = policyRefusal(epsilon: "-1") else { return XCTFail("negative epsilon parsed") }
        guard case .invalidNumber? = policyRefusal(delta: "abc") else { return XCTFail("bad delta parsed") }
    }

    func testReasonsNameTheField() {
        XCTAssertEqual(policyRefusal(minGroupSize: 0)?.reason.contains("min_group_size"), true)
        XCTAssertEqual(policyRefusal(minGroupSize: 1)?.reason.contains("at least 2"), true)
        XCTAssertEqual(policyRefusal(epsilon: "0")?.reason.contains("epsilon_per_query"), true)
        XCTAssertEqual(policyRefusal(maxGroupsPerUnit: 0)?.reason.contains("max_groups_per_unit"), true)
    }
}
