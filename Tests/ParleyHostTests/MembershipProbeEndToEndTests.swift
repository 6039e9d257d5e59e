import Foundation
import ParleyAttestation
import ParleyCore
import ParleyHost
import ParleyModule
import ParleyParty
import XCTest

/// The membership probe of issue #13 through the real host and worker processes: bank A (the
/// receiver) uploads only the target and runs a query without GROUP BY against bank B's list.
/// With or without the target in B's list, every run is a signed result (never a refusal), at
/// the same charge, with the same accounting; only the noisy value may differ.
final class MembershipProbeEndToEndTests: HostFixture {
    static let target = "acme-holdings-7f3a"
    static let module = """
    name = "bank-probe"
    version = "1"

    [parties.bank_a]
    public_key = "brand.pub"

    [parties.bank_b]
    public_key = "retailer.pub"

    [datasets.flags_a]
    provider = "bank_a"
    privacy_unit = "counterparty"
    columns = { counterparty = "text", sector = "text" }

    [datasets.flags_b]
    provider = "bank_b"
    privacy_unit = "counterparty"
    columns = { counterparty = "text", reason = "text" }

    [policy]
    min_group_size = 10
    epsilon_per_query = 1.0
    budget_epsilon = 4.0
    max_groups_per_unit = 1

    [queries.on_both_lists]
    receivers = ["bank_a"]
    sql = "SELECT COUNT(DISTINCT a.counterparty) AS flagged_by_both FROM flags_a a JOIN flags_b b ON a.counterparty = b.counterparty"
    """

    struct Observation: Equatable {
        var refused: Bool
        var epsilon: String
        var budgetLeft: String
        var accountedPartitions: UInt64
    }

    func probe(bHasTarget: Bool, runs: Int) async throws -> [Observation] {
        try Self.module.write(toFile: dir + "/bank-probe.toml", atomically: true, encoding: .utf8)
        let sealed = try SealedModule.seal(try ModuleDefinition.load(source: dir + "/bank-probe.toml",
                                                                     author: Array(author.signing.publicKey.derRepresentation)), key: author)
        bundle = sealed.bytes
        var list = "counterparty,reason\n"
        for i in 0..<50 { list += "other-\(i),sanctions\n" }
        if bHasTarget { list += "\(Self.target),sanctions\n" }
        FileManager.default.createFile(atPath: dir + "/b.csv", contents: Data(list.utf8))
        FileManager.default.createFile(atPath: dir + "/a.csv", contents: Data("counterparty,sector\n\(Self.target),energy\n".utf8))

        let host = try await host()
        let job = try await host.launch(bundle: bundle)
        let attested = try await attest(host, job: job.id, policy: try softwarePolicy(host))
        guard case .accepted = try await upload(host, job: job.id, dataset: "flags_a", file: "a.csv", key: brand, worker: attested.claims),
              case .accepted = try await upload(host, job: job.id, dataset: "flags_b", file: "b.csv", key: retailer, worker: attested.claims) else {
            throw ParleyError(.internal, "uploads failed")
        }
        var out: [Observation] = []
        for _ in 0..<runs {
            let request = try PartyClient.queryRequest(job: job.id, query: "on_both_lists", receiver: "bank_a", key: brand)
            switch try await host.query(job: job.id, query: "on_both_lists", receiver: "bank_a", nonce: request.nonce, signature: request.signature) {
            case .refused(let reason, _):
                out.append(Observation(refused: true, epsilon: reason, budgetLeft: "", accountedPartitions: 0))
            case .accepted(let sealedResult):
                let result = try PartyClient.openResult(sealedResult, key: brand, worker: attested.claims, query: "on_both_lists", request: request)
                out.append(Observation(refused: false, epsilon: result.epsilonCharged, budgetLeft: result.budgetLeft,
                                       accountedPartitions: result.suppressedGroups + UInt64(result.rows.count)))
            }
        }
        // Past the budget, both cases are refused alike (before the charge, reading no data).
        let request = try PartyClient.queryRequest(job: job.id, query: "on_both_lists", receiver: "bank_a", key: brand)
        guard case .refused(let reason, _) = try await host.query(job: job.id, query: "on_both_lists", receiver: "bank_a",
                                                            nonce: request.nonce, signature: request.signature) else {
            throw ParleyError(.internal, "a run past the budget was answered")
        }
        XCTAssertTrue(reason.contains("budget"), reason)
        return out
    }

    func testProbeGivesTheSameKindOfOutcomeAndChargeWithAndWithoutTheTarget() async throws {
        let without = try await probe(bHasTarget: false, runs: 4)
        let with = try await probe(bHasTarget: true, runs: 4)
        let expected = ["3", "2", "1", "0"].map { Observation(refused: false, epsilon: "1", budgetLeft: $0, accountedPartitions: 1) }
        XCTAssertEqual(without, expected, "target absent")
        XCTAssertEqual(with, expected, "target present")
    }
}
