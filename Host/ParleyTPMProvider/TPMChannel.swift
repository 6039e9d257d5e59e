import Foundation
import ParleyTPM

/// What the TPM quote provider needs of a TPM: its attestation key, quotes, and PCR extends.
/// ``TPMClient`` (ESAPI over a TCTI) is the real one; tests substitute a channel that fails or
/// lies where a real TPM would not, to reach the provider's refusals.
public protocol TPMChannel: AnyObject {
    func attestationKey() throws -> AttestationKeyPublic
    func quote(nonce: [UInt8], pcrs: [Int]) throws -> TPMQuote
    func extendPCR(_ index: Int, with digest: [UInt8]) throws
}

/// A ``TPMClient`` as a ``TPMChannel``.
public final class TPMClientChannel: TPMChannel {
    public let client: TPMClient

    public init(_ client: TPMClient) { self.client = client }

    public func attestationKey() throws -> AttestationKeyPublic { try client.attestationKey() }
    public func quote(nonce: [UInt8], pcrs: [Int]) throws -> TPMQuote { try client.quote(nonce: nonce, pcrs: pcrs) }
    public func extendPCR(_ index: Int, with digest: [UInt8]) throws { try client.extendPCR(index, with: digest) }
}
