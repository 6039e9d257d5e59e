import Crypto
import Foundation
import ParleyAttestation
import ParleyCore
import ParleyQuoting
import SwiftASN1
import X509
import XCTest

/// The quoting chain check (swift-certificates' `Verifier` with `RFC5280Policy` and the key
/// usage policy) on hand-made chains, each also put to `openssl verify -x509_strict`: the two
/// must agree, except where Parley is stricter on purpose (named in the test).
final class CertificateChainTests: XCTestCase {
    let t = Date(timeIntervalSince1970: 1_780_000_000)
    var dir = ""

    override func setUpWithError() throws { dir = try makeDirectory(self) }

    static func der(_ c: X509.Certificate) throws -> [UInt8] {
        var serializer = DER.Serializer()
        try serializer.serialize(c)
        return serializer.serializedBytes
    }

    struct Issued {
        let x509: X509.Certificate
        let key: P256.Signing.PrivateKey
        var certificate: ParleyAttestation.Certificate { get throws { try .init(der: try CertificateChainTests.der(x509)) } }
    }

    /// A certificate for a fresh P-256 key, signed by `issuer` (or self-signed).
    func make(_ name: String, ca: BasicConstraints? = nil, usage: KeyUsage? = KeyUsage(digitalSignature: true),
              by issuer: Issued? = nil, from notBefore: TimeInterval = -3600, to notAfter: TimeInterval = 86_400,
              extra: [X509.Certificate.Extension] = []) throws -> Issued {
        let key = P256.Signing.PrivateKey()
        let publicKey = X509.Certificate.PublicKey(key.publicKey)
        let subject = try DistinguishedName { CommonName(name) }
        let ski = SubjectKeyIdentifier(hash: publicKey)
        var extensions: [X509.Certificate.Extension] = []
        if let ca { extensions.append(try .init(ca, critical: true)) }
        if let usage { extensions.append(try .init(usage, critical: true)) }
        extensions.append(try .init(ski, critical: false))
        let aki = issuer.map { SubjectKeyIdentifier(hash: $0.x509.publicKey) } ?? ski
        extensions.append(try .init(AuthorityKeyIdentifier(keyIdentifier: aki.keyIdentifier), critical: false))
        let cert = try X509.Certificate(
            version: .v3, serialNumber: .init(), publicKey: publicKey,
            notValidBefore: t.addingTimeInterval(notBefore), notValidAfter: t.addingTimeInterval(notAfter),
            issuer: issuer?.x509.subject ?? subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try .init(extensions + extra), issuerPrivateKey: .init(issuer?.key ?? key))
        return Issued(x509: cert, key: key)
    }

    func makeRoot(_ name: String = "root", pathLength: Int? = nil, usage: KeyUsage = KeyUsage(keyCertSign: true, cRLSign: true)) throws -> Issued {
        try make(name, ca: .isCertificateAuthority(maxPathLength: pathLength), usage: usage)
    }

    func ours(_ root: Issued, _ leaf: Issued, _ intermediates: [Issued] = [], at time: Date? = nil) throws -> CertificateChainVerifier.Verdict {
        CertificateChainVerifier(root: try root.certificate, time: time ?? t)
            .verify(leaf: try leaf.certificate, intermediates: try intermediates.map { try $0.certificate })
    }

    /// `openssl verify -x509_strict` at `t`: true when it accepts the chain.
    func openssl(_ root: Issued, _ leaf: Issued, _ intermediates: [Issued] = [], at time: Date? = nil) throws -> Bool {
        func pem(_ i: Issued) throws -> String { try i.certificate.pem }
        try pem(root).write(toFile: dir + "/root.pem", atomically: true, encoding: .utf8)
        try pem(leaf).write(toFile: dir + "/leaf.pem", atomically: true, encoding: .utf8)
        var arguments = ["verify", "-x509_strict", "-attime", String(Int((time ?? t).timeIntervalSince1970)), "-CAfile", dir + "/root.pem"]
        if !intermediates.isEmpty {
            try intermediates.map(pem).joined().write(toFile: dir + "/untrusted.pem", atomically: true, encoding: .utf8)
            arguments += ["-untrusted", dir + "/untrusted.pem"]
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        p.arguments = arguments + [dir + "/leaf.pem"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        return p.terminationStatus == 0
    }

    /// Both refuse, and Parley names `failure`.
    func assertRefused(_ root: Issued, _ leaf: Issued, _ intermediates: [Issued] = [], at time: Date? = nil,
                       expecting failure: CertificateChainVerifier.Failure, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(try ours(root, leaf, intermediates, at: time), .invalid(failure), file: file, line: line)
        XCTAssertFalse(try openssl(root, leaf, intermediates, at: time), "openssl verify accepted it", file: file, line: line)
    }

    func testValidChainsAreAcceptedByBoth() throws {
        let root = try makeRoot()
        let leaf = try make("leaf", ca: .notCertificateAuthority, by: root)
        XCTAssertEqual(try ours(root, leaf), .valid)
        XCTAssertTrue(try openssl(root, leaf))

        let open = try makeRoot("open root")
        let intermediate = try make("intermediate", ca: .isCertificateAuthority(maxPathLength: 0), usage: KeyUsage(keyCertSign: true), by: open)
        let below = try make("leaf", by: intermediate) // no basic constraints at all: an end entity
        XCTAssertEqual(try ours(open, below, [intermediate]), .valid)
        XCTAssertTrue(try openssl(open, below, [intermediate]))
        // The intermediate is needed: without it there is no path.
        XCTAssertEqual(try ours(open, below), .invalid(.noPathToRoot))
    }

    func testExpiredAndNotYetValid() throws {
        let root = try makeRoot()
        try assertRefused(root, try make("old", by: root, from: -7200, to: -60), expecting: .expired)
        try assertRefused(root, try make("early", by: root, from: 60, to: 7200), expecting: .notYetValid)
        // An expired root fails the same way, and so does a valid leaf checked too late.
        let leaf = try make("leaf", by: root)
        try assertRefused(root, leaf, at: t.addingTimeInterval(2 * 86_400), expecting: .expired)
        XCTAssertEqual(CertificateChainVerifier.Failure.expired.description, "certificate has expired")
    }

    func testWrongIssuerAndBadSignature() throws {
        let root = try makeRoot(), other = try makeRoot()
        try assertRefused(root, try make("foreign", by: other), expecting: .noPathToRoot)
        // Same issuer name and key identifier as the pinned root, but signed by another key.
        let impostor = try makeRoot("root")
        try assertRefused(root, try make("forged", by: impostor), expecting: .noPathToRoot)
        // An intermediate that the pinned root did not sign does not help either.
        let stray = try make("intermediate", ca: .isCertificateAuthority(maxPathLength: 0), usage: KeyUsage(keyCertSign: true), by: other)
        try assertRefused(root, try make("leaf", by: stray), [stray], expecting: .noPathToRoot)
    }

    func testIssuerThatIsNotACA() throws {
        let root = try makeRoot()
        let notCA = try make("end entity", ca: .notCertificateAuthority, usage: KeyUsage(digitalSignature: true, keyCertSign: true), by: root)
        try assertRefused(root, try make("leaf", by: notCA), [notCA], expecting: .issuerNotCA)
        let noConstraints = try make("no constraints", ca: nil, usage: KeyUsage(keyCertSign: true), by: root)
        try assertRefused(root, try make("leaf", by: noConstraints), [noConstraints], expecting: .issuerNotCA)
    }

    func testPathLengthConstraint() throws {
        let root = try makeRoot(pathLength: 0) // the quoting root's own profile: no intermediates
        let intermediate = try make("intermediate", ca: .isCertificateAuthority(maxPathLength: nil), usage: KeyUsage(keyCertSign: true), by: root)
        try assertRefused(root, try make("leaf", by: intermediate), [intermediate], expecting: .pathLengthExceeded)
    }

    func testIssuerWithoutKeyCertSign() throws {
        let root = try makeRoot(usage: KeyUsage(digitalSignature: true))
        try assertRefused(root, try make("leaf", by: root), expecting: .keyUsage("an issuer on the path does not allow keyCertSign"))
    }

    /// Stricter than `openssl verify` (which checks no purpose unless asked): the quoting key
    /// signs documents, so it must allow digitalSignature and must not be a CA.
    func testQuotingKeyUsageIsStricterThanOpenSSL() throws {
        let root = try makeRoot()
        let encipherOnly = try make("leaf", usage: KeyUsage(keyEncipherment: true), by: root)
        XCTAssertEqual(try ours(root, encipherOnly), .invalid(.keyUsage("the quoting certificate does not allow digitalSignature")))
        XCTAssertTrue(try openssl(root, encipherOnly))
        let noUsage = try make("leaf", usage: nil, by: root)
        XCTAssertEqual(try ours(root, noUsage), .invalid(.keyUsage("the quoting certificate does not allow digitalSignature")))
        let caLeaf = try make("leaf", ca: .isCertificateAuthority(maxPathLength: nil), usage: KeyUsage(digitalSignature: true, keyCertSign: true), by: root)
        XCTAssertEqual(try ours(root, caLeaf), .invalid(.keyUsage("the quoting certificate is a CA certificate")))
        XCTAssertTrue(try openssl(root, caLeaf))
        // The pinned root itself is no quoting certificate.
        guard case .invalid(.keyUsage) = try ours(root, root) else { return XCTFail("the root was accepted as a quoting certificate") }
    }

    func testUnhandledCriticalExtension() throws {
        let root = try makeRoot()
        let odd = X509.Certificate.Extension(oid: [1, 3, 6, 1, 4, 1, 55555, 1], critical: true, value: [0x05, 0x00])
        let leaf = try make("leaf", by: root, extra: [odd])
        XCTAssertNotEqual(try ours(root, leaf), .valid)
        XCTAssertFalse(try openssl(root, leaf))
    }

    func testTooManyIntermediates() throws {
        let root = try makeRoot()
        let leaf = try make("leaf", by: root)
        XCTAssertEqual(try ours(root, leaf, Array(repeating: root, count: 5)), .invalid(.tooManyIntermediates(5)))
        XCTAssertEqual(try ours(root, leaf, Array(repeating: root, count: 4)), .valid, "unneeded intermediates are ignored")
    }

    func testDERMustBeExactlyOneCertificate() throws {
        let der = try Self.der(try makeRoot().x509)
        XCTAssertNoThrow(try ParleyAttestation.Certificate(der: der))
        for bad in [der + [0], Array(der.dropLast()), [0x30, 0x00], []] {
            XCTAssertThrowsError(try ParleyAttestation.Certificate(der: bad))
        }
    }

    /// The host's own CA, as issued by ``SoftwareQuotingCA``, passes both checks and keeps the
    /// profile it has always had.
    func testSoftwareQuotingCAProfile() throws {
        let ca = try SoftwareQuotingCA.openOrCreate(dataDirectory: dir + "/ca", now: t)
        XCTAssertEqual(CertificateChainVerifier(root: ca.root, time: t).verify(leaf: ca.quotingCertificate, intermediates: []), .valid)
        let root = try X509.Certificate(derEncoded: ca.root.der), leaf = try X509.Certificate(derEncoded: ca.quotingCertificate.der)
        XCTAssertEqual(try root.extensions.basicConstraints, .isCertificateAuthority(maxPathLength: 0))
        XCTAssertEqual(try root.extensions.keyUsage, KeyUsage(keyCertSign: true, cRLSign: true))
        XCTAssertEqual(try leaf.extensions.basicConstraints, .notCertificateAuthority)
        XCTAssertEqual(try leaf.extensions.keyUsage, KeyUsage(digitalSignature: true))
        XCTAssertEqual(try leaf.extensions.authorityKeyIdentifier?.keyIdentifier, try root.extensions.subjectKeyIdentifier?.keyIdentifier)
        XCTAssertEqual(leaf.signatureAlgorithm, .ecdsaWithSHA384)
        XCTAssertEqual(leaf.issuer, root.subject)
        XCTAssertEqual(leaf.notValidAfter.timeIntervalSince(t), 365 * 86_400, accuracy: 1)
        XCTAssertNotNil(P384.Signing.PublicKey(leaf.publicKey))
    }
}
