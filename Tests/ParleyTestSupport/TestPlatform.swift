import Foundation
import ParleyAttestation
import ParleyTPM
import ParleyTPMProvider

/// A test "plays the platform" on a swtpm: it does what firmware and the kernel do on a real
/// machine. Booting extends PCRs 0-9 with the SHA-256 digests of a real measured-boot log and
/// writes that log where the host reads it; each ``measure(path:bytes:)`` or ``run(_:_:)`` is what
/// IMA does on exec: append an `ima-ng` entry to the binary list, then extend PCR 10 with the
/// SHA-256 of its template data.
///
/// The TPM must be private to the test (PCRs 0-15 cannot be reset).
public final class TestPlatform {
    public let directory: String
    public let client: TPMClient
    /// The IMA entries written so far.
    public private(set) var entries: [IMAEntry] = []

    public var bootLogPath: String { directory + "/binary_bios_measurements" }
    public var imaLogPath: String { directory + "/binary_runtime_measurements" }
    public var logPaths: PlatformLogPaths { .init(bootLog: bootLogPath, imaLog: imaLogPath) }

    /// Boots: extends PCRs 0-9 from `bootLog` (the firmware's 0-7 and the boot loader's 8-9, as
    /// they are logged), writes it, and measures `boot_aggregate` as the kernel's first IMA entry:
    /// SHA-256 of the PCR 0-9 values read from the TPM (Linux 5.8+ `ima_calc_boot_aggregate`).
    /// - Parameter bootAggregate: a stand-in digest for the first entry instead (a lying or broken
    ///   kernel), or `.omitted` to write no `boot_aggregate` at all.
    public init(client: TPMClient, bootLog: [UInt8], directory: String, bootAggregate: BootAggregateEntry = .computed) throws {
        self.client = client
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let log = try UnverifiedBootLog(bytes: bootLog)
        for e in log.events where e.isExtended && bootAggregatePCRIndices.contains(e.pcr) {
            guard let d = e.digests[.sha256] else { throw SoftwareTPMError("the boot log has no SHA-256 digest for event \(e.sequence)") }
            try client.extendPCR(e.pcr, with: d)
        }
        try Data(bootLog).write(to: URL(fileURLWithPath: bootLogPath))
        _ = FileManager.default.createFile(atPath: imaLogPath, contents: nil)
        switch bootAggregate {
        case .computed:
            let pcrs = try client.readPCRs(bootAggregatePCRIndices)
            guard let digest = BootAggregateAppraiser.expected(bank: .sha256, pcrs: pcrs) else {
                throw SoftwareTPMError("the TPM did not return PCRs 0-9")
            }
            try measure(path: BootAggregateAppraiser.entryName, digest: digest)
        case .digest(let d):
            try measure(path: BootAggregateAppraiser.entryName, digest: d)
        case .omitted:
            break
        }
    }

    /// What the platform writes as IMA's first entry.
    public enum BootAggregateEntry {
        /// SHA-256 of PCRs 0-9, as the kernel computes it.
        case computed
        /// This digest (wrong, unless it happens to be the computed one).
        case digest([UInt8])
        /// No `boot_aggregate` entry.
        case omitted
    }

    /// Measures a file's bytes under `path` (as IMA does when the file is executed).
    public func measure(path: String, bytes: [UInt8]) throws {
        try measure(path: path, digest: PCRBank.sha256.hash(bytes))
    }

    /// Measures the file at `path`.
    public func measure(file path: String, as measuredPath: String? = nil) throws {
        try measure(path: measuredPath ?? path, bytes: Array(try Data(contentsOf: URL(fileURLWithPath: path))))
    }

    /// Appends an entry with this file digest and extends PCR 10.
    public func measure(path: String, digest: [UInt8]) throws {
        let entry = IMAEntry.file(sequence: entries.count, path: path, algorithm: .sha256, digest: digest)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: imaLogPath))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(entry.binary))
        try handle.close()
        entries.append(entry)
        try client.extendPCR(imaPCRIndex, with: entry.extendDigest(bank: .sha256))
    }

    /// Runs an executable found on PATH as the kernel would: measured first, then executed.
    /// - Returns: its exit status and standard output.
    @discardableResult
    public func run(_ name: String, _ arguments: [String], tcti: String? = nil) throws -> (status: Int32, output: String) {
        let url = try findExecutable(name)
        try measure(file: url.path)
        return try runTool(url, arguments, environment: tcti.map { ["TPM2TOOLS_TCTI": $0] } ?? [:])
    }

    /// Where the shared TPM fixtures live: `../shared/fixtures` beside the package (PROVENANCE.md there).
    public static func fixture(_ relative: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("shared/fixtures/tpm/" + relative).path
    }

    /// The go-attestation crypto-agile log (SHA-256, no StartupLocality): reproducible on a swtpm
    /// started at locality 0.
    public static var bootLogFixture: String { fixture("boot/go-attestation-crypto_agile_eventlog") }
}


/// Runs a tool and returns its exit status and standard output (standard error discarded).
public func runTool(_ url: URL, _ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
    let p = Process()
    p.executableURL = url
    p.arguments = arguments
    if !environment.isEmpty { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
}

extension TestPlatform {
    /// Boots a platform and measures the real built `parley` (the host, under its path) and
    /// `parley-enclave` (under the memfd name the host executes it by) found in `products`.
    public static func bootedHost(client: TPMClient, directory: String, products: URL) throws -> TestPlatform {
        let platform = try TestPlatform(client: client, bootLog: Array(try Data(contentsOf: URL(fileURLWithPath: bootLogFixture))), directory: directory)
        try platform.measure(file: products.appendingPathComponent("parley").path)
        try platform.measure(file: products.appendingPathComponent("parley-enclave").path, as: PlatformReferenceBuilder.workerIMAPath)
        return platform
    }

    /// Reference values written from this platform as it is now (a known-good host), with the
    /// real executables in `products` as the reviewed ones.
    public func reference(products: URL) throws -> PlatformReference {
        let host = products.appendingPathComponent("parley").path, worker = products.appendingPathComponent("parley-enclave").path
        return try reference(executables: [([host], try Self.read(host)), ([PlatformReferenceBuilder.workerIMAPath], try Self.read(worker))])
    }

    /// Reference values from this platform as it is now, with these reviewed executables.
    public func reference(executables: [(paths: [String], bytes: [UInt8])]) throws -> PlatformReference {
        let built = try PlatformReferenceBuilder.build(bootLog: try Self.read(bootLogPath), imaList: try Self.read(imaLogPath), executables: executables)
        return try PlatformReference(boot: built.boot, runtime: built.runtime, requiredMeasured: built.required)
    }

    static func read(_ path: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path))) }
}
