import COpenSSL

/// Encodes an EC public point as a PEM SubjectPublicKeyInfo with OpenSSL.
enum ECPublicKeyPEM {
    /// PEM for the NIST P-256 point (x, y).
    /// - Throws: ``TPMError/Code/internal`` when OpenSSL rejects the point or cannot encode.
    static func p256(x: [UInt8], y: [UInt8]) throws(TPMError) -> String {
        let point: [UInt8] = [0x04] + x + y
        let key: OpaquePointer? = point.withUnsafeBufferPointer { buffer in
            parley_evp_pkey_from_ec_point("prime256v1", buffer.baseAddress, buffer.count)
        }
        guard let key else {
            ERR_clear_error()
            throw TPMError(.internal, "OpenSSL rejected the TPM's P-256 public point")
        }
        defer { EVP_PKEY_free(key) }
        guard let bio = BIO_new(BIO_s_mem()) else {
            throw TPMError(.internal, "OpenSSL could not allocate a memory BIO")
        }
        defer { BIO_free(bio) }
        guard PEM_write_bio_PUBKEY(bio, key) == 1 else {
            ERR_clear_error()
            throw TPMError(.internal, "OpenSSL could not encode the public key as PEM")
        }
        var data: UnsafeMutablePointer<CChar>?
        let length = parley_bio_get_mem_data(bio, &data)
        guard length > 0, let data else {
            throw TPMError(.internal, "OpenSSL produced an empty PEM")
        }
        let bytes = UnsafeRawBufferPointer(start: data, count: length)
        return String(decoding: bytes, as: UTF8.self)
    }
}
