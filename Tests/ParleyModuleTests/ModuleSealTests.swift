import Foundation
import ParleyCore
import ParleyModule
import XCTest

/// Sealing: the shipped examples seal, errors point into the TOML file, bundles are tamper-evident.
final class ModuleSealTests: ModuleFixtureCase {
    func testEveryExampleSealsAndReopens() throws {
        for e in Self.examples {
            let sealed = try SealedModule.seal(try load(e), key: author)
            let reopened = try SealedModule(bytes: sealed.bytes)
            XCTAssertEqual(reopened.measurement, sealed.measurement)
            XCTAssertEqual(reopened.definition.cbor, sealed.definition.cbor)
            XCTAssertEqual(reopened.signer, MeasurementDigest.of(authorDER))
            XCTAssertFalse(try reopened.definition.compiledQueries().isEmpty)
        }
    }

    func testMeasurementIsSHA384OfTheDeterministicPayloadAndStable() throws {
        let a = try SealedModule.seal(try load("campaign-lift"), key: author)
        let b = try SealedModule.seal(try load("campaign-lift"), key: author)
        XCTAssertEqual(a.measurement, b.measurement, "same source and author: same measurement")
        XCTAssertEqual(a.measurement, MeasurementDigest.of(try load("campaign-lift").cbor))
        let otherAuthor = PartyPrivateKey()
        let other = try SealedModule.seal(try ModuleDefinition.load(source: "\(dir)/campaign-lift.toml",
                                                                    author: Array(otherAuthor.signing.publicKey.derRepresentation)),
                                          key: otherAuthor)
        XCTAssertNotEqual(other.measurement, a.measurement, "the author is part of what is measured")
    }

    func testTamperedBundleIsRefused() throws {
        let sealed = try SealedModule.seal(try load("bank-flags"), key: author)
        var bad = sealed.bytes
        let needle = Array("cleared".utf8)
        let at = try XCTUnwrap((0..<bad.count - needle.count).first { Array(bad[$0..<$0 + needle.count]) == needle })
        bad[at] = UInt8(ascii: "C")
        XCTAssertThrowsError(try SealedModule(bytes: bad)) { e in
            XCTAssertEqual((e as? ParleyError)?.code, .verificationFailed)
        }
        for cut in stride(from: 0, to: sealed.bytes.count, by: 11) {
            XCTAssertThrowsError(try SealedModule(bytes: Array(sealed.bytes.prefix(cut))))
        }
    }

    func testSQLErrorsPointIntoTheTOMLFile() throws {
        // Selecting the privacy unit: line 38 of the source is the SELECT line of `reach`.
        let r = try refusal { $0.replacingOccurrences(of: "SELECT e.campaign, COUNT(DISTINCT e.email_hash) AS exposed",
                                                       with: "SELECT e.email_hash, COUNT(DISTINCT e.email_hash) AS exposed") }
        XCTAssertTrue(r.hasSuffix("edited.toml:33:8: query reach: \(r.components(separatedBy: "query reach: ").last ?? "")"), r)
        XCTAssertTrue(r.contains("privacy unit") || r.contains("privacy-unit"), r)
        let g = try refusal { $0.replacingOccurrences(of: "GROUP BY e.campaign\n\"\"\"\n\n[queries.conversions]", with: "GROUP BY e.email_hash\n\"\"\"\n\n[queries.conversions]") }
        XCTAssertTrue(g.contains("edited.toml:35:"), g)
    }

    func testDeclarationErrorsNameLineAndColumnAndWhatToDo() throws {
        let cases: [((String) -> String, String)] = [
            ({ $0.replacingOccurrences(of: "provider = \"retailer\"", with: "provider = \"grocer\"") }, "edited.toml:18:12: \"datasets.purchases.provider\" must be one of the declared parties (brand, retailer)"),
            ({ $0.replacingOccurrences(of: "public_key = \"retailer.pub\"", with: "public_key = \"nobody.pub\"") }, "parley keygen retailer"),
            ({ $0.replacingOccurrences(of: "bounds = { amount = [0, 500] }", with: "bounds = { category = [0, 500] }") }, "edited.toml:21:23: bounds apply to int or decimal columns"),
            ({ $0.replacingOccurrences(of: "bounds = { amount = [0, 500] }", with: "bounds = { amount = [500, 0] }") }, "lower <= upper"),
            ({ $0.replacingOccurrences(of: "epsilon_per_query = 1.0", with: "epsilon_per_query = 0.0") }, "epsilon_per_query must be greater than 0"),
            ({ $0.replacingOccurrences(of: "receivers = [\"brand\"]\nsql = \"\"\"\nSELECT e.campaign, COUNT(DISTINCT e.email_hash) AS exposed", with: "receivers = []\nsql = \"\"\"\nSELECT e.campaign, COUNT(DISTINCT e.email_hash) AS exposed") }, "receivers is empty"),
            ({ $0.replacingOccurrences(of: "receivers = [\"brand\", \"retailer\"]", with: "receivers = [\"brand\", \"auditor\"]") }, "must be declared parties"),
            ({ $0.replacingOccurrences(of: "privacy_unit = \"email_hash\"\ncolumns = { email_hash = \"text\", amount", with: "privacy_unit = \"email\"\ncolumns = { email_hash = \"text\", amount") }, "the name of one of the dataset's columns"),
            ({ $0.replacingOccurrences(of: "region = \"int\"", with: "region = \"float\"") }, "must have type \"text\", \"int\", \"decimal\", \"date\", or an identifier type"),
            ({ $0 + "\n[extras]\nx = 1\n" }, "unknown key \"extras\""),
        ]
        for (edit, expected) in cases {
            let r = try refusal("campaign-lift", edit)
            XCTAssertTrue(r.contains(expected), "expected «\(expected)» in «\(r)»")
            XCTAssertTrue(r.contains("edited.toml:"), "no position in «\(r)»")
        }
    }

    func testSealRefusesAKeyThatIsNotTheAuthor() throws {
        XCTAssertThrowsError(try SealedModule.seal(try load("campaign-lift"), key: PartyPrivateKey()))
    }
}
