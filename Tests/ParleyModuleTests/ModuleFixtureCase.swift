import Foundation
import ParleyCore
import ParleyModule
import XCTest

/// A temporary folder holding the shipped example modules and fresh party keys.
class ModuleFixtureCase: XCTestCase {
    static let examples = ["campaign-lift", "hospital-outcomes", "bank-flags", "aml-overlap"]
    static let parties = ["brand", "retailer", "north", "south", "registry", "bank_a", "bank_b", "bank_c"]

    /// The examples folder (Enclave/Modules), found from this file's path.
    static var examplesDirectory: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Enclave/Modules")
    }

    var dir = ""
    var author = PartyPrivateKey()

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("parley-mod-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { [dir] in try? FileManager.default.removeItem(atPath: dir) }
        for p in Self.parties {
            try PartyPrivateKey().publicKey.pemRepresentation.write(toFile: "\(dir)/\(p).pub", atomically: true, encoding: .utf8)
        }
        for e in Self.examples {
            try FileManager.default.copyItem(atPath: Self.examplesDirectory.appendingPathComponent("\(e)/\(e).toml").path, toPath: "\(dir)/\(e).toml")
        }
    }

    var authorDER: [UInt8] { Array(author.signing.publicKey.derRepresentation) }

    func load(_ name: String) throws -> ModuleDefinition {
        try ModuleDefinition.load(source: "\(dir)/\(name).toml", author: authorDER)
    }

    /// Loads `name` with `edit` applied to its text, expecting a refusal; returns the reason.
    func refusal(_ name: String = "campaign-lift", _ edit: (String) -> String) throws -> String {
        let path = "\(dir)/edited.toml"
        try edit(try String(contentsOfFile: "\(dir)/\(name).toml", encoding: .utf8)).write(toFile: path, atomically: true, encoding: .utf8)
        do {
            _ = try ModuleDefinition.load(source: path, author: authorDER)
            XCTFail("expected a refusal")
            return ""
        } catch let e as ParleyError {
            return e.reason
        }
    }

}
