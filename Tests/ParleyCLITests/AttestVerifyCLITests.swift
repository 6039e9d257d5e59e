import Crypto
import Foundation
import ParleyAttestation
import ParleyCore
import XCTest
import ParleyQuoting

/// `parley attest verify` as a party runs it: files on disk, a policy file, exit codes.
final class AttestVerifyCLITests: CLITestCase {
    var dir = ""
    var ca: SoftwareQuotingCA!
    var claims: LaunchClaims!

    override func setUpWithError() throws {
        dir = try temporaryDirectory()
        ca = try SoftwareQuotingCA.openOrCreate(dataDirectory: dir + "/host", now: Date())
        try FileManager.default.copyItem(atPath: SoftwareQuotingCA.rootPath(in: dir + "/host"), toPath: dir + "/quoting-root.pem")
        claims = LaunchClaims(job: "job-7", runtime: .of([1]), module: .of([2]), moduleSigner: .of([3]), debug: false,
                              publicKey: Array(Curve25519.KeyAgreement.PrivateKey().publicKey.rawRepresentation),
                              signingKey: Array(P384.Signing.PrivateKey().publicKey.derRepresentation))
    }

    func writePolicy(_ body: String) throws -> String {
        let path = dir + "/policy.toml"
        try body.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    var goodPolicy: String {
        """
        quote = "software"
        module = "\(claims.module.hex)"
        runtime = ["\(claims.runtime.hex)"]
        quoting_root = "quoting-root.pem"
        max_age_seconds = 300
        allow_debug = false
        """
    }

    func evidence(nonce: Nonce) throws -> String {
        let path = dir + "/evidence-\(nonce.hex.prefix(8)).cbor"
        try Data(try ca.quote(claims, nonce: nonce, at: Date())).write(to: URL(fileURLWithPath: path))
        return path
    }

    func verify(_ evidence: String, nonce: String, policy: String, json: Bool = false) throws -> (status: Int32, out: String, err: String) {
        try run("parley", ["attest", "verify", evidence, "--nonce", nonce, "--policy", policy,
                               "--nonce-ledger", dir + "/ledger"] + (json ? ["--json"] : []))
    }

    func testTrustedEvidenceExitsZeroAndNamesTheTier() throws {
        let nonce = Nonce.random()
        let r = try verify(try evidence(nonce: nonce), nonce: nonce.hex, policy: try writePolicy(goodPolicy))
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.hasPrefix("trusted: software quote; job job-7"), r.out)
    }

    func testRefusalPrintsOneReasonAndJSONListsAll() throws {
        let nonce = Nonce.random()
        let ev = try evidence(nonce: nonce)
        let policy = try writePolicy(goodPolicy.replacingOccurrences(of: claims.module.hex, with: String(repeating: "ab", count: 48))
            .replacingOccurrences(of: claims.runtime.hex, with: String(repeating: "cd", count: 48)))
        let r = try verify(ev, nonce: nonce.hex, policy: policy)
        XCTAssertEqual(r.status, 3)
        XCTAssertEqual(r.err, "parley: refused: the worker runs a module other than the one the policy expects\n")
        let j = try verify(ev, nonce: nonce.hex, policy: policy, json: true)
        XCTAssertEqual(j.status, 3)
        let obj = try JSONSerialization.jsonObject(with: Data(j.out.utf8)) as? [String: Any]
        XCTAssertEqual(obj?["verdict"] as? String, "refused")
        let codes = (obj?["reasons"] as? [[String: String]])?.compactMap { $0["code"] }
        XCTAssertEqual(codes, ["appraisal.moduleNotExpected", "appraisal.runtimeNotAccepted"])
    }

    func testReusedNonceIsRefusedOnTheSecondRun() throws {
        let nonce = Nonce.random()
        let ev = try evidence(nonce: nonce)
        let policy = try writePolicy(goodPolicy)
        XCTAssertEqual(try verify(ev, nonce: nonce.hex, policy: policy).status, 0)
        let again = try verify(ev, nonce: nonce.hex, policy: policy)
        XCTAssertEqual(again.status, 3)
        XCTAssertTrue(again.err.contains("nonce was already used"), again.err)
    }

    func testPolicyErrorsNameFileLineAndColumn() throws {
        let nonce = Nonce.random()
        let ev = try evidence(nonce: nonce)
        let cases: [(String, String)] = [
            (goodPolicy.replacingOccurrences(of: "runtime = [\"\(claims.runtime.hex)\"]", with: "runtime = []"), "policy.toml:3:11: \"runtime\" is empty"),
            (goodPolicy.replacingOccurrences(of: "module = \"\(claims.module.hex)\"", with: "module = \"abc\""), "policy.toml:2:10: \"module\" must be 96 hex digits"),
            (goodPolicy + "\nallow_debugs = true\n", "policy.toml:7:1: unknown key \"allow_debugs\"; did you mean \"allow_debug\"?"),
            (goodPolicy.replacingOccurrences(of: "quoting_root = \"quoting-root.pem\"\n", with: ""), "needs quoting_root"),
            (goodPolicy.replacingOccurrences(of: "quoting-root.pem", with: "missing.pem"), "missing.pem"),
            (goodPolicy.replacingOccurrences(of: "module = ", with: "modul = "), "policy.toml:2:1:"),
        ]
        for (body, expected) in cases {
            let r = try verify(ev, nonce: nonce.hex, policy: try writePolicy(body))
            XCTAssertEqual(r.status, 2, "\(expected): \(r.err)")
            XCTAssertTrue(r.err.contains(expected), "expected \(expected) in: \(r.err)")
        }
    }

    func testBadNonceArgumentIsAUsageError() throws {
        let r = try verify(dir + "/none", nonce: "xyz", policy: dir + "/none")
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.err.contains("openssl rand -hex 32"), r.err)
    }

    /// `--job`: evidence whose launch names another job than the one asked about is refused.
    func testJobOptionRefusesEvidenceForAnotherJob() throws {
        let nonce = Nonce.random()
        let ev = try evidence(nonce: nonce)
        let policy = try writePolicy(goodPolicy)
        let other = try run("parley", ["attest", "verify", ev, "--nonce", nonce.hex, "--policy", policy, "--job", "job-8",
                                       "--nonce-ledger", dir + "/ledger"])
        XCTAssertEqual(other.status, 3, other.out)
        XCTAssertTrue(other.err.contains("another job"), other.err)
        let same = try run("parley", ["attest", "verify", ev, "--nonce", nonce.hex, "--policy", policy, "--job", "job-7",
                                      "--nonce-ledger", dir + "/ledger"])
        XCTAssertEqual(same.status, 0, same.err)
    }

    /// `parley attest reference` on real logs (../shared/fixtures/tpm): writes a boot reference and
    /// a Keylime runtime policy that a TPM policy file then loads.
    func testReferenceWritesBootReferenceAndKeylimePolicy() throws {
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("shared/fixtures/tpm").path
        let host = dir + "/parley-copy", worker = dir + "/enclave-copy"
        try Data("host bytes".utf8).write(to: URL(fileURLWithPath: host))
        try Data("worker bytes".utf8).write(to: URL(fileURLWithPath: worker))
        let r = try run("parley", ["attest", "reference", "--boot-log", fixtures + "/boot/go-attestation-crypto_agile_eventlog",
                                   "--ima-log", fixtures + "/ima/keylime-ima-log-sha256", "--host", host, "--host-path", "/usr/bin/parley",
                                   "--worker", worker, "--out", dir + "/ref"])
        XCTAssertEqual(r.status, 0, r.err)
        let boot = try BootReference(json: try FileIO.read(dir + "/ref/boot-reference.json"))
        XCTAssertEqual(Hex.encode(try XCTUnwrap(boot.pcrs[0])), "1536de221b2187a421602cd81f43aa04496b0bd5a424d3b25b637a942080d0fa",
                       "PCR 0 as tpm2_eventlog computes it for this log")
        let runtime = try RuntimePolicy(json: try FileIO.read(dir + "/ref/runtime-policy.json"))
        XCTAssertEqual(runtime.digests["/data"], ["96d7fae8adb7286a419a88f78c13d35fb782d63df654b7db56f154765698b754"])
        XCTAssertEqual(runtime.digests["/usr/bin/parley"], [Hex.encode(SHA256.hash(data: Array("host bytes".utf8)))])
        XCTAssertEqual(runtime.digests[PlatformReferenceBuilder.workerIMAPath], [Hex.encode(SHA256.hash(data: Array("worker bytes".utf8)))])
        let lines = r.out.split(separator: "\n").filter { $0.contains(" = ") }.joined(separator: "\n")
        let key = P256.Signing.PrivateKey().publicKey.pemRepresentation
        try key.write(toFile: dir + "/ref/tpm-ak.pem", atomically: true, encoding: .utf8)
        let policyPath = dir + "/ref/policy.toml"
        try """
        quote = "tpm"
        module = "\(claims.module.hex)"
        runtime = ["\(claims.runtime.hex)"]
        tpm_ak = "tpm-ak.pem"
        \(lines)
        """.write(toFile: policyPath, atomically: true, encoding: .utf8)
        let policy = try AppraisalPolicy.load(path: policyPath)
        XCTAssertEqual(policy.platform?.requiredMeasured.count, 2)
        // Without the reference lines a TPM policy is refused unless it accepts forgeable launches.
        try "quote = \"tpm\"\nmodule = \"\(claims.module.hex)\"\nruntime = [\"\(claims.runtime.hex)\"]\ntpm_ak = \"tpm-ak.pem\"\n"
            .write(toFile: policyPath, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try AppraisalPolicy.load(path: policyPath)) { e in
            XCTAssertTrue(((e as? ParleyError)?.reason ?? "").contains("allow_unappraised_tpm"), "\(e)")
        }
    }
}
