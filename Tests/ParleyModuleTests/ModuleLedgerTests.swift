import Foundation
import ParleyCore
import ParleyModule
import XCTest

/// The budget ledger a module draws on (issue #14): its name and parties by default, so a new
/// version keeps the ledger; declared with `ledger = "..."`; part of the measured module only when declared.
final class ModuleLedgerTests: ModuleFixtureCase {
    func source(_ edit: (String) -> String) throws -> ModuleDefinition {
        let text = edit(try String(contentsOfFile: "\(dir)/campaign-lift.toml", encoding: .utf8))
        try text.write(toFile: "\(dir)/edited.toml", atomically: true, encoding: .utf8)
        return try ModuleDefinition.load(source: "\(dir)/edited.toml", author: authorDER)
    }

    func testTheDefaultLedgerIsTheNameAndPartiesAndSurvivesANewVersion() throws {
        let v1 = try load("campaign-lift")
        XCTAssertNil(v1.ledger)
        XCTAssertEqual(v1.ledgerName, v1.name)
        let v2 = try source { $0.replacingOccurrences(of: "version = \"", with: "version = \"9") }
        XCTAssertNotEqual(v2.version, v1.version)
        XCTAssertEqual(v2.ledgerID, v1.ledgerID, "re-sealing a new version does not reset the budget")
        XCTAssertNotEqual(MeasurementDigest.of(v2.cbor), MeasurementDigest.of(v1.cbor))
        // Other parties: another ledger.
        var others = v1
        let stranger = PartyPrivateKey()
        others.parties[others.parties.keys.sorted()[0]] = stranger.publicKey
        XCTAssertNotEqual(others.ledgerID, v1.ledgerID)
        // The id is SHA-256 of the documented CBOR.
        var parties: [String: CBOR] = [:]
        for (n, p) in v1.parties { parties[n] = .bytes(DataPlane.sha256(Array(p.signing.derRepresentation))) }
        XCTAssertEqual(v1.ledgerID, DataPlane.sha256(CBOREncoder.encode(.textMap(["format": .text("parley/ledger/1"), "name": .text(v1.name), "parties": .textMap(parties)]))))
    }

    func testADeclaredLedgerIsMeasuredAndRoundTrips() throws {
        let declared = try source { "ledger = \"shared-lift\"\n" + $0 }
        XCTAssertEqual(declared.ledger, "shared-lift")
        XCTAssertNotEqual(declared.ledgerID, try load("campaign-lift").ledgerID)
        let sealed = try SealedModule.seal(declared, key: author)
        XCTAssertEqual(try SealedModule(bytes: sealed.bytes).definition.ledgerID, declared.ledgerID)
        XCTAssertNotEqual(sealed.measurement, MeasurementDigest.of(try load("campaign-lift").cbor))
        XCTAssertThrowsError(try source { "ledger = \"not ok!\"\n" + $0 }) { e in
            XCTAssertTrue("\(e)".contains("ledger"), "\(e)")
        }
    }
}
