import COpenSSL
import Foundation
import ParleyCore

/// An X.509 certificate held by OpenSSL. Parsing checks only that the DER is a certificate;
/// trust comes from ``CertificateChainVerifier``.
public final class Certificate: @unchecked Sendable {
    // @unchecked: the X509 object is never mutated after construction.
    let x509: OpaquePointer

    private init(x509: OpaquePointer) { self.x509 = x509 }
    deinit { X509_free(x509) }

    /// Largest certificate accepted, in bytes.
    public static let maxDERSize = 16 << 10

    /// Parses DER. - Throws: `ParleyError.malformed` unless the bytes are exactly one certificate.
    public convenience init(der: [UInt8]) throws {
        guard !der.isEmpty, der.count <= Self.maxDERSize else {
            throw ParleyError(.limitExceeded, "a certificate must be 1 to \(Self.maxDERSize) bytes, found \(der.count)")
        }
        let parsed: OpaquePointer? = der.withUnsafeBufferPointer { buf in
            var p: UnsafePointer<UInt8>? = buf.baseAddress
            let x = d2i_X509(nil, &p, buf.count)
            if let x, let p, p != buf.baseAddress! + buf.count {
                X509_free(x)
                return nil // trailing bytes
            }
            return x
        }
        ERR_clear_error()
        guard let parsed else { throw ParleyError(.malformed, "the bytes are not one DER X.509 certificate") }
        self.init(x509: parsed)
    }

    /// Parses the first `CERTIFICATE` block of PEM text.
    public convenience init(pem: String) throws {
        guard let block = try PEM.decodeAll(pem).first(where: { $0.label == "CERTIFICATE" }) else {
            throw ParleyError(.malformed, "no CERTIFICATE block in the PEM text")
        }
        try self.init(der: block.der)
    }

    /// Takes ownership of an X509 built by OpenSSL.
    static func adopting(_ x509: OpaquePointer) -> Certificate { Certificate(x509: x509) }

    /// DER bytes.
    public var der: [UInt8] {
        let n = i2d_X509(x509, nil)
        guard n > 0 else { return [] }
        var out = [UInt8](repeating: 0, count: Int(n))
        out.withUnsafeMutableBufferPointer { buf in
            var p: UnsafeMutablePointer<UInt8>? = buf.baseAddress
            _ = i2d_X509(x509, &p)
        }
        return out
    }

    /// PEM text.
    public var pem: String { PEM.encode(label: "CERTIFICATE", der: der) + "\n" }

    /// The subject's public key as SubjectPublicKeyInfo DER.
    public func publicKeyDER() throws -> [UInt8] {
        guard let key = X509_get0_pubkey(x509) else { throw ParleyError(.malformed, "the certificate has no usable public key") }
        return try spkiDER(of: key)
    }

    /// The subject's common name, for messages.
    public var subjectCommonName: String {
        guard let name = X509_get_subject_name(x509) else { return "?" }
        var buf = [CChar](repeating: 0, count: 256)
        let n = X509_NAME_get_text_by_NID(name, NID_commonName, &buf, Int32(buf.count))
        return n > 0 ? String(decoding: buf.prefix(Int(n)).map { UInt8(bitPattern: $0) }, as: UTF8.self) : "?"
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

/// Builds certificates with OpenSSL: a self-signed root, or a leaf signed by an issuer.
package enum CertificateIssuer {
    /// - Parameters:
    ///   - subjectKey: the key being certified.
    ///   - issuer: the issuer's certificate and key, or nil for a self-signed root.
    package static func issue(_ profile: CertificateProfile, subjectKey: OpenSSLKey,
                      issuer: (certificate: Certificate, key: OpenSSLKey)?) throws -> Certificate {
        guard let x = X509_new() else { throw OpenSSLError.last("allocating a certificate") }
        var owned = true
        defer { if owned { X509_free(x) } }
        guard X509_set_version(x, 2) == 1 else { throw OpenSSLError.last("setting the certificate version") }

        var serial = [UInt8](repeating: 0, count: 16)
        guard RAND_bytes(&serial, Int32(serial.count)) == 1 else { throw OpenSSLError.last("drawing a serial number") }
        serial[0] &= 0x7f // positive
        serial[0] |= 0x01 // and not shortened by a leading zero
        guard let bn = BN_bin2bn(serial, Int32(serial.count), nil) else { throw OpenSSLError.last("making a serial number") }
        defer { BN_free(bn) }
        guard BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != nil else { throw OpenSSLError.last("setting the serial number") }

        guard ASN1_TIME_set(X509_getm_notBefore(x), time_t(profile.notBefore.timeIntervalSince1970)) != nil,
              ASN1_TIME_set(X509_getm_notAfter(x), time_t(profile.notAfter.timeIntervalSince1970)) != nil else {
            throw OpenSSLError.last("setting the validity period")
        }
        guard let name = X509_get_subject_name(x),
              X509_NAME_add_entry_by_txt(name, "O", parley_mbstring_asc(), "Parley", -1, -1, 0) == 1,
              X509_NAME_add_entry_by_txt(name, "CN", parley_mbstring_asc(), profile.commonName, -1, -1, 0) == 1 else {
            throw OpenSSLError.last("setting the subject name")
        }
        let issuerName = issuer.map { X509_get_subject_name($0.certificate.x509) } ?? name
        guard X509_set_issuer_name(x, issuerName) == 1 else { throw OpenSSLError.last("setting the issuer name") }
        guard X509_set_pubkey(x, subjectKey.pkey) == 1 else { throw OpenSSLError.last("setting the public key") }

        var ctx = X509V3_CTX()
        X509V3_set_ctx(&ctx, issuer?.certificate.x509 ?? x, x, nil, nil, 0)
        let extensions: [(Int32, String)] = profile.isCA
            ? [(NID_basic_constraints, "critical,CA:TRUE,pathlen:0"), (NID_key_usage, "critical,keyCertSign,cRLSign"),
               (NID_subject_key_identifier, "hash"), (NID_authority_key_identifier, "keyid:always")]
            : [(NID_basic_constraints, "critical,CA:FALSE"), (NID_key_usage, "critical,digitalSignature"),
               (NID_subject_key_identifier, "hash"), (NID_authority_key_identifier, "keyid:always")]
        for (nid, value) in extensions {
            guard let ext = X509V3_EXT_conf_nid(nil, &ctx, nid, value) else { throw OpenSSLError.last("building extension \(nid)") }
            defer { X509_EXTENSION_free(ext) }
            guard X509_add_ext(x, ext, -1) == 1 else { throw OpenSSLError.last("adding extension \(nid)") }
        }
        let signer = issuer?.key ?? subjectKey
        guard X509_sign(x, signer.pkey, EVP_sha384()) > 0 else { throw OpenSSLError.last("signing the certificate") }
        owned = false
        return Certificate.adopting(x)
    }
}
