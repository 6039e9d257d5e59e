import Foundation
import ParleyAttestation
import ParleyCore
import ParleyFuzzTargets
import XCTest

/// Every fuzz entry point survives its seeds, every truncation and bit flip of them, and random
/// bytes: the same inputs a short libFuzzer run starts from, replayed on every CI run.
final class FuzzTargetTests: XCTestCase {
    func testEveryTargetSurvivesMutatedSeedsAndRandomInput() throws {
        var rng = SystemRandomNumberGenerator()
        for target in FuzzTarget.allCases {
            let seeds = try FuzzSeeds.make(for: target)
            XCTAssertFalse(seeds.isEmpty, "\(target) has no seeds")
            for seed in seeds {
                target.run(seed)
                for cut in stride(from: 0, to: seed.count, by: max(1, seed.count / 64)) { target.run(Array(seed.prefix(cut))) }
                for _ in 0..<64 where !seed.isEmpty {
                    var m = seed
                    m[Int.random(in: 0..<m.count, using: &rng)] ^= UInt8(1 << Int.random(in: 0..<8, using: &rng))
                    target.run(m)
                }
            }
            for _ in 0..<256 {
                target.run((0..<Int.random(in: 0..<512, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) })
            }
        }
    }
}
