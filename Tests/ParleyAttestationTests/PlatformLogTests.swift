import Foundation
import ParleyAttestation
import ParleyCore
import ParleyTestSupport
import XCTest

/// The two platform log parsers and their replay, on real logs (../shared/fixtures/tpm, with
/// PROVENANCE.md), cross-checked against tpm2-tools' `tpm2_eventlog`.
final class PlatformLogTests: XCTestCase {
    static let bootLogs = ["keylime-binary_bios_measurements", "keylime-binary_bios_measurements-secureboot",
                           "go-attestation-crypto_agile_eventlog", "go-attestation-sb_cert_eventlog"]

    func fixture(_ name: String) throws -> [UInt8] { try FileIO.read(TestPlatform.fixture(name)) }

    /// The final PCR values `tpm2_eventlog` prints: bank -> index -> value.
    func tpm2EventlogPCRs(_ path: String) throws -> [String: [Int: [UInt8]]] {
        let (status, output) = try runTool(try findExecutable("tpm2_eventlog"), [path])
        XCTAssertEqual(status, 0, "tpm2_eventlog \(path)")
        var result: [String: [Int: [UInt8]]] = [:], bank: String?, inPCRs = false
        for line in output.split(separator: "\n") {
            if line == "pcrs:" { inPCRs = true; continue }
            guard inPCRs else { continue }
            let t = line.trimmingCharacters(in: .whitespaces)
            if t.hasSuffix(":"), !t.contains(" ") { bank = String(t.dropLast()); continue }
            let parts = t.split(separator: ":").map { $0.trimmingCharacters(in: .whitespaces) }
            if parts.count == 2, let i = Int(parts[0]), let bank, parts[1].hasPrefix("0x") {
                result[bank, default: [:]][i] = try Hex.decode(parts[1].dropFirst(2))
            }
        }
        return result
    }

    func testRealBootLogsReplayToTheValuesTPM2EventlogComputes() throws {
        for name in Self.bootLogs {
            let path = TestPlatform.fixture("boot/" + name)
            let log = try UnverifiedBootLog(bytes: try FileIO.read(path))
            let expected = try tpm2EventlogPCRs(path)
            XCTAssertFalse(expected.isEmpty, name)
            XCTAssertEqual(Set(expected.keys), Set(log.banks.map(\.rawValue)), name)
            for bank in log.banks {
                var ours = try XCTUnwrap(log.replayedValues(bank: bank), name)
                if log.startupLocality != nil {
                    // tpm2-tools 5.4 extends the StartupLocality EV_NO_ACTION event's zero digest into
                    // PCR 0 from zero instead of starting PCR 0 at the locality (TCG PC Client PFP
                    // 10.4.5.3; go-attestation and Keylime follow the spec, as Parley does). Show
                    // that this is the only difference: reproduce its PCR 0 from the same events.
                    var pcr0 = [UInt8](repeating: 0, count: bank.digestSize)
                    for e in log.events where e.pcr == 0 { pcr0 = bank.extend(pcr0, with: try XCTUnwrap(e.digests[bank])) }
                    XCTAssertNotEqual(ours[0], pcr0, "\(name): the locality start value matters")
                    XCTAssertEqual(expected[bank.rawValue]?[0], pcr0, "\(name) \(bank): tpm2_eventlog's PCR 0")
                    ours[0] = pcr0
                }
                XCTAssertEqual(ours, expected[bank.rawValue], "\(name) \(bank)")
            }
            XCTAssertEqual(log.encoded, try FileIO.read(path), "\(name) re-encodes byte for byte")
        }
    }

    func testStartupLocalityQuirkSetsPCR0sStartValue() throws {
        let log = try UnverifiedBootLog(bytes: try fixture("boot/keylime-binary_bios_measurements"))
        XCTAssertEqual(log.startupLocality, 3)
        XCTAssertEqual(log.initialValue(pcr: 0, bank: .sha256), [UInt8](repeating: 0, count: 31) + [3])
        XCTAssertEqual(log.initialValue(pcr: 1, bank: .sha256), [UInt8](repeating: 0, count: 32))
        // The locality event is EV_NO_ACTION: kept, never extended.
        XCTAssertEqual(log.events.first?.typeName, "EV_NO_ACTION")
        XCTAssertEqual(log.events.first?.isExtended, false)
        let agile = try UnverifiedBootLog(bytes: try fixture("boot/go-attestation-crypto_agile_eventlog"))
        XCTAssertNil(agile.startupLocality)
    }

    /// A 49-byte log that is one SHA-1-format EV_NO_ACTION StartupLocality record (tpm2_eventlog
    /// crashes on it, so no cross-check): parsed as a legacy SHA-1 log, nothing extended.
    func testShortNoActionLogParsesAndExtendsNothing() throws {
        let bytes = try fixture("boot/go-attestation-short_no_action_eventlog")
        let log = try UnverifiedBootLog(bytes: bytes)
        XCTAssertEqual(log.banks, [.sha1])
        XCTAssertEqual(log.events.count, 1)
        XCTAssertEqual(log.events.first?.isExtended, false)
        XCTAssertEqual(log.startupLocality, 3)
        XCTAssertEqual(try XCTUnwrap(log.replayedValues(bank: .sha1)), [0: [UInt8](repeating: 0, count: 19) + [3]])
        XCTAssertNil(log.replayedValues(bank: .sha256), "a SHA-1 log cannot be replayed against the SHA-256 bank")
        guard case .failure(let f) = BootLogReplay.replay(log, quoted: [:]) else { return XCTFail("no SHA-256 digests") }
        XCTAssertEqual(f.failures, [.bootBankMissing(.sha256)])
        XCTAssertEqual(log.encoded, bytes)
    }

    func testRefusesGarbageAndCapsSizesAndCounts() throws {
        XCTAssertThrowsError(try UnverifiedBootLog(bytes: try fixture("boot/keylime-binary_bios_measurements-bogus"))) { e in
            XCTAssertNotNil(e as? ParleyError)
        }
        let real = try fixture("boot/go-attestation-crypto_agile_eventlog")
        for cut in stride(from: 1, to: real.count, by: 97) {
            XCTAssertThrowsError(try UnverifiedBootLog(bytes: Array(real.prefix(cut)))) { e in
                XCTAssertNotNil(e as? ParleyError, "cut at \(cut)")
            }
        }
        XCTAssertThrowsError(try UnverifiedBootLog(bytes: [UInt8](repeating: 0, count: UnverifiedBootLog.Limits.maxBytes + 1))) { e in
            XCTAssertEqual((e as? ParleyError)?.code, .limitExceeded)
        }
        let log = try UnverifiedBootLog(bytes: real)
        let big = BootEvent(sequence: 1, pcr: 1, type: 1, digests: [.sha256: .init(repeating: 0, count: 32)],
                            data: .init(repeating: 0, count: UnverifiedBootLog.Limits.maxEventBytes + 1))
        XCTAssertThrowsError(try UnverifiedBootLog(bytes: UnverifiedBootLog(header: log.header, banks: log.banks, events: [big]).encoded)) { e in
            XCTAssertEqual((e as? ParleyError)?.code, .limitExceeded)
        }
        let tiny = BootEvent(sequence: 1, pcr: 1, type: 1, digests: [.sha256: .init(repeating: 0, count: 32)], data: [])
        let many = UnverifiedBootLog(header: log.header, banks: log.banks, events: .init(repeating: tiny, count: UnverifiedBootLog.Limits.maxEvents + 1))
        XCTAssertThrowsError(try UnverifiedBootLog(bytes: many.encoded)) { e in
            XCTAssertEqual((e as? ParleyError)?.code, .limitExceeded)
        }
    }

    func testUnknownEventTypesAreKeptAndOnlyTheirDigestsCount() throws {
        let log = try UnverifiedBootLog(bytes: try fixture("boot/go-attestation-crypto_agile_eventlog"))
        let odd = BootEvent(sequence: log.events.count + 1, pcr: 5, type: 0x1234_5678, digests: [.sha256: PCRBank.sha256.hash([9])], data: Array("anything".utf8))
        let parsed = try UnverifiedBootLog(bytes: UnverifiedBootLog(header: log.header, banks: log.banks, events: log.events + [odd]).encoded)
        XCTAssertEqual(parsed.events.last?.typeName, "0x12345678")
        let before = try XCTUnwrap(log.replayedValues(bank: .sha256)), after = try XCTUnwrap(parsed.replayedValues(bank: .sha256))
        XCTAssertEqual(after[5], PCRBank.sha256.extend(try XCTUnwrap(before[5]), with: PCRBank.sha256.hash([9])))
    }

    /// A replay failure names the PCR and the events extended into it.
    func testReplayMismatchNamesThePCRAndItsEvents() throws {
        let log = try UnverifiedBootLog(bytes: try fixture("boot/go-attestation-crypto_agile_eventlog"))
        let good = try XCTUnwrap(log.replayedValues(bank: .sha256))
        var quoted = Dictionary(uniqueKeysWithValues: bootPCRIndices.map { ($0, good[$0] ?? log.initialValue(pcr: $0, bank: .sha256)) })
        guard case .success = BootLogReplay.replay(log, quoted: quoted) else { return XCTFail("the log must replay to its own values") }
        quoted[4] = .init(repeating: 1, count: 32)
        let events4 = log.events.filter { $0.pcr == 4 && $0.isExtended }.map(\.sequence)
        XCTAssertFalse(events4.isEmpty)
        guard case .failure(let f) = BootLogReplay.replay(log, quoted: quoted) else { return XCTFail("PCR 4 changed") }
        XCTAssertEqual(f.failures, [.bootPCRMismatch(pcr: 4, events: events4)])
        XCTAssertTrue(f.failures[0].description.contains("PCR 4"))
        quoted[4] = nil
        guard case .failure(let g) = BootLogReplay.replay(log, quoted: quoted) else { return XCTFail("PCR 4 missing") }
        XCTAssertEqual(g.failures, [.pcrNotQuoted(4)])
    }

    /// The ASCII IMA samples: template hashes recomputed from the fields and compared.
    func testIMATemplateHashesRecomputeAndBinaryRoundTrips() throws {
        for name in ["keylime-ima-log-sha1", "keylime-ima-log-sha256", "keylime-ima-log-sha384"] {
            let list = try UnverifiedIMAList(ascii: try FileIO.readText(TestPlatform.fixture("ima/" + name)))
            XCTAssertEqual(list.entries.count, 2, name)
            for e in list.entries where !e.isViolation {
                XCTAssertEqual(PCRBank.sha1.hash(e.templateData), e.templateDigest, "\(name) entry \(e.sequence)")
            }
            guard case .file(let path, let alg, _, nil) = list.entries[1].content else { return XCTFail("\(name): not a file entry") }
            XCTAssertEqual(path, "/data")
            XCTAssertEqual(alg, String(name.split(separator: "-").last ?? ""))
            XCTAssertEqual(try UnverifiedIMAList(binary: list.binary), list, "\(name): binary round trip")
            // A changed field no longer matches its stated template hash.
            var data = list.entries[1].templateData
            data[data.count - 2] ^= 1
            let bad = IMAEntry(sequence: 1, pcr: 10, templateDigest: list.entries[1].templateDigest, templateName: "ima-ng", templateData: data)
            guard case .failure(let f) = IMAReplay.replay(UnverifiedIMAList(entries: [list.entries[0], bad]), quoted: [10: .init(repeating: 0, count: 32)]) else {
                return XCTFail("a changed template must be refused")
            }
            XCTAssertEqual(f.failures, [.imaTemplateDigestMismatch(entry: 1)])
        }
    }

    func testIMAReplayFindsTheQuotedPrefixAndViolationsExtendFF() throws {
        let entries = (0..<5).map { IMAEntry.file(sequence: $0, path: "/bin/x\($0)", algorithm: .sha256, digest: PCRBank.sha256.hash([UInt8($0)])) }
        let violation = IMAEntry(sequence: 5, pcr: 10, templateDigest: .init(repeating: 0, count: 20), templateName: "ima-ng", templateData: entries[0].templateData)
        let list = UnverifiedIMAList(entries: entries + [violation])
        var pcr = [UInt8](repeating: 0, count: 32)
        for e in entries.prefix(3) { pcr = PCRBank.sha256.extend(pcr, with: PCRBank.sha256.hash(e.templateData)) }
        guard case .success(let r) = IMAReplay.replay(list, quoted: [10: pcr]) else { return XCTFail("a prefix replays") }
        XCTAssertEqual(r.entries.count, 3)
        XCTAssertEqual(r.unquotedCount, 3)
        for e in entries.dropFirst(3) { pcr = PCRBank.sha256.extend(pcr, with: PCRBank.sha256.hash(e.templateData)) }
        pcr = PCRBank.sha256.extend(pcr, with: .init(repeating: 0xff, count: 32))
        guard case .success(let all) = IMAReplay.replay(list, quoted: [10: pcr]) else { return XCTFail("the whole list replays") }
        XCTAssertEqual(all.entries.count, 6)
        guard case .failure(let f) = IMAReplay.replay(list, quoted: [10: .init(repeating: 7, count: 32)]) else { return XCTFail("no prefix matches") }
        XCTAssertEqual(f.failures, [.imaPCRMismatch(entries: 6)])
        let other = IMAEntry(sequence: 0, pcr: 11, templateDigest: entries[0].templateDigest, templateName: "ima-ng", templateData: entries[0].templateData)
        guard case .failure(let g) = IMAReplay.replay(UnverifiedIMAList(entries: [other]), quoted: [10: pcr]) else { return XCTFail("PCR 11 entry") }
        XCTAssertEqual(g.failures, [.imaEntryOutsidePCR10(entry: 0, pcr: 11)])
    }

    func testIMAParserCapsAndRefusals() throws {
        let one = IMAEntry.file(path: "/bin/sh", algorithm: .sha256, digest: .init(repeating: 1, count: 32)).binary
        for cut in 1..<one.count {
            XCTAssertThrowsError(try UnverifiedIMAList(binary: Array(one.prefix(cut))), "cut at \(cut)")
        }
        var legacy = one
        legacy.replaceSubrange(28..<34, with: Array("ima".utf8))
        legacy.replaceSubrange(24..<28, with: [3, 0, 0, 0])
        XCTAssertThrowsError(try UnverifiedIMAList(binary: legacy)) { e in
            XCTAssertTrue(((e as? ParleyError)?.reason ?? "").contains("legacy"), "\(e)")
        }
        var huge = one
        huge.replaceSubrange(34..<38, with: [0, 0, 2, 0]) // 128 KiB of template data declared
        XCTAssertThrowsError(try UnverifiedIMAList(binary: huge)) { e in XCTAssertEqual((e as? ParleyError)?.code, .limitExceeded) }
        XCTAssertThrowsError(try UnverifiedIMAList(binary: [UInt8](repeating: 0, count: UnverifiedIMAList.Limits.maxBytes + 1))) { e in
            XCTAssertEqual((e as? ParleyError)?.code, .limitExceeded)
        }
        let sig = IMAEntry.file(path: "/usr/bin/env", algorithm: .sha1, digest: .init(repeating: 2, count: 20), signature: [1, 2, 3])
        XCTAssertEqual(try UnverifiedIMAList(binary: sig.binary).entries.first?.content,
                       .file(path: "/usr/bin/env", algorithm: "sha1", digest: .init(repeating: 2, count: 20), signature: [1, 2, 3]))
    }

    func testKeylimeRuntimePoliciesParse() throws {
        let a = try RuntimePolicy(json: try fixture("ima/keylime-runtime-policy-sha256.json"))
        XCTAssertEqual(a.digests["/base_policy_data"], ["35f6036dcbb4d819a90cc3282659754ab1a225e60f593a209c27b80174ba3180"])
        let b = try RuntimePolicy(json: try fixture("ima/keylime-runtime-policy-test.json"))
        XCTAssertEqual(b.digests["boot_aggregate"], ["4309217e9709def327c3409407f4d52907aeba46ef1b4f46529fd095f2ef9fb2"], "the sha256: prefix is read past")
        XCTAssertThrowsError(try RuntimePolicy(json: Array(#"{"digests": {}, "surprise": 1}"#.utf8))) { e in
            XCTAssertTrue(((e as? ParleyError)?.reason ?? "").contains("surprise"))
        }
        XCTAssertThrowsError(try RuntimePolicy(json: Array(#"{"digests": {"/x": ["zz"]}}"#.utf8)))
        let ex = try RuntimePolicy(json: Array(#"{"digests": {}, "excludes": ["/tmp/.*", "boot_aggregate"]}"#.utf8))
        XCTAssertTrue(ex.isExcluded("/tmp/a"))
        XCTAssertFalse(ex.isExcluded("/var/tmp/a"), "excludes are anchored at the start, as Keylime's re.match")
        XCTAssertEqual(try RuntimePolicy(json: ex.keylimeJSON(generatedAt: Date())).excludePatterns, ex.excludePatterns)
    }

    /// Each refusal of a runtime policy says what is wrong (a path, never a digest).
    func testKeylimeRuntimePolicyRefusals() {
        func reason(_ json: String) -> String {
            do { _ = try RuntimePolicy(json: Array(json.utf8)); return "accepted" } catch { return (error as? ParleyError)?.reason ?? "\(error)" }
        }
        XCTAssertEqual(reason(#"{"excludes": []}"#), #"runtime policy has no "digests" object"#)
        XCTAssertEqual(reason(#"{"digests": []}"#), #"runtime policy has no "digests" object"#)
        XCTAssertEqual(reason(#"{"digests": {"/bin/x": []}}"#), #"runtime policy: digests for "/bin/x" must be a non-empty array of hex strings"#)
        XCTAssertEqual(reason(#"{"digests": {"/bin/x": "ab"}}"#), #"runtime policy: digests for "/bin/x" must be a non-empty array of hex strings"#)
        XCTAssertEqual(reason(#"{"digests": {}, "excludes": "/tmp"}"#), "runtime policy: excludes must be an array of strings")
        XCTAssertEqual(reason("[1]"), "runtime policy is not a JSON object (Keylime runtime-policy format expected)")
        XCTAssertEqual(reason(#"{"digests": {}, "meta": {"version": 1}, "ima": {}, "keyrings": {}}"#), "accepted", "Keylime's other keys are read past")
    }

    func testBootReferenceRoundTripsAndRefusesOtherShapes() throws {
        let pcrs = Dictionary(uniqueKeysWithValues: (0...7).map { ($0, [UInt8](repeating: UInt8($0), count: 32)) })
        let ref = try BootReference(pcrs: pcrs)
        XCTAssertEqual(try BootReference(json: ref.json), ref)
        let good = String(decoding: ref.json, as: UTF8.self)
        XCTAssertThrowsError(try BootReference(json: Array(good.replacingOccurrences(of: "\"sha256\"", with: "\"sha1\"").utf8)))
        XCTAssertThrowsError(try BootReference(json: Array(good.replacingOccurrences(of: "\"bank\"", with: "\"bank\" : \"sha256\", \"extra\"").utf8))) { e in
            XCTAssertTrue(((e as? ParleyError)?.reason ?? "").contains("unknown field \"extra\""), "\(e)")
        }
        XCTAssertThrowsError(try BootReference(json: Array(#"{"format": "parley/boot-reference/1", "bank": "sha256", "pcrs": {"0": "zz"}}"#.utf8)))
    }
}
