import COpenSSL
import Foundation
import ParleyCore

/// An OpenSSL EC private key (used to build and sign X.509 certificates; swift-crypto has no
/// X.509 API). Owned: freed on deinit.
package final class OpenSSLKey {
    let pkey: OpaquePointer

    private init(pkey: OpaquePointer) { self.pkey = pkey }
    deinit { EVP_PKEY_free(pkey) }

    /// A fresh P-384 key from OpenSSL's CSPRNG.
    package static func generateP384() throws -> OpenSSLKey {
        guard let k = parley_evp_ec_keygen("P-384") else { throw OpenSSLError.last("generating a P-384 key") }
        return OpenSSLKey(pkey: k)
    }

    /// Reads a PKCS#8 or SEC1 PEM private key.
    package static func load(pem: String) throws -> OpenSSLKey {
        let k: OpaquePointer? = try withMemoryBIO(pem) { PEM_read_bio_PrivateKey($0, nil, nil, nil) }
        guard let k else { throw OpenSSLError.last("reading a PEM private key") }
        return OpenSSLKey(pkey: k)
    }

    /// PKCS#8 PEM (`PRIVATE KEY`), readable by swift-crypto and `openssl pkey`.
    package func privateKeyPEM() throws -> String {
        try writeToMemoryBIO { PEM_write_bio_PrivateKey($0, pkey, nil, nil, 0, nil, nil) == 1 }
    }

    /// SubjectPublicKeyInfo DER.
    func publicKeyDER() throws -> [UInt8] {
        try spkiDER(of: pkey)
    }
}

/// SubjectPublicKeyInfo DER of any EVP_PKEY.
func spkiDER(of pkey: OpaquePointer) throws -> [UInt8] {
    let n = i2d_PUBKEY(pkey, nil)
    guard n > 0 else { throw OpenSSLError.last("encoding a public key") }
    var out = [UInt8](repeating: 0, count: Int(n))
    let written = out.withUnsafeMutableBufferPointer { buf -> Int32 in
        var p: UnsafeMutablePointer<UInt8>? = buf.baseAddress
        return i2d_PUBKEY(pkey, &p)
    }
    guard written == n else { throw OpenSSLError.last("encoding a public key") }
    return out
}

/// An OpenSSL failure, with the library's own error text (never secret material).
struct OpenSSLError: Error, CustomStringConvertible {
    let description: String

    static func last(_ doing: String) -> ParleyError {
        let code = ERR_get_error()
        var buf = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buf, buf.count)
        ERR_clear_error()
        let detail = code == 0 ? "no detail" : String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return ParleyError(.internal, "OpenSSL failed \(doing): \(detail)")
    }
}

/// Runs `body` with a read-only memory BIO over `text`.
func withMemoryBIO<T>(_ text: String, _ body: (OpaquePointer) throws -> T) throws -> T {
    let bytes = Array(text.utf8)
    return try bytes.withUnsafeBytes { raw in
        guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else {
            throw OpenSSLError.last("creating a memory BIO")
        }
        defer { BIO_free(bio) }
        return try body(bio)
    }
}

/// Runs a PEM writer into a memory BIO and returns the text.
func writeToMemoryBIO(_ body: (OpaquePointer) -> Bool) throws -> String {
    guard let bio = BIO_new(BIO_s_mem()) else { throw OpenSSLError.last("creating a memory BIO") }
    defer { BIO_free(bio) }
    guard body(bio) else { throw OpenSSLError.last("writing PEM") }
    var ptr: UnsafeMutablePointer<CChar>?
    let n = parley_bio_get_mem_data(bio, &ptr)
    guard n > 0, let ptr else { throw OpenSSLError.last("reading PEM from a BIO") }
    return ptr.withMemoryRebound(to: UInt8.self, capacity: n) { String(decoding: UnsafeBufferPointer(start: $0, count: n), as: UTF8.self) }
}
