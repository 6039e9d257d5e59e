import Foundation
import ParleyEgress
import ParleyPrivacy
import XCTest

/// Statistical tests of the exact samplers against their exact distributions.
///
/// Each test uses a fixed seed, so it is deterministic. Chi-square tests use significance 1e-4:
/// were the seed drawn afresh, a correct sampler would fail one such test about once in
/// 10,000 runs. The Bernoulli tests use |z| <= 4.42 (two-sided 1e-5).
final class SamplerDistributionTests: XCTestCase {
    private func draw(_ count: Int, seed: UInt64, _ sample: (inout SeededGenerator) throws -> Int64) rethrows -> [Int64] {
        var generator = SeededGenerator(seed: seed)
        var samples: [Int64] = []
        samples.reserveCapacity(count)
        for _ in 0..<count { samples.append(try sample(&generator)) }
        return samples
    }

    private func assertFits(_ test: ChiSquareTest, _ label: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertTrue(test.passes, "\(label): chi-square \(test.statistic) > \(test.criticalValue) (df \(test.degreesOfFreedom))", file: file, line: line)
        XCTAssertGreaterThanOrEqual(test.degreesOfFreedom, 3, "\(label): too few bins to be a meaningful test", file: file, line: line)
    }

    func testUniformIsUniform() throws {
        for (bound, seed) in [(UInt64(7), UInt64(1)), (UInt64(1000), UInt64(2))] {
            let samples = try draw(40_000, seed: seed) { Int64(try ExactNoise.uniform(below: bound, using: &$0)) }
            XCTAssertTrue(samples.allSatisfy { $0 >= 0 && $0 < Int64(bound) })
            let test = ChiSquareTest(samples: samples, pmf: { _ in 1 / Double(bound) }, range: 0...Int64(bound - 1))
            assertFits(test, "uniform below \(bound)")
        }
    }

    func testBernoulliExpMatchesExpMinusX() throws {
        let cases: [(numerator: UInt64, denominator: UInt64)] = [(1, 3), (1, 1), (5, 2), (7, 1), (123, 1000)]
        for (index, x) in cases.enumerated() {
            var generator = SeededGenerator(seed: 100 + UInt64(index))
            let exponent = try Rational(x.numerator, x.denominator)
            let trials = 40_000
            var successes = 0
            for _ in 0..<trials where try ExactNoise.bernoulliExp(exponent, using: &generator) { successes += 1 }
            let p = exp(-Double(x.numerator) / Double(x.denominator))
            let z = (Double(successes) - Double(trials) * p) / (Double(trials) * p * (1 - p)).squareRoot()
            XCTAssertLessThanOrEqual(abs(z), 4.42, "Bernoulli(exp(-\(exponent))): z = \(z)")
        }
        var generator = SeededGenerator(seed: 99)
        for _ in 0..<1000 { XCTAssertTrue(try ExactNoise.bernoulliExp(.zero, using: &generator)) }
    }

    func testDiscreteLaplaceMatchesPMF() throws {
        let scales: [(UInt64, UInt64)] = [(1, 1), (5, 2), (10, 1), (1, 2)]
        for (index, (t, s)) in scales.enumerated() {
            let scale = try Rational(t, s)
            let samples = try draw(40_000, seed: 200 + UInt64(index)) { try ExactNoise.discreteLaplace(scale: scale, using: &$0) }
            let width = Int64((scale.approximateDouble * 30).rounded(.up)) + 5
            let test = ChiSquareTest(samples: samples, pmf: ExactPMF.discreteLaplace(scale: scale.approximateDouble), range: -width...width)
            assertFits(test, "discrete Laplace scale \(scale)")
        }
    }

    func testDiscreteGaussianMatchesPMF() throws {
        let variances: [(UInt64, UInt64)] = [(1, 1), (3, 2), (25, 1), (1, 4)]
        for (index, (p, q)) in variances.enumerated() {
            let variance = try Rational(p, q)
            let samples = try draw(40_000, seed: 300 + UInt64(index)) { try ExactNoise.discreteGaussian(variance: variance, using: &$0) }
            let width = Int64((variance.approximateDouble.squareRoot() * 12).rounded(.up)) + 5
            let test = ChiSquareTest(samples: samples, pmf: ExactPMF.discreteGaussian(variance: variance.approximateDouble), range: -width...width)
            assertFits(test, "discrete Gaussian variance \(variance)")
        }
    }

    /// Power check: the same test rejects samples from a slightly different distribution, so a
    /// passing test above means something.
    func testChiSquareRejectsWrongScale() throws {
        let scale = Rational(2)
        let samples = try draw(40_000, seed: 400) { try ExactNoise.discreteLaplace(scale: scale, using: &$0) }
        let wrong = ChiSquareTest(samples: samples, pmf: ExactPMF.discreteLaplace(scale: 2.2), range: -70...70)
        XCTAssertFalse(wrong.passes, "chi-square failed to tell scale 2 from 2.2")
        let gaussian = try draw(40_000, seed: 401) { try ExactNoise.discreteGaussian(variance: Rational(4), using: &$0) }
        let wrongGaussian = ChiSquareTest(samples: gaussian, pmf: ExactPMF.discreteGaussian(variance: 4.4), range: -30...30)
        XCTAssertFalse(wrongGaussian.passes, "chi-square failed to tell variance 4 from 4.4")
    }

    func testSamplersRefuseDegenerateParameters() {
        var generator = SeededGenerator(seed: 5)
        XCTAssertThrowsError(try ExactNoise.discreteLaplace(scale: .zero, using: &generator)) {
            guard case .invalidNumber = ($0 as? EgressError)?.refusal else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try ExactNoise.discreteGaussian(variance: .zero, using: &generator))
        XCTAssertThrowsError(try ExactNoise.discreteGaussian(variance: Rational(UInt64.max), using: &generator)) {
            guard case .parameterOverflow = ($0 as? EgressError)?.refusal else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try ExactNoise.uniform(below: 0, using: &generator))
    }

    func testLargeParametersStayExact() throws {
        var generator = SeededGenerator(seed: 6)
        // A wide Gaussian near the accepted limit and a huge Laplace scale still sample.
        let variance = try Rational(UInt64(1) << 57, 3)
        for _ in 0..<50 { _ = try ExactNoise.discreteGaussian(variance: variance, using: &generator) }
        let scale = try Rational(UInt64.max, 7)
        for _ in 0..<50 { _ = try ExactNoise.discreteLaplace(scale: scale, using: &generator) }
    }
}
