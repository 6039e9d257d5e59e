import ParleyCore

/// The assurance tier of a quote: what kind of root vouches for the worker. Verdicts always name
/// it, so nobody mistakes a software-key quote for a TPM one.
public enum AssuranceTier: String, Sendable, CaseIterable, CustomStringConvertible {
    /// A quoting key on the host, certified by a local CA: proves nothing against a malicious host root.
    case software
    /// A TPM quote whose platform logs (measured boot, IMA) replayed and were appraised against
    /// the party's reference values, with the launch log in a PCR nobody can reset.
    case tpm
    /// A TPM quote over the launch log alone: nothing shows that the software that extended the
    /// launch PCR was the reviewed host, so whoever controls the TPM can forge launches. Only a
    /// verdict carries this tier (evidence is `tpm`), and only with `allow_unappraised_tpm`.
    case tpmUnappraised = "tpm-unappraised"

    public var description: String { rawValue }
}

/// Evidence of either kind, parsed from untrusted bytes (stage 1 of 3: parse, verify, appraise).
public enum UnverifiedEvidence: Sendable {
    case software(UnverifiedSoftwareQuote)
    case tpm(UnverifiedTPMEvidence)

    /// Largest evidence accepted, in bytes.
    public static let maxSize = 40 << 20

    /// Parses evidence, telling the two formats apart by their outer CBOR: a COSE_Sign1 (tag 18,
    /// head byte `0xd2`) is a software document; a map is TPM evidence.
    /// - Throws: ``ParleyError`` naming the first defect; nothing partial is returned.
    public static func parse(_ bytes: [UInt8]) throws -> UnverifiedEvidence {
        guard bytes.count <= maxSize else { throw ParleyError(.limitExceeded, "evidence is over \(maxSize) bytes") }
        switch bytes.first {
        case 0xd2?: return .software(try UnverifiedSoftwareQuote(bytes: bytes))
        case let b? where b >= 0xa0 && b <= 0xbb: return .tpm(try UnverifiedTPMEvidence(bytes: bytes))
        case nil: throw ParleyError(.malformed, "evidence is empty")
        default: throw ParleyError(.malformed, "evidence is neither a software attestation document nor TPM evidence")
        }
    }

    public var tier: AssuranceTier {
        switch self {
        case .software: return .software
        case .tpm: return .tpm
        }
    }
}
