import Crypto
import Foundation
import ParleyAttestation
import ParleyAudit
import ParleyCore
import ParleyQuoting
import ParleyLedger
import ParleyLog

/// Valid inputs for each target, built from the same code paths as real data, so a fuzz run
/// starts deep inside each format. `Scripts/fuzz.sh` writes them to the corpus directories;
/// the tests replay them.
public enum FuzzSeeds {
    public static func make(for target: FuzzTarget) throws -> [[UInt8]] {
        switch target {
        case .cbor:
            return [CBOREncoder.encode(.textMap(["a": .array([.unsigned(1), .int(-300), .float(1.5), .bytes([1, 2])]),
                                                 "b": .tagged(18, .map([.unsigned(1): .null]))]))]
        case .cose:
            let key = P384.Signing.PrivateKey()
            return [try COSESign1.sign(payload: Array("seed".utf8), with: .p384(key))]
        case .evidence:
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("parley-seed-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: dir) }
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let ca = try SoftwareQuotingCA.openOrCreate(dataDirectory: dir, now: Date(timeIntervalSince1970: 1_780_000_000))
            let claims = LaunchClaims(job: "seed", runtime: .of([1]), module: .of([2]), moduleSigner: .of([3]), debug: false,
                                      publicKey: Array(Curve25519.KeyAgreement.PrivateKey().publicKey.rawRepresentation),
                                      signingKey: Array(P384.Signing.PrivateKey().publicKey.derRepresentation))
            let events = [LaunchLogEvent.epoch(number: 1, startedMillis: 0, resetCount: 0, restartCount: 0).encoded, LaunchLogEvent.launch(claims).encoded]
            let tpm = TPMEvidence.make(attest: [0xff, 0x54, 0x43, 0x47, 0x80, 0x18] + [UInt8](repeating: 0, count: 90),
                                       signature: [0, 0x18, 0, 0x0b, 0, 32] + [UInt8](repeating: 1, count: 32) + [0, 32] + [UInt8](repeating: 2, count: 32),
                                       akPublic: [UInt8](repeating: 0, count: 90), pcrs: [launchPCRIndex: LaunchLogEvent.replay(events)],
                                       eventLog: events, job: "seed", nonce: FuzzTarget.nonce,
                                       publicKey: claims.publicKey, signingKey: claims.signingKey)
            var withLedger = claims
            withLedger.ledger = ledgerClaim
            return [try ca.quote(claims, nonce: FuzzTarget.nonce, at: Date(timeIntervalSince1970: 1_780_000_000)), tpm,
                    try ca.quote(withLedger, nonce: FuzzTarget.nonce, at: Date(timeIntervalSince1970: 1_780_000_000)),
                    try ca.quote(withSandbox(claims), nonce: FuzzTarget.nonce, at: Date(timeIntervalSince1970: 1_780_000_000))]
        case .tpm:
            return [[0xff, 0x54, 0x43, 0x47, 0x80, 0x18, 0, 2, 1, 2, 0, 2, 3, 4] + [UInt8](repeating: 0, count: 17) + [0, 0, 0, 1, 0, 0x0b, 3, 0, 0, 0x80, 0, 32] + [UInt8](repeating: 9, count: 32)]
        case .stream:
            var sealer = try StreamSealer(recipient: FuzzTarget.streamKey.publicKey, info: [1], chunkSize: 16)
            return [sealer.header + (try sealer.sealChunk(Array("0123456789abcdef".utf8), isFinal: false))
                    + (try sealer.sealChunk(Array("tail".utf8), isFinal: true))]
        case .sql:
            return [Array("""
                SELECT e.campaign, COUNT(DISTINCT e.email_hash) AS buyers, SUM(p.amount) AS revenue
                FROM exposures e JOIN purchases p ON e.email_hash = p.email_hash
                WHERE p.category IN ('soda', 'juice') AND e.region BETWEEN 1 AND 5 AND NOT e.day < DATE '2024-01-01'
                GROUP BY e.campaign
                """.utf8),
                    Array("""
                SELECT p.category, MEDIAN(p.amount), PERCENTILE_CONT(p.amount, 0.9) AS p90, VAR_POP(p.amount),
                       STDDEV_POP(p.amount), HISTOGRAM(p.amount, -1, 0, 10.5, 100)
                FROM purchases p GROUP BY p.category
                """.utf8)]
        case .csv:
            return [Array("email_hash,campaign,region,day\r\nab12,\"spring, \"\"big\"\"\",3,2024-02-29\nff00,fall,-1,1999-12-31\n".utf8)]
        case .bootlog:
            let banks: [PCRBank] = [.sha1, .sha256]
            let locality = BootEvent(sequence: 1, pcr: 0, type: BootEvent.noAction, digests: [.sha1: [UInt8](repeating: 0, count: 20), .sha256: [UInt8](repeating: 0, count: 32)],
                                     data: Array("StartupLocality".utf8) + [0, 3])
            let events = [locality] + (0..<8).map { pcr in
                BootEvent(sequence: pcr + 2, pcr: pcr, type: 0x8000_0001, digests: [.sha1: PCRBank.sha1.hash([UInt8(pcr)]), .sha256: PCRBank.sha256.hash([UInt8(pcr)])],
                          data: Array("seed event".utf8))
            }
            return [UnverifiedBootLog(header: UnverifiedBootLog.header(banks: banks), banks: banks, events: events, startupLocality: 3).encoded]
        case .ima:
            return [UnverifiedIMAList(entries: [
                .file(path: "boot_aggregate", algorithm: .sha256, digest: [UInt8](repeating: 1, count: 32)),
                .file(sequence: 1, path: "/usr/bin/parley", algorithm: .sha256, digest: [UInt8](repeating: 2, count: 32)),
                .file(sequence: 2, path: "/usr/lib/x", algorithm: .sha1, digest: [UInt8](repeating: 3, count: 20), signature: [3, 2, 1]),
            ]).binary]
        case .witness:
            // The next checkpoint with its consistency proof from the cosigned one (accepted), and a stale one (409).
            let (four, tree) = try note(FuzzTarget.logEntries)
            let proof = try tree.consistencyProof(oldSize: 2, newSize: 4).path
            return [Array("old 2\n".utf8) + Array(proof.map { $0.base64 + "\n" }.joined().utf8) + [0x0a] + four,
                    Array("old 0\n\n".utf8) + (try note(Array(FuzzTarget.logEntries.prefix(2)))).note]
        case .handoff:
            // Entries 1 and 3 with their inclusion proofs into the checkpoint of 4.
            let (four, tree) = try note(FuzzTarget.logEntries)
            let items = try [1, 3].map { (i: UInt64) in
                LedgerHandoff.Item(index: i, entry: FuzzTarget.logEntries[Int(i)], proof: try tree.inclusionProof(leafIndex: i, treeSize: 4).path)
            }
            return [CBOREncoder.encode(LedgerHandoff(checkpointNote: four, logKey: FuzzTarget.logSigner.verifierKey.encoded, items: items).cbor)]
        case .ledgerClaim:
            return [CBOREncoder.encode(ledgerClaim.cbor)]
        case .logRecord:
            var claims = withSandbox(LaunchClaims(job: "job-seed", runtime: .of([1]), module: .of([2]), moduleSigner: .of([3]), debug: false,
                                                  publicKey: [UInt8](repeating: 1, count: 32),
                                                  signingKey: Array(P256.Signing.PrivateKey().publicKey.derRepresentation)))
            claims.ledger = ledgerClaim
            let launch = try LogRecord(job: "job-seed", timeMillis: 1_780_000_000_000,
                                       body: .launch(LaunchRecord(claims: claims, tier: .software, ledgerCounted: [1], moduleBundle: [1, 2, 3],
                                                                  evidence: [4, 5, 6], nonce: FuzzTarget.nonce)))
            return [launch.encoded,
                    try LogRecord(job: "job-seed", timeMillis: 1, body: .worker(entry: [0xa0])).encoded,
                    try LogRecord(job: "job-seed", timeMillis: 2, body: .stopped).encoded]
        case .apiBody:
            return [APIJSON.encode(QueryRequestBody(receiver: "brand", nonce: [UInt8](repeating: 7, count: 16), signature: [1, 2])),
                    APIJSON.encode(LiveJobStatus(job: "job-seed", state: "ready", reason: nil, tier: "software",
                                                 module: .init(name: "m", version: "1", measurement: "aa", signer: "bb"), runtime: "cc",
                                                 datasets: ["d": .init(provider: "p", accepted: true, rows: 3, digest: "dd")],
                                                 queries: ["q": .init(receivers: ["p"])], parties: ["p": "ee"])),
                    APIJSON.encode(UploadReceiptBody(dataset: "d", rows: 3, digest: "dd", logSize: 4)),
                    APIJSON.encode(APIErrorBody(error: "no", code: "no-job"))]
        }
    }

    /// Claims with a lock-down report as a real worker gives one.
    static func withSandbox(_ claims: LaunchClaims) -> LaunchClaims {
        var c = claims
        c.sandbox = ["file-system": "applied: Landlock ABI 7 (kernel ABI 7): denied everything", "identity": "applied: uid 65534"]
        return c
    }

    /// A ledger claim as a worker puts it in its launch claims.
    static var ledgerClaim: LedgerClaim {
        LedgerClaim(id: FuzzTarget.ledgerID, logKey: FuzzTarget.logSigner.verifierKey.encoded, checkpointSize: 4,
                    checkpointRoot: [UInt8](repeating: 8, count: 32), inherited: "1/3", countedLaunches: [1])
    }

    /// The fixed log's signed checkpoint over `entries`, and its tree.
    static func note(_ entries: [[UInt8]]) throws -> (note: [UInt8], tree: MerkleTree) {
        var tree = MerkleTree()
        for e in entries { _ = tree.append(entry: e) }
        return (try Checkpoint(origin: FuzzTarget.logSigner.name, size: tree.size, rootHash: tree.rootHash).signedNote(with: FuzzTarget.logSigner), tree)
    }
}
