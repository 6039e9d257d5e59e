import COpenSSL

/// SHA-256 through OpenSSL, for checking a quote's PCR digest.
enum OpenSSLSHA256 {
    /// SHA-256 of `bytes`.
    static func hash(_ bytes: [UInt8]) throws(TPMError) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let ok = bytes.withUnsafeBytes { input in
            digest.withUnsafeMutableBufferPointer { output in
                EVP_Digest(input.baseAddress, input.count, output.baseAddress, &length, EVP_sha256(), nil)
            }
        }
        guard ok == 1, length == 32 else { throw TPMError(.internal, "OpenSSL SHA-256 failed") }
        return Array(digest.prefix(32))
    }
}
