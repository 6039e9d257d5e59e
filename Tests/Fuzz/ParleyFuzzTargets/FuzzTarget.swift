import Crypto
import Foundation
import ParleyAnalysis
import ParleyAttestation
import ParleyAudit
import ParleyCore
import ParleyEngine
import ParleyLedger
import ParleyLog
import ParleyTPMVerify

/// One fuzz entry point per parser of untrusted input. Each takes arbitrary bytes and must
/// return (accepting or refusing them) without crashing, hanging or exhausting memory.
/// `parley-fuzz` runs them under libFuzzer (`Scripts/fuzz.sh`); the tests replay seeds and random
/// inputs through them on every CI run.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// Deterministic and lenient CBOR decoding.
    case cbor
    /// COSE_Sign1 parsing and verification.
    case cose
    /// Attestation evidence of either tier: parse, then integrity checks against fixed anchors.
    case evidence
    /// TPM structures: TPMS_ATTEST, TPM2B_PUBLIC, TPMT_SIGNATURE.
    case tpm
    /// The sealed upload stream, fed in uneven pieces.
    case stream
    /// The SQL subset compiler.
    case sql
    /// CSV loading against a fixed schema.
    case csv
    /// The TCG crypto-agile measured-boot log: parse, then replay in every bank it declares.
    case bootlog
    /// The IMA measurement list (binary): parse, decode every template, replay to a fixed PCR 10,
    /// recompute `boot_aggregate` against fixed PCRs 0-9.
    case ima
    /// A witness's `add-checkpoint` request body (old size, consistency proof, checkpoint note),
    /// against a witness that has cosigned a checkpoint of the fixed log.
    case witness
    /// The ledger handoff a worker receives at start: CBOR, then the check against its checkpoint.
    case handoff
    /// The ledger claim in launch claims (the `ledger` field), as a party and the audit read it.
    case ledgerClaim = "ledger-claim"
    /// A host log entry (`parley/log-entry/1`) as an auditor and a party read it from a bundle or
    /// from `GET /v1/log/entries`: launch records with their claims, lock-down report and
    /// platform-log delta, worker entries, refusals.
    case logRecord = "log-record"
    /// The HTTP API's JSON bodies as each side decodes them: the host's reading of a query
    /// request, the party client's reading of the host's answers.
    case apiBody = "api-body"

    /// Runs the target on one input.
    public func run(_ bytes: [UInt8]) {
        switch self {
        case .cbor:
            _ = try? CBORDecoder().decode(bytes)
            _ = try? CBORDecoder(mode: .lenient).decode(bytes)
        case .cose:
            if let m = try? COSESign1(bytes: bytes) { _ = m.verify(with: Self.coseKey) }
        case .evidence:
            if let e = try? UnverifiedEvidence.parse(bytes) {
                _ = EvidenceVerifier(anchors: Self.anchors, expectedNonce: Self.nonce, now: Date(timeIntervalSince1970: 1_780_000_000)).verify(e)
            }
        case .tpm:
            _ = try? TPMAttestation.parse(bytes)
            _ = try? TPMECCPublicArea.parse(tpm2bPublic: bytes)
            _ = try? TPMECDSASignature.parse(bytes)
        case .stream:
            var opener = StreamOpener(privateKey: Self.streamKey, info: [1])
            var i = 0, step = 1
            while i < bytes.count {
                let end = min(bytes.count, i + step)
                guard (try? opener.feed(bytes[i..<end])) != nil else { return }
                i = end
                step = step * 3 % 97 + 1
            }
            _ = try? opener.finish()
        case .sql:
            if let text = String(validating: bytes, as: UTF8.self) { _ = try? QueryCompiler.compile(text, catalog: Self.catalog) }
        case .csv:
            guard let schema = Self.catalog.datasets["exposures"] else { return }
            _ = try? CSVLoader.load(bytes, schema: schema, limits: CSVLimits(maxBytes: 1 << 20, maxRows: 10_000, maxFieldBytes: 256))
        case .bootlog:
            guard let log = try? UnverifiedBootLog(bytes: bytes) else { return }
            for bank in log.banks { _ = log.replayedValues(bank: bank) }
            _ = BootLogReplay.replay(log, quoted: Self.zeroPCRs)
        case .ima:
            guard let list = try? UnverifiedIMAList(binary: bytes) else { return }
            for e in list.entries { _ = e.content }
            _ = IMAReplay.replay(list, quoted: Self.zeroPCRs)
            _ = BootAggregateAppraiser.appraise(entries: list.entries, quoted: Self.zeroPCRs)
        case .witness:
            var state = Self.witnessState
            _ = state.add(bytes, now: 1_780_000_000)
        case .handoff:
            if let cbor = try? CBORDecoder().decode(bytes), let handoff = try? LedgerHandoff(cbor: cbor) {
                _ = LedgerTally.verify(handoff, ledger: Self.ledgerID)
            }
        case .ledgerClaim:
            if let cbor = try? CBORDecoder().decode(bytes) { _ = try? LedgerClaim(cbor: cbor, context: "fuzz claims") }
        case .logRecord:
            if let record = try? LogRecord(bytes: bytes) { _ = record.encoded }
        case .apiBody:
            _ = try? APIJSON.decode(QueryRequestBody.self, from: bytes, what: "fuzz")
            _ = try? APIJSON.decode(LiveJobStatus.self, from: bytes, what: "fuzz")
            _ = try? APIJSON.decode(UploadReceiptBody.self, from: bytes, what: "fuzz")
            _ = try? APIJSON.decode(LaunchedJob.self, from: bytes, what: "fuzz")
            _ = try? APIJSON.decode(APIErrorBody.self, from: bytes, what: "fuzz")
        }
    }

    /// The target named by the environment variable `PARLEY_FUZZ_TARGET`.
    public static var fromEnvironment: FuzzTarget? {
        ProcessInfo.processInfo.environment["PARLEY_FUZZ_TARGET"].flatMap(FuzzTarget.init(rawValue:))
    }

    // Fixed inputs, derived deterministically so runs are reproducible.
    static let coseKey = ECVerifyingKey.p384(try! P384.Signing.PrivateKey(rawRepresentation: [UInt8](repeating: 7, count: 48)).publicKey)
    static let streamKey = try! Curve25519.KeyAgreement.PrivateKey(rawRepresentation: [UInt8](repeating: 9, count: 32))
    static let nonce = try! Nonce(bytes: [UInt8](repeating: 5, count: 32))
    static let zeroPCRs = Dictionary(uniqueKeysWithValues: (0..<24).map { ($0, [UInt8](repeating: 0, count: 32)) })
    static let anchors = TrustAnchors(quotingRoot: nil, tpmAttestationKey: Array(P256.Signing.PrivateKey().publicKey.derRepresentation))
    /// The fixed log: its key, entries, ledger id and a witness that has cosigned its first two entries.
    public static let logSigner = try! NoteSignerKey(name: "fuzz.example/log",
                                                     privateKey: Curve25519.Signing.PrivateKey(rawRepresentation: [UInt8](repeating: 3, count: 32)))
    public static let logEntries: [[UInt8]] = (0..<4).map { Array("entry \($0)".utf8) }
    public static let ledgerID = [UInt8](repeating: 6, count: 32)
    public static let witnessState: WitnessState = {
        var tree = MerkleTree()
        for e in logEntries.prefix(2) { _ = tree.append(entry: e) }
        let seen = try! Checkpoint(origin: logSigner.name, size: tree.size, rootHash: tree.rootHash)
        let signer = try! CosignerSigningKey(name: "fuzz.example/witness",
                                             privateKey: Curve25519.Signing.PrivateKey(rawRepresentation: [UInt8](repeating: 4, count: 32)))
        return WitnessState(logs: [logSigner.verifierKey], latest: [logSigner.name: seen], signer: signer)
    }()
    public static let catalog: DatasetCatalog = try! DatasetCatalog([
        DatasetSchema(name: "exposures", provider: "brand", columns: [
            ColumnSchema(name: "email_hash", type: .text), ColumnSchema(name: "campaign", type: .text),
            ColumnSchema(name: "region", type: .int), ColumnSchema(name: "day", type: .date),
        ], privacyUnit: "email_hash"),
        DatasetSchema(name: "purchases", provider: "retailer", columns: [
            ColumnSchema(name: "email_hash", type: .text), ColumnSchema(name: "amount", type: .decimal,
                                                                         bounds: ClampBounds(lower: 0, upper: 5000)),
            ColumnSchema(name: "category", type: .text),
        ], privacyUnit: "email_hash"),
    ])
}
