import COpenSSL

/// The few OpenSSL operations the verifier needs: SHA-256 and ECDSA P-256 verification.
enum OpenSSLCrypto {
    /// SHA-256 of `bytes`.
    static func sha256(_ bytes: [UInt8]) throws(TPMEvidenceError) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let ok = bytes.withUnsafeBytes { input in
            digest.withUnsafeMutableBufferPointer { output in
                EVP_Digest(input.baseAddress, input.count, output.baseAddress, &length, EVP_sha256(), nil)
            }
        }
        guard ok == 1, length == 32 else {
            throw TPMEvidenceError(.internal, "OpenSSL SHA-256 failed")
        }
        return Array(digest.prefix(32))
    }

    /// The outcome of an ECDSA check.
    enum SignatureCheck: Equatable {
        case valid
        case invalid(String)
    }

    /// Verifies an ECDSA P-256 signature `(r, s)` over SHA-256(`message`) with the public point
    /// `(x, y)`. A point off the curve or a malformed signature is `.invalid`, not an error.
    /// - Throws: ``TPMEvidenceError/Code/internal`` when OpenSSL cannot allocate.
    static func verifyECDSAP256SHA256(
        x: [UInt8], y: [UInt8], r: [UInt8], s: [UInt8], message: [UInt8]
    ) throws(TPMEvidenceError) -> SignatureCheck {
        guard x.count <= 32, y.count <= 32 else {
            return .invalid("public key coordinates are longer than 32 bytes")
        }
        let point: [UInt8] = [0x04] + leftPad(x, to: 32) + leftPad(y, to: 32)
        let key: OpaquePointer? = point.withUnsafeBufferPointer { buffer in
            parley_evp_pkey_from_ec_point("prime256v1", buffer.baseAddress, buffer.count)
        }
        guard let key else {
            ERR_clear_error()
            return .invalid("public key is not a valid P-256 point")
        }
        defer { EVP_PKEY_free(key) }

        guard let der = try derSignature(r: r, s: s) else {
            return .invalid("r or s is not a valid integer")
        }
        guard let context = EVP_MD_CTX_new() else {
            throw TPMEvidenceError(.internal, "OpenSSL could not allocate a digest context")
        }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestVerifyInit(context, nil, EVP_sha256(), nil, key) == 1 else {
            ERR_clear_error()
            throw TPMEvidenceError(.internal, "OpenSSL could not initialise ECDSA verification")
        }
        let result = der.withUnsafeBufferPointer { signature in
            message.withUnsafeBufferPointer { data in
                EVP_DigestVerify(context, signature.baseAddress, signature.count,
                                 data.baseAddress, data.count)
            }
        }
        ERR_clear_error()
        return result == 1 ? .valid : .invalid("ECDSA signature does not verify with the key")
    }

    /// DER-encodes an ECDSA-Sig-Value (SEQUENCE of INTEGER r, INTEGER s), or nil when r or s
    /// is not acceptable to OpenSSL.
    private static func derSignature(r: [UInt8], s: [UInt8]) throws(TPMEvidenceError) -> [UInt8]? {
        guard let signature = ECDSA_SIG_new() else {
            throw TPMEvidenceError(.internal, "OpenSSL could not allocate an ECDSA signature")
        }
        defer { ECDSA_SIG_free(signature) }
        let rNumber = r.withUnsafeBufferPointer { BN_bin2bn($0.baseAddress, Int32($0.count), nil) }
        let sNumber = s.withUnsafeBufferPointer { BN_bin2bn($0.baseAddress, Int32($0.count), nil) }
        guard let rNumber, let sNumber else {
            BN_free(rNumber)
            BN_free(sNumber)
            throw TPMEvidenceError(.internal, "OpenSSL could not allocate a big number")
        }
        // On success ECDSA_SIG_set0 takes ownership of both numbers.
        guard ECDSA_SIG_set0(signature, rNumber, sNumber) == 1 else {
            BN_free(rNumber)
            BN_free(sNumber)
            return nil
        }
        var output: UnsafeMutablePointer<UInt8>?
        let length = i2d_ECDSA_SIG(signature, &output)
        guard length > 0, let output else { return nil }
        defer { parley_openssl_free(output) }
        return Array(UnsafeBufferPointer(start: output, count: Int(length)))
    }

    private static func leftPad(_ bytes: [UInt8], to size: Int) -> [UInt8] {
        [UInt8](repeating: 0, count: max(0, size - bytes.count)) + bytes
    }
}
