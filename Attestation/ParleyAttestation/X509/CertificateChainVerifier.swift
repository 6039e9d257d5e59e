import COpenSSL
import Foundation
import ParleyCore

/// Validates a leaf certificate, through optional intermediates, up to one pinned root, at a
/// given time (RFC 5280 path validation by OpenSSL, with `X509_V_FLAG_X509_STRICT`).
public struct CertificateChainVerifier: Sendable {
    /// The one trust anchor.
    public let root: Certificate
    /// The validation time: injected, never read from the clock here.
    public let time: Date

    public init(root: Certificate, time: Date) {
        self.root = root
        self.time = time
    }

    /// The outcome: valid, or why not (OpenSSL's reason, e.g. "certificate has expired").
    public enum Verdict: Sendable, Equatable {
        case valid
        case invalid(String)
    }

    /// - Parameters:
    ///   - leaf: the certificate whose key will be trusted.
    ///   - intermediates: untrusted certificates that may complete the path (at most 4).
    public func verify(leaf: Certificate, intermediates: [Certificate]) -> Verdict {
        guard intermediates.count <= 4 else { return .invalid("more than 4 intermediate certificates") }
        guard let store = X509_STORE_new() else { return .invalid("OpenSSL could not allocate a store") }
        defer { X509_STORE_free(store) }
        guard X509_STORE_add_cert(store, root.x509) == 1 else { return .invalid("the pinned root could not be loaded") }
        guard let untrusted = OPENSSL_sk_new_null() else { return .invalid("OpenSSL could not allocate a stack") }
        defer { OPENSSL_sk_free(untrusted) }
        for c in intermediates { OPENSSL_sk_push(untrusted, UnsafeRawPointer(UnsafeMutableRawPointer(c.x509))) }
        guard let ctx = X509_STORE_CTX_new() else { return .invalid("OpenSSL could not allocate a context") }
        defer { X509_STORE_CTX_free(ctx) }
        guard X509_STORE_CTX_init(ctx, store, leaf.x509, untrusted) == 1 else {
            return .invalid("OpenSSL could not initialise path validation")
        }
        X509_STORE_CTX_set_flags(ctx, parley_x509_v_flag_x509_strict())
        X509_STORE_CTX_set_time(ctx, 0, time_t(time.timeIntervalSince1970))
        let ok = X509_verify_cert(ctx)
        ERR_clear_error()
        if ok == 1 { return .valid }
        let code = X509_STORE_CTX_get_error(ctx)
        return .invalid(String(cString: X509_verify_cert_error_string(Int(code))))
    }
}
