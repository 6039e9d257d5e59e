import Crypto
import Foundation
import ParleyCore

/// The software attestation document `parley/sw-quote/1`: a COSE_Sign1 (ES384) by the quoting
/// key, whose payload carries the launch claims, the party's nonce, a timestamp, and the quoting
/// key's certificate chain (modelled on AWS Nitro Enclaves' attestation document).
public enum SoftwareQuote {
    public static let format = "parley/sw-quote/1"
    /// Caps for parsing a document: 64 KiB, depth 4, 64 items.
    static let limits = CBORDecoder.Limits(maxBytes: 64 << 10, maxDepth: 4, maxItems: 160) // 64 for the fields, the rest for a ledger claim's open jobs
    static let fields: Set<String> = ["format", "job", "timestamp", "measurements", "debug", "public_key",
                                      "signing_key", "nonce", "certificate", "cabundle"]

    /// Builds and signs a document.
    public static func make(claims: LaunchClaims, nonce: Nonce, timestamp: Date,
                            quotingKey: P384.Signing.PrivateKey, certificate: [UInt8], cabundle: [[UInt8]]) throws -> [UInt8] {
        var m = claims.fields()
        m["format"] = .text(format)
        m["timestamp"] = .unsigned(UInt64(max(0, timestamp.timeIntervalSince1970 * 1000).rounded(.down)))
        m["nonce"] = .bytes(nonce.bytes)
        m["certificate"] = .bytes(certificate)
        m["cabundle"] = .array(cabundle.map { .bytes($0) })
        return try COSESign1.sign(payload: CBOREncoder.encode(.textMap(m)), with: .p384(quotingKey))
    }
}

/// A software attestation document as parsed from untrusted bytes. Every field is UNTRUSTED
/// until ``EvidenceVerifier`` has checked the certificate chain and the signature.
public struct UnverifiedSoftwareQuote: Sendable {
    public let message: COSESign1
    public let claims: LaunchClaims
    public let timestamp: Date
    public let nonce: [UInt8]
    public let certificate: [UInt8]
    public let cabundle: [[UInt8]]

    /// Parses structure only. - Throws: ``ParleyError`` naming the first defect.
    public init(bytes: [UInt8]) throws {
        let message = try COSESign1(bytes: bytes, limits: SoftwareQuote.limits)
        let m = try CBORDecoder(limits: SoftwareQuote.limits).decode(message.untrustedPayload).textKeyedMap("sw-quote")
        try m.rejectUnknownKeys(SoftwareQuote.fields.union(LaunchClaims.optionalFields), in: "sw-quote")
        let format = try m.required("format", in: "sw-quote").textValue("sw-quote format")
        guard format == SoftwareQuote.format else {
            throw ParleyError(.unsupported, "document format \"\(format)\" is not \(SoftwareQuote.format)")
        }
        self.message = message
        self.claims = try LaunchClaims.parse(m, context: "sw-quote")
        let ms = try m.required("timestamp", in: "sw-quote").unsignedValue("sw-quote timestamp")
        guard ms < 1 << 53 else { throw ParleyError(.malformed, "sw-quote timestamp is out of range") }
        self.timestamp = Date(timeIntervalSince1970: Double(ms) / 1000)
        self.nonce = try m.required("nonce", in: "sw-quote").bytesValue("sw-quote nonce")
        self.certificate = try m.required("certificate", in: "sw-quote").bytesValue("sw-quote certificate")
        let bundle = try m.required("cabundle", in: "sw-quote").arrayValue("sw-quote cabundle")
        guard bundle.count <= 4 else { throw ParleyError(.limitExceeded, "sw-quote cabundle holds more than 4 certificates") }
        self.cabundle = try bundle.map { try $0.bytesValue("sw-quote cabundle entry") }
    }
}
