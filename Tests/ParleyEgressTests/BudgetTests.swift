import ParleyEgress
import ParleyPrivacy
import XCTest

final class BudgetTests: XCTestCase {
    func testExhaustionIsRefusedWithNumbers() throws {
        let policy = try Fixtures.policy(epsilon: "1.0", budget: "2.5")
        let cost = try QueryCost(aggregates: [Fixtures.distinct], policy: policy)
        var budget = PrivacyBudget(policy: policy)
        try budget.charge(cost)
        try budget.charge(cost)
        XCTAssertEqual(budget.remaining, try Rational(1, 2))
        XCTAssertThrowsError(try budget.charge(cost)) { error in
            guard let error = error as? EgressError else { return XCTFail("untyped error") }
            XCTAssertEqual(error.refusal, .budgetExceeded(remaining: try! Rational(1, 2), requested: .one))
            XCTAssertTrue(error.reason.contains("0.5"), error.reason)
            XCTAssertTrue(error.reason.contains("epsilon 1 "), error.reason)
        }
        XCTAssertEqual(budget.runs, 2, "a refused run must not be charged")
        XCTAssertEqual(budget.epsilonSpent, Rational(2))
        XCTAssertThrowsError(try budget.check(cost))
    }

    func testExactAccumulationAllowsExactlyTenTenths() throws {
        let policy = try Fixtures.policy(epsilon: "0.1", budget: "1.0", delta: "1e-9")
        let cost = try QueryCost(aggregates: [Fixtures.distinct], policy: policy)
        var budget = PrivacyBudget(policy: policy)
        for _ in 0..<10 { try budget.charge(cost) }
        XCTAssertEqual(budget.remaining, .zero)
        XCTAssertEqual(budget.deltaSpent, try Rational(decimal: "1e-8"))
        XCTAssertThrowsError(try budget.charge(cost)) {
            XCTAssertEqual(($0 as? EgressError)?.refusal, .budgetExceeded(remaining: .zero, requested: try! Rational(1, 10)))
        }
    }

    func testRestoreRefusesOverspentBudget() throws {
        XCTAssertThrowsError(try PrivacyBudget(total: .one, epsilonSpent: Rational(2), deltaSpent: .zero, runs: 2))
        let restored = try PrivacyBudget(total: Rational(3), epsilonSpent: .one, deltaSpent: .zero, runs: 1)
        XCTAssertEqual(restored.remaining, Rational(2))
    }
}
