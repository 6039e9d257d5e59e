import Crypto
import Foundation
import ParleyAttestation
import ParleyCore

/// The host's software quote provider: a local quoting CA (P-384 root) and a quoting key it
/// certifies, kept in the data directory and created on first use.
///
/// Files, under the data directory:
/// - `quoting-root.pem`: the root certificate. Parties pin it (`quoting_root` in their policy).
/// - `quoting-ca/root-key.pem`, `quoting-ca/quoting-key.pem` (mode 0600, directory 0700).
/// - `quoting-ca/quoting-cert.pem`: the quoting key's certificate, re-issued when it nears expiry.
public final class SoftwareQuotingCA: @unchecked Sendable {
    // @unchecked: immutable after init; swift-crypto keys and Certificate are not mutated.
    public let root: Certificate
    public let quotingCertificate: Certificate
    private let quotingKey: P384.Signing.PrivateKey

    static let rootLifetime: TimeInterval = 10 * 365 * 86_400
    static let quotingLifetime: TimeInterval = 365 * 86_400
    static let renewBefore: TimeInterval = 30 * 86_400

    /// The path parties pin.
    public static func rootPath(in dataDirectory: String) -> String { dataDirectory + "/quoting-root.pem" }

    /// Opens the CA in `dataDirectory`, creating what is missing.
    /// - Parameter now: the time used for validity periods (injected).
    public static func openOrCreate(dataDirectory: String, now: Date) throws -> SoftwareQuotingCA {
        let dir = dataDirectory + "/quoting-ca"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let rootKeyPath = dir + "/root-key.pem", rootPath = rootPath(in: dataDirectory)
        let quotingKeyPath = dir + "/quoting-key.pem", quotingCertPath = dir + "/quoting-cert.pem"
        let fm = FileManager.default

        let rootKey: P384.Signing.PrivateKey, root: Certificate
        if fm.fileExists(atPath: rootKeyPath), fm.fileExists(atPath: rootPath) {
            rootKey = try P384.Signing.PrivateKey(pemRepresentation: try FileIO.readText(rootKeyPath))
            root = try Certificate(pem: try FileIO.readText(rootPath))
        } else {
            rootKey = P384.Signing.PrivateKey()
            root = try CertificateIssuer.issue(.init(commonName: "Parley quoting root", isCA: true, notBefore: now.addingTimeInterval(-300),
                                                     notAfter: now.addingTimeInterval(rootLifetime)),
                                               subjectKey: rootKey.publicKey, signer: rootKey, issuer: nil)
            try FileIO.write(Array(rootKey.pemRepresentation.utf8), to: rootKeyPath, mode: 0o600)
            try FileIO.write(Array(root.pem.utf8), to: rootPath, mode: 0o644)
        }

        let quotingKey: P384.Signing.PrivateKey
        if fm.fileExists(atPath: quotingKeyPath) {
            quotingKey = try P384.Signing.PrivateKey(pemRepresentation: try FileIO.readText(quotingKeyPath))
        } else {
            quotingKey = P384.Signing.PrivateKey()
            try FileIO.write(Array(quotingKey.pemRepresentation.utf8), to: quotingKeyPath, mode: 0o600)
            try? fm.removeItem(atPath: quotingCertPath)
        }
        var cert = fm.fileExists(atPath: quotingCertPath) ? try Certificate(pem: try FileIO.readText(quotingCertPath)) : nil
        let stillValid = cert.map {
            CertificateChainVerifier(root: root, time: now.addingTimeInterval(renewBefore)).verify(leaf: $0, intermediates: []) == .valid
        } ?? false
        if !stillValid {
            cert = try CertificateIssuer.issue(.init(commonName: "Parley quoting key", isCA: false, notBefore: now.addingTimeInterval(-300),
                                                     notAfter: now.addingTimeInterval(quotingLifetime)),
                                               subjectKey: quotingKey.publicKey, signer: rootKey, issuer: root)
            try FileIO.write(Array(cert!.pem.utf8), to: quotingCertPath, mode: 0o644)
        }
        return SoftwareQuotingCA(root: root, quotingCertificate: cert!,
                                 quotingKey: quotingKey)
    }

    private init(root: Certificate, quotingCertificate: Certificate, quotingKey: P384.Signing.PrivateKey) {
        self.root = root
        self.quotingCertificate = quotingCertificate
        self.quotingKey = quotingKey
    }

    /// A `parley/sw-quote/1` document over `claims` for the party's `nonce`.
    public func quote(_ claims: LaunchClaims, nonce: Nonce, at time: Date) throws -> [UInt8] {
        try SoftwareQuote.make(claims: claims, nonce: nonce, timestamp: time, quotingKey: quotingKey,
                               certificate: quotingCertificate.der, cabundle: [])
    }
}
