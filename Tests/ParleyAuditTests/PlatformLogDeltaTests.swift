import Crypto
import Foundation
import ParleyAttestation
import ParleyAudit
import ParleyCore
import XCTest

/// Launch entries store TPM evidence's platform logs as changes from the previous launch's
/// (``PlatformLogState``); the replay rebuilds each evidence byte for byte or names what is missing.
final class PlatformLogDeltaTests: XCTestCase {
    /// Evidence-shaped CBOR: what matters here is the map with `boot_log` and `ima_log`.
    func evidence(boot: [UInt8], entries: Int, job: String = "job-1") -> [UInt8] {
        let ima = UnverifiedIMAList(entries: (0..<entries).map {
            IMAEntry.file(sequence: $0, path: "/usr/lib/x-\($0).so", algorithm: .sha256, digest: PCRBank.sha256.hash([UInt8($0 & 0xff), UInt8($0 >> 8)]))
        }).binary
        return CBOREncoder.encode(.textMap(["format": .text("parley/tpm-quote/2"), "job": .text(job), "attest": .bytes([1, 2, 3]),
                                            "boot_log": .bytes(boot), "ima_log": .bytes(ima)]))
    }

    func testLaterLaunchesCarryOnlyWhatChangedAndRebuildExactly() throws {
        let boot = [UInt8](repeating: 0xb0, count: 50_000)
        let all = [evidence(boot: boot, entries: 2_000), evidence(boot: boot, entries: 2_003, job: "job-2"),
                   evidence(boot: boot, entries: 2_010, job: "job-3")]
        var writer = PlatformLogState()
        var stored: [([UInt8], PlatformLogDelta)] = []
        for e in all {
            let (s, delta, next) = writer.compress(evidence: e)
            writer = next
            stored.append((s, try XCTUnwrap(delta)))
        }
        XCTAssertEqual(stored[0].1.bootLog, boot)
        XCTAssertEqual(stored[0].1.imaKept, 0)
        for (s, d) in stored.dropFirst() {
            XCTAssertNil(d.bootLog)
            XCTAssertGreaterThan(d.imaKept, 200_000)
            XCTAssertLessThan(d.imaAdded.count + s.count, 2_000)
        }
        // The entries' CBOR round-trips the delta.
        for (_, d) in stored { XCTAssertEqual(try PlatformLogDelta(cbor: d.cbor, context: "launch entry"), d) }
        var reader = PlatformLogState()
        for (i, (s, d)) in stored.enumerated() { XCTAssertEqual(try reader.expand(stored: s, delta: d), all[i]) }
    }

    func testARebootCarriesTheNewLogsWholeAndOtherEvidenceIsUnchanged() throws {
        var state = PlatformLogState()
        state = state.compress(evidence: evidence(boot: [1, 2, 3], entries: 10)).next
        let rebooted = evidence(boot: [4, 5, 6], entries: 3)
        let (_, delta, _) = state.compress(evidence: rebooted)
        XCTAssertEqual(delta?.bootLog, [4, 5, 6])
        XCTAssertEqual(delta?.imaKept, 0, "a new boot's list starts again")
        let software = CBOREncoder.encode(.array([.bytes([1]), .bytes([2])]))
        let (same, none, after) = state.compress(evidence: software)
        XCTAssertEqual(same, software)
        XCTAssertNil(none)
        XCTAssertEqual(after, state)
    }

    func testAReplayMissingTheEarlierLaunchNamesIt() throws {
        var writer = PlatformLogState()
        let first = writer.compress(evidence: evidence(boot: [9], entries: 5))
        writer = first.next
        let second = writer.compress(evidence: evidence(boot: [9], entries: 7))
        var fresh = PlatformLogState()
        XCTAssertThrowsError(try fresh.expand(stored: second.stored, delta: try XCTUnwrap(second.delta))) { error in
            XCTAssertTrue("\(error)".contains("boot log"), "\(error)")
        }
        // The right boot log but another IMA prefix: the kept bytes' digest does not match.
        var other = PlatformLogState()
        _ = try other.expand(stored: first.stored, delta: PlatformLogDelta(bootLog: [9], bootLogSHA256: nil, imaKept: 0, imaKeptSHA256: nil,
                                                                           imaAdded: evidenceIMA(entries: 6, salt: 1)))
        XCTAssertThrowsError(try other.expand(stored: second.stored, delta: try XCTUnwrap(second.delta))) { error in
            XCTAssertTrue("\(error)".contains("IMA list"), "\(error)")
        }
        XCTAssertThrowsError(try PlatformLogDelta(cbor: .textMap(["ima_kept": .unsigned(3), "ima_added": .bytes([])]), context: "launch entry"),
                             "neither a boot log nor its digest, and a kept prefix without its digest")
    }

    func evidenceIMA(entries: Int, salt: UInt8) -> [UInt8] {
        UnverifiedIMAList(entries: (0..<entries).map {
            IMAEntry.file(sequence: $0, path: "/other/\($0)", algorithm: .sha256, digest: PCRBank.sha256.hash([salt, UInt8($0)]))
        }).binary
    }

    func testALaunchRecordKeepsItsDelta() throws {
        let claims = LaunchClaims(job: "job-1", runtime: try .init(bytes: .init(repeating: 1, count: 48)), module: try .init(bytes: .init(repeating: 2, count: 48)),
                                  moduleSigner: try .init(bytes: .init(repeating: 3, count: 48)), debug: false, publicKey: .init(repeating: 4, count: 32),
                                  signingKey: Array(P256.Signing.PrivateKey().publicKey.derRepresentation))
        let (stored, delta, _) = PlatformLogState().compress(evidence: evidence(boot: [7], entries: 2))
        let record = try LogRecord(job: "job-1", timeMillis: 1, body: .launch(LaunchRecord(claims: claims, tier: .tpm, moduleBundle: [1], evidence: stored,
                                                                                        nonce: try Nonce(bytes: .init(repeating: 6, count: 32)), platform: delta)))
        XCTAssertEqual(try LogRecord(bytes: record.encoded), record)
    }
}
