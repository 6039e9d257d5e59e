import Foundation
import Crypto

/// A SHA-384 digest used as a measurement (runtime, module, module signer).
public struct MeasurementDigest: Hashable, Sendable, CustomStringConvertible {
    /// The 48 digest bytes.
    public let bytes: [UInt8]

    /// Wraps 48 bytes. - Throws: `ParleyError.malformed` on any other length.
    public init(bytes: [UInt8]) throws {
        guard bytes.count == 48 else {
            throw ParleyError(.malformed, "a measurement is 48 bytes (SHA-384), found \(bytes.count)")
        }
        self.bytes = bytes
    }

    /// Parses 96 hex digits.
    public init(hex: String) throws {
        let b = try Hex.decode(hex.trimmingCharacters(in: .whitespacesAndNewlines))
        try self.init(bytes: b)
    }

    /// SHA-384 of `data`.
    public static func of<D: DataProtocol>(_ data: D) -> MeasurementDigest {
        // A SHA-384 digest is always 48 bytes, so the initializer cannot fail here.
        MeasurementDigest(unchecked: Array(SHA384.hash(data: data)))
    }

    private init(unchecked bytes: [UInt8]) { self.bytes = bytes }

    /// 96 lower-case hex digits.
    public var hex: String { Hex.encode(bytes) }
    public var description: String { hex }
}
