import Foundation
import ParleyCore
import ParleyModule

/// The campaign-lift example module (Enclave/Modules/campaign-lift), as tests use it.
public enum CampaignLiftModule {
    /// Writes the two parties' public keys and the module source into `directory` (where the
    /// module expects them), and seals the module with `author`. - Returns: the sealed bundle.
    public static func seal(in directory: String, brand: PartyPrivateKey, retailer: PartyPrivateKey, author: PartyPrivateKey) throws -> [UInt8] {
        try brand.publicKey.pemRepresentation.write(toFile: directory + "/brand.pub", atomically: true, encoding: .utf8)
        try retailer.publicKey.pemRepresentation.write(toFile: directory + "/retailer.pub", atomically: true, encoding: .utf8)
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Enclave/Modules/campaign-lift/campaign-lift.toml")
        try FileManager.default.copyItem(atPath: source.path, toPath: directory + "/campaign-lift.toml")
        let def = try ModuleDefinition.load(source: directory + "/campaign-lift.toml", author: Array(author.signing.publicKey.derRepresentation))
        return try SealedModule.seal(def, key: author).bytes
    }
}
