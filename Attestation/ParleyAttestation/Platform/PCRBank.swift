import Crypto

/// A PCR bank: the hash algorithm of a set of PCRs (TPM_ALG_ID). Replays run per bank.
public enum PCRBank: String, Sendable, CaseIterable, CustomStringConvertible {
    case sha1, sha256, sha384, sha512

    /// The TPM_ALG_ID.
    public var algorithmID: UInt16 {
        switch self {
        case .sha1: return 0x0004
        case .sha256: return 0x000B
        case .sha384: return 0x000C
        case .sha512: return 0x000D
        }
    }

    /// The digest size in bytes.
    public var digestSize: Int {
        switch self {
        case .sha1: return 20
        case .sha256: return 32
        case .sha384: return 48
        case .sha512: return 64
        }
    }

    public init?(algorithmID: UInt16) {
        guard let b = Self.allCases.first(where: { $0.algorithmID == algorithmID }) else { return nil }
        self = b
    }

    /// The bank whose digests are `size` bytes long (IMA names its file hash by prefix instead).
    public init?(digestSize size: Int) {
        guard let b = Self.allCases.first(where: { $0.digestSize == size }) else { return nil }
        self = b
    }

    /// The bank's hash of `bytes`.
    public func hash(_ bytes: [UInt8]) -> [UInt8] {
        switch self {
        case .sha1: return Array(Insecure.SHA1.hash(data: bytes))
        case .sha256: return Array(SHA256.hash(data: bytes))
        case .sha384: return Array(SHA384.hash(data: bytes))
        case .sha512: return Array(SHA512.hash(data: bytes))
        }
    }

    /// A PCR extend: `hash(old || digest)`.
    public func extend(_ pcr: [UInt8], with digest: [UInt8]) -> [UInt8] { hash(pcr + digest) }

    public var description: String { rawValue }
}
