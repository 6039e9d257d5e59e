import Crypto
import Foundation
import ParleyCore

/// A sealed module bundle (`.parley`): a COSE_Sign1 (ES256 with the author's P-256 key) whose
/// payload is the module's deterministic CBOR.
public struct SealedModule: Sendable {
    /// The bundle bytes, as sealed.
    public let bytes: [UInt8]
    /// The verified module.
    public let definition: ModuleDefinition
    /// SHA-384 of the payload: what parties pin as `module` in their policy.
    public let measurement: MeasurementDigest
    /// SHA-384 of the author's key: what parties may pin as `module_signers`.
    public var signer: MeasurementDigest { definition.signer }

    /// Seals `definition` with the author's key.
    public static func seal(_ definition: ModuleDefinition, key: PartyPrivateKey) throws -> SealedModule {
        guard definition.author == Array(key.signing.publicKey.derRepresentation) else {
            throw ParleyError(.badKey, "the module's author is not the sealing key")
        }
        let payload = definition.cbor
        let bytes = try COSESign1.sign(payload: payload, with: .p256(key.signing))
        return try SealedModule(bytes: bytes)
    }

    /// Opens a bundle: parses it, verifies the signature with the author key it names, and
    /// reads the module. A bundle whose signature does not verify is refused.
    public init(bytes: [UInt8]) throws {
        let message = try COSESign1(bytes: bytes, limits: ModuleDefinition.limits)
        let untrusted = try ModuleDefinition(cbor: message.untrustedPayload)
        let key: ECVerifyingKey
        do { key = try ECVerifyingKey(der: untrusted.author) } catch { throw ParleyError(.badKey, "the module's author key is unusable") }
        guard case .valid(let verified) = message.verify(with: key) else {
            throw ParleyError(.verificationFailed, "the module bundle's signature does not verify with its author key: it was altered after sealing")
        }
        self.bytes = bytes
        self.definition = try ModuleDefinition(cbor: verified.payload)
        self.measurement = .of(verified.payload)
    }

    /// Reads a bundle file.
    public static func load(path: String) throws -> SealedModule {
        try SealedModule(bytes: try FileIO.read(path, maxBytes: 1 << 20))
    }
}
