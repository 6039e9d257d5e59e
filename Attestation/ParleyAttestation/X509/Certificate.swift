import Crypto
import Foundation
import ParleyCore
import SwiftASN1
import X509

/// An X.509 certificate (swift-certificates). Parsing checks only that the DER is one
/// certificate; trust comes from ``CertificateChainVerifier``.
public final class Certificate: Sendable {
    /// The parsed certificate.
    let x509: X509.Certificate
    /// Its DER bytes, exactly as parsed or as issued.
    public let der: [UInt8]

    private init(x509: X509.Certificate, der: [UInt8]) {
        self.x509 = x509
        self.der = der
    }

    /// Largest certificate accepted, in bytes.
    public static let maxDERSize = 16 << 10

    /// Parses DER. - Throws: `ParleyError.malformed` unless the bytes are exactly one certificate.
    public convenience init(der: [UInt8]) throws {
        guard !der.isEmpty, der.count <= Self.maxDERSize else {
            throw ParleyError(.limitExceeded, "a certificate must be 1 to \(Self.maxDERSize) bytes, found \(der.count)")
        }
        // DER.parse refuses trailing bytes after the one element.
        let parsed: X509.Certificate
        do { parsed = try X509.Certificate(derEncoded: der) } catch {
            throw ParleyError(.malformed, "the bytes are not one DER X.509 certificate")
        }
        self.init(x509: parsed, der: der)
    }

    /// Parses the first `CERTIFICATE` block of PEM text.
    public convenience init(pem: String) throws {
        guard let block = try PEM.decodeAll(pem).first(where: { $0.label == "CERTIFICATE" }) else {
            throw ParleyError(.malformed, "no CERTIFICATE block in the PEM text")
        }
        try self.init(der: block.der)
    }

    /// Wraps a certificate ``CertificateIssuer`` made.
    convenience init(issued: X509.Certificate) throws {
        self.init(x509: issued, der: try derBytes(of: issued))
    }

    /// PEM text.
    public var pem: String { PEM.encode(label: "CERTIFICATE", der: der) + "\n" }

    /// The subject's public key as SubjectPublicKeyInfo DER.
    public func publicKeyDER() throws -> [UInt8] {
        do { return try derBytes(of: x509.publicKey) } catch {
            throw ParleyError(.malformed, "the certificate has no usable public key")
        }
    }
}

/// What a certificate should say when ``CertificateIssuer`` makes it.
package struct CertificateProfile {
    package var commonName: String
    package var isCA: Bool
    package var notBefore: Date
    package var notAfter: Date

    package init(commonName: String, isCA: Bool, notBefore: Date, notAfter: Date) {
        self.commonName = commonName
        self.isCA = isCA
        self.notBefore = notBefore
        self.notAfter = notAfter
    }
}

/// Builds certificates with swift-certificates: a self-signed root, or a leaf signed by an issuer.
/// The profile is the one the software quoting CA has always issued (RFC 5280 section 4.2):
/// a root with critical `CA:TRUE, pathlen:0` and `keyCertSign, cRLSign`; a leaf with critical
/// `CA:FALSE` and `digitalSignature`; both with subject and authority key identifiers; ECDSA
/// with SHA-384; a random positive serial number.
package enum CertificateIssuer {
    /// - Parameters:
    ///   - subjectKey: the key being certified.
    ///   - signer: the issuer's private key, or the subject's own for a self-signed root.
    ///   - issuer: the issuer's certificate, or nil for a self-signed root.
    package static func issue(_ profile: CertificateProfile, subjectKey: P384.Signing.PublicKey,
                              signer: P384.Signing.PrivateKey, issuer: Certificate?) throws -> Certificate {
        do {
            let publicKey = X509.Certificate.PublicKey(subjectKey)
            let subject = try DistinguishedName {
                OrganizationName("Parley")
                CommonName(profile.commonName)
            }
            let ownKeyID = SubjectKeyIdentifier(hash: publicKey)
            let authorityKeyID = try issuer.map { i -> SubjectKeyIdentifier in
                try i.x509.extensions.subjectKeyIdentifier ?? SubjectKeyIdentifier(hash: i.x509.publicKey)
            } ?? ownKeyID
            let extensions = try X509.Certificate.Extensions {
                Critical(profile.isCA ? BasicConstraints.isCertificateAuthority(maxPathLength: 0) : .notCertificateAuthority)
                Critical(profile.isCA ? KeyUsage(keyCertSign: true, cRLSign: true) : KeyUsage(digitalSignature: true))
                ownKeyID
                AuthorityKeyIdentifier(keyIdentifier: authorityKeyID.keyIdentifier)
            }
            // X.509 times have whole seconds.
            func seconds(_ d: Date) -> Date { Date(timeIntervalSince1970: d.timeIntervalSince1970.rounded(.down)) }
            let certificate = try X509.Certificate(
                version: .v3, serialNumber: .init(), publicKey: publicKey,
                notValidBefore: seconds(profile.notBefore), notValidAfter: seconds(profile.notAfter),
                issuer: issuer?.x509.subject ?? subject, subject: subject,
                signatureAlgorithm: .ecdsaWithSHA384, extensions: extensions,
                issuerPrivateKey: .init(signer))
            return try Certificate(issued: certificate)
        } catch {
            // Building from well-formed keys and names cannot fail for the input's sake.
            throw ParleyError(.internal, "could not issue the certificate \"\(profile.commonName)\": \(error)")
        }
    }
}

/// The DER encoding of `element`.
func derBytes(of element: some DERSerializable) throws -> [UInt8] {
    var serializer = DER.Serializer()
    try serializer.serialize(element)
    return serializer.serializedBytes
}
