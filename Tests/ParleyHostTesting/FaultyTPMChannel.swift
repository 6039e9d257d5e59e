import ParleyTPM
import ParleyTPMProvider

/// A ``TPMChannel`` in front of a real swtpm that fails or lies on request: the TPM faults a
/// host must survive (or refuse to start on) without a TPM that misbehaves.
public final class FaultyTPMChannel: TPMChannel {
    public let real: any TPMChannel
    public var unreachable = false
    public var failQuotes = false
    public var failExtends = false
    /// Reports this value for PCR 13 instead of the TPM's.
    public var pcr13: [UInt8]?
    public private(set) var extends = 0

    public init(_ real: any TPMChannel) { self.real = real }

    public struct Fault: Error, CustomStringConvertible { public let description: String }

    public func attestationKey() throws -> AttestationKeyPublic {
        if unreachable { throw Fault(description: "connection refused") }
        return try real.attestationKey()
    }

    public func quote(nonce: [UInt8], pcrs: [Int]) throws -> TPMQuote {
        if failQuotes { throw Fault(description: "TPM_RC_RETRY") }
        let q = try real.quote(nonce: nonce, pcrs: pcrs)
        guard let pcr13 else { return q }
        var values = q.pcrs
        values[13] = pcr13
        return TPMQuote(attest: q.attest, signature: q.signature, nonce: q.nonce, pcrBank: q.pcrBank, pcrs: values)
    }

    public func extendPCR(_ index: Int, with digest: [UInt8]) throws {
        if failExtends { throw Fault(description: "TPM_RC_LOCALITY") }
        extends += 1
        try real.extendPCR(index, with: digest)
    }
}

