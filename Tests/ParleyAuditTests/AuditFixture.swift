import Crypto
import Foundation
import ParleyAttestation
import ParleyAudit
import ParleyCore
import ParleyLog
import ParleyModule
import XCTest
import ParleyQuoting
import ParleyHostLog

/// A host data directory with a log, a software quoting CA, a sealed two-dataset module (budget
/// epsilon 2, epsilon 1 per query), and synthetic workers that sign entries the way
/// `parley-enclave` does (COSE_Sign1 ES384 over `parley/worker-entry/1`).
class AuditFixture: XCTestCase {
    var dir = ""
    var data: String { dir + "/host" }
    var author = PartyPrivateKey(), brand = PartyPrivateKey(), retailer = PartyPrivateKey()
    var module: SealedModule!
    var ca: SoftwareQuotingCA!
    var log: HostLog!

    static let moduleSource = """
    name = "audit-test"
    version = "1"

    [parties.brand]
    public_key = "brand.pub"

    [parties.retailer]
    public_key = "retailer.pub"

    [datasets.exposures]
    provider = "brand"
    privacy_unit = "email_hash"
    columns = { email_hash = "text", campaign = "text" }

    [datasets.purchases]
    provider = "retailer"
    privacy_unit = "email_hash"
    columns = { email_hash = "text", amount = "decimal" }
    bounds = { amount = [0, 500] }

    [policy]
    min_group_size = 50
    epsilon_per_query = 1.0
    budget_epsilon = 2.0
    max_groups_per_unit = 1

    [queries.reach]
    receivers = ["brand"]
    sql = \"\"\"
    SELECT e.campaign, COUNT(DISTINCT e.email_hash) AS exposed
    FROM exposures e
    GROUP BY e.campaign
    \"\"\"
    """

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("parley-audit-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        addTeardownBlock { [dir] in try? FileManager.default.removeItem(atPath: dir) }
        module = try sealModule(name: "audit-test")
        ca = try SoftwareQuotingCA.openOrCreate(dataDirectory: data, now: Date())
        log = try HostLog(dataDirectory: data)
    }

    func sealModule(name: String) throws -> SealedModule {
        try brand.publicKey.pemRepresentation.write(toFile: dir + "/brand.pub", atomically: true, encoding: .utf8)
        try retailer.publicKey.pemRepresentation.write(toFile: dir + "/retailer.pub", atomically: true, encoding: .utf8)
        let source = Self.moduleSource.replacingOccurrences(of: "name = \"audit-test\"", with: "name = \"\(name)\"")
        try source.write(toFile: dir + "/\(name).toml", atomically: true, encoding: .utf8)
        let definition = try ModuleDefinition.load(source: dir + "/\(name).toml", author: Array(author.signing.publicKey.derRepresentation))
        return try SealedModule.seal(definition, key: author)
    }

    /// A worker that signs entries like `parley-enclave`.
    struct FakeWorker {
        let job: String
        let key: P384.Signing.PrivateKey
        let claims: LaunchClaims

        func entry(_ kind: String, _ fields: [String: CBOR], signedBy other: P384.Signing.PrivateKey? = nil, job signedJob: String? = nil) throws -> [UInt8] {
            var m = fields
            m["format"] = .text("parley/worker-entry/1")
            m["job"] = .text(signedJob ?? job)
            m["timestamp"] = .unsigned(UInt64(Date().timeIntervalSince1970 * 1000))
            m["kind"] = .text(kind)
            return try COSESign1.sign(payload: CBOREncoder.encode(.textMap(m)), with: .p384(other ?? key))
        }

        func uploadAccepted(_ dataset: String, provider: String, digest: [UInt8], rows: UInt64 = 100) throws -> [UInt8] {
            try entry("upload-accepted", ["dataset": .text(dataset), "provider": .text(provider),
                                          "ciphertext_sha256": .bytes(digest), "rows": .unsigned(rows)])
        }

        func release(_ query: String, to receiver: String = "brand", epsilon: String = "1", budgetLeft: String,
                     inputs: [String: [UInt8]]) throws -> [UInt8] {
            var m: [String: CBOR] = [:]
            for (k, v) in inputs { m[k] = .bytes(v) }
            return try entry("release", ["query": .text(query), "receiver": .text(receiver),
                                         "result_sha256": .bytes(Array(SHA256.hash(data: Array(query.utf8)))),
                                         "epsilon": .text(epsilon), "delta": .text("0"), "budget_left": .text(budgetLeft),
                                         "suppressed_groups": .unsigned(0), "inputs": .textMap(m)])
        }

        func queryRefused(_ query: String, code: String) throws -> [UInt8] {
            try entry("query-refused", ["query": .text(query), "receiver": .text("brand"), "code": .text(code)])
        }
    }

    /// Launches a synthetic worker and logs the launch with software evidence.
    /// - Parameters:
    ///   - quoted: edits the claims the evidence is made for (default: the true claims).
    ///   - stated: edits the claims the log entry states.
    ///   - evidenceNonce: the nonce the evidence carries (default: the one logged).
    @discardableResult
    func launch(_ job: String, module launched: SealedModule? = nil, quoted: (inout LaunchClaims) -> Void = { _ in },
                stated: (inout LaunchClaims) -> Void = { _ in }, evidenceNonce: Nonce? = nil) throws -> FakeWorker {
        let launchedModule = launched ?? module!
        let key = P384.Signing.PrivateKey()
        let claims = LaunchClaims(job: job, runtime: .of(Array("parley-enclave".utf8)), module: launchedModule.measurement,
                                  moduleSigner: launchedModule.signer, debug: false,
                                  publicKey: Array(Curve25519.KeyAgreement.PrivateKey().publicKey.rawRepresentation),
                                  signingKey: Array(key.publicKey.derRepresentation))
        var quotedClaims = claims, statedClaims = claims
        quoted(&quotedClaims)
        stated(&statedClaims)
        let nonce = Nonce.random()
        let evidence = try ca.quote(quotedClaims, nonce: evidenceNonce ?? nonce, at: Date())
        try log.recordLaunch(job: job, claims: statedClaims, module: launchedModule.bytes, evidence: evidence, nonce: nonce, tier: .software)
        return FakeWorker(job: job, key: key, claims: claims)
    }

    static let exposuresDigest = Array(SHA256.hash(data: Array("exposures ciphertext".utf8)))
    static let purchasesDigest = Array(SHA256.hash(data: Array("purchases ciphertext".utf8)))

    /// Entries 0-5: launch, two uploads, a release of `reach`, a refused query, stop.
    @discardableResult
    func cleanJob(_ job: String = "job-a") throws -> FakeWorker {
        let worker = try launch(job)
        try log.recordWorkerEntry(job: job, entry: try worker.uploadAccepted("exposures", provider: "brand", digest: Self.exposuresDigest, rows: 3000))
        try log.recordWorkerEntry(job: job, entry: try worker.uploadAccepted("purchases", provider: "retailer", digest: Self.purchasesDigest, rows: 1500))
        try log.recordWorkerEntry(job: job, entry: try worker.release("reach", budgetLeft: "1", inputs: ["exposures": Self.exposuresDigest]))
        try log.recordWorkerEntry(job: job, entry: try worker.queryRefused("nope", code: "undeclared-query"))
        try log.recordStopped(job: job)
        return worker
    }

    /// The auditor's pins: the log key, the quoting root and the module.
    func pinnedPolicy() throws -> AuditPolicy {
        AuditPolicy(expectedModules: [module.measurement], logKey: log.verifierKey,
                    anchors: TrustAnchors(quotingRoot: ca.root))
    }

    /// Exports the log, lets `tamper` change the bundle's files, then replays.
    func replay(policy: AuditPolicy? = nil, tamper: (String) throws -> Void = { _ in }) throws -> AuditReplayReport {
        let bundleDir = dir + "/bundle-\(UUID().uuidString)"
        try AuditBundle.export(from: log, to: bundleDir)
        try tamper(bundleDir)
        return AuditReplay(bundle: try AuditBundle.open(bundleDir), policy: try policy ?? pinnedPolicy()).run()
    }

    /// Asserts the replay failed first at `index` and returns the first failure's reason.
    @discardableResult
    func assertFirstFailure(_ report: AuditReplayReport, at index: UInt64?, file: StaticString = #filePath, line: UInt = #line) -> AuditReplayFailureReason? {
        guard case .failed(let first) = report.verdict else {
            XCTFail("the replay passed; expected a failure at entry \(index.map(String.init) ?? "none")", file: file, line: line)
            return nil
        }
        XCTAssertEqual(first.entryIndex, index, "first failure: \(first)\n\(report.text)", file: file, line: line)
        return first.reason
    }

    // MARK: - Entry file surgery

    /// Byte ranges of the records in an entry file (after the 8-byte magic).
    static func records(_ file: [UInt8]) -> [Range<Int>] {
        var out: [Range<Int>] = []
        var offset = 8
        while offset + 12 <= file.count {
            let length = file[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) }
            let end = offset + 12 + length + 32
            guard end <= file.count else { break }
            out.append(offset..<end)
            offset = end
        }
        return out
    }

    /// A well-formed record (`u32 length || u64 index || payload || SHA-256(0x00 || payload)`).
    static func record(index: UInt64, payload: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        for shift in stride(from: 24, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: UInt32(payload.count) >> UInt32(shift))) }
        for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: index >> UInt64(shift))) }
        return out + payload + Array(SHA256.hash(data: [0x00] + payload))
    }

    func editEntries(_ bundle: String, _ edit: (inout [UInt8]) throws -> Void) throws {
        var bytes = try FileIO.read(bundle + "/entries.log")
        try edit(&bytes)
        try FileIO.write(bytes, to: bundle + "/entries.log")
    }
}
