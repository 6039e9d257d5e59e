import Crypto
import Foundation
import ParleyAttestation
import ParleyCore
import ParleyTPM
import ParleyTPMProvider
import ParleyQuoting

/// Software quote generation and full verification (parse, chain, signature, appraisal) per
/// second; TPM evidence latency through ESAPI when PARLEY_BENCH_TCTI names a TPM.
func benchAttestation() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("parley-bench-\(getpid())").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let now = Date()
    let ca = try SoftwareQuotingCA.openOrCreate(dataDirectory: dir, now: now)
    let claims = LaunchClaims(job: "bench", runtime: .of([1]), module: .of([2]), moduleSigner: .of([3]), debug: false,
                              publicKey: Array(Curve25519.KeyAgreement.PrivateKey().publicKey.rawRepresentation),
                              signingKey: Array(P384.Signing.PrivateKey().publicKey.derRepresentation))
    let policy = try AppraisalPolicy(quote: .software, module: claims.module, runtime: [claims.runtime],
                                     anchors: TrustAnchors(quotingRoot: ca.root))
    measure("attest.sw.quote") { for _ in 0..<50 { _ = try! ca.quote(claims, nonce: .random(), at: now) }; return 50 }
    let nonce = Nonce.random()
    let doc = try ca.quote(claims, nonce: nonce, at: now)
    let verifier = AttestationVerifier(policy: policy, now: now)
    measure("attest.sw.verify") {
        for _ in 0..<50 {
            var ledger = InMemoryNonceLedger()
            guard case .trusted = verifier.verify(doc, nonce: nonce, ledger: &ledger) else { fatalError("verify failed") }
        }
        return 50
    }
    if let tcti = ProcessInfo.processInfo.environment["PARLEY_BENCH_TCTI"] {
        let platform = try benchPlatform(tcti: tcti, dir: dir)
        let provider = try TPMQuoteProvider(tcti: tcti, dataDirectory: dir, platformLogs: platform.paths, now: { now })
        try provider.recordLaunch(claims)
        measure("attest.tpm.evidence", minSeconds: 3) { for _ in 0..<5 { _ = try! provider.evidence(job: "bench", nonce: .random()) }; return 5 }
        try benchTPMVerify(provider: provider, claims: claims, platform: platform, dir: dir, now: now)
    }
}

/// The bench plays the platform on its private swtpm (as the tests' TestPlatform does): PCRs 0-7
/// from a real 48 KiB boot log (keylime's, without its StartupLocality event, which a swtpm
/// started at locality 0 cannot reproduce) and 8-9 from its boot loader events, and 2,000 IMA
/// entries (boot_aggregate first) extended into PCR 10.
struct BenchPlatform {
    let paths: PlatformLogPaths
    let reference: PlatformReference
}

func benchPlatform(tcti: String, dir: String) throws -> BenchPlatform {
    let source = ProcessInfo.processInfo.environment["PARLEY_BENCH_BOOT_LOG"] ?? "../shared/fixtures/tpm/boot/keylime-binary_bios_measurements"
    let real = try UnverifiedBootLog(bytes: try FileIO.read(source))
    let boot = UnverifiedBootLog(header: real.header, banks: real.banks,
                                 events: real.events.filter { !($0.pcr == 0 && !$0.isExtended && $0.data.starts(with: Array("StartupLocality".utf8))) })
    let client = try TPMClient(tcti: tcti)
    for e in boot.events where e.isExtended && bootAggregatePCRIndices.contains(e.pcr) { try client.extendPCR(e.pcr, with: e.digests[.sha256] ?? []) }
    // IMA's first entry, boot_aggregate (SHA-256 of PCRs 0-9), then 1,999 files: 2,000 entries.
    let aggregate = IMAEntry.file(sequence: 0, path: BootAggregateAppraiser.entryName, algorithm: .sha256,
                                  digest: BootAggregateAppraiser.expected(bank: .sha256, pcrs: try client.readPCRs(bootAggregatePCRIndices)) ?? [])
    try client.extendPCR(imaPCRIndex, with: aggregate.extendDigest(bank: .sha256))
    var entries: [IMAEntry] = [aggregate]
    for i in 1..<2_000 {
        let e = IMAEntry.file(sequence: i, path: "/usr/lib/bench/file-\(i).so", algorithm: .sha256, digest: PCRBank.sha256.hash(Array("file \(i)".utf8)))
        try client.extendPCR(imaPCRIndex, with: e.extendDigest(bank: .sha256))
        entries.append(e)
    }
    let paths = PlatformLogPaths(bootLog: dir + "/bench-boot.log", imaLog: dir + "/bench-ima.log")
    try FileIO.write(boot.encoded, to: paths.bootLog)
    try FileIO.write(UnverifiedIMAList(entries: entries).binary, to: paths.imaLog)
    let built = try PlatformReferenceBuilder.build(bootLog: boot.encoded, imaList: UnverifiedIMAList(entries: entries).binary, executables: [])
    let required = [Hex.encode(PCRBank.sha256.hash(Array("file 1".utf8)))]
    return BenchPlatform(paths: paths, reference: try PlatformReference(boot: built.boot, runtime: built.runtime, requiredMeasured: required))
}

/// Full verification of TPM evidence with both logs (parse, quote, replay of the boot log and the
/// 2,000-entry IMA list, appraisal), and the files for the baseline the script times beside it:
/// `tpm2_checkquote` on the same quote plus `tpm2_eventlog` on the same boot log.
func benchTPMVerify(provider: TPMQuoteProvider, claims: LaunchClaims, platform: BenchPlatform, dir: String, now: Date) throws {
    let ak = try ECVerifyingKey(pem: provider.attestationKeyPEM).derRepresentation
    let policy = try AppraisalPolicy(quote: .tpm, module: claims.module, runtime: [claims.runtime],
                                     anchors: TrustAnchors(tpmAttestationKey: ak), platform: platform.reference)
    let nonce = Nonce.random()
    let evidence = try provider.evidence(job: claims.job, nonce: nonce)
    let verifier = AttestationVerifier(policy: policy, now: now)
    measure("attest.tpm.verify", minSeconds: 3) {
        for _ in 0..<5 {
            var ledger = InMemoryNonceLedger()
            guard case .trusted = verifier.verify(evidence, nonce: nonce, ledger: &ledger, job: claims.job) else { fatalError("TPM verify failed") }
        }
        return 5
    }
    // The baseline's inputs, from the same evidence.
    let out = ProcessInfo.processInfo.environment["PARLEY_BENCH_OUT"] ?? dir
    let m = try CBORDecoder(limits: .init(maxBytes: 40 << 20, maxDepth: 4, maxItems: 10_000)).decode(evidence).textKeyedMap("evidence")
    try FileIO.write(try m.required("attest", in: "e").bytesValue("attest"), to: out + "/tpm-attest")
    try FileIO.write(try m.required("signature", in: "e").bytesValue("sig"), to: out + "/tpm-sig")
    guard case .map(let pcrs)? = m["pcrs"] else { return }
    let quoted = provider.quotedPCRs
    try FileIO.write(try quoted.flatMap { try (pcrs[.unsigned(UInt64($0))] ?? .bytes([])).bytesValue("pcr") }, to: out + "/tpm-pcrs")
    try FileIO.write(Array(provider.attestationKeyPEM.utf8), to: out + "/tpm-ak.pem")
    try FileIO.write(try FileIO.read(platform.paths.bootLog), to: out + "/tpm-boot.log")
    try FileIO.write(Array((quoted.map(String.init).joined(separator: ",") + "\n" + nonce.hex + "\n").utf8), to: out + "/tpm-quote-args")
    print("attest.tpm.boot_log_bytes\t\(try FileIO.read(platform.paths.bootLog).count)\tbytes")
}
