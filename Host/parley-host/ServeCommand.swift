import ArgumentParser
import Foundation
import Hummingbird
import ParleyAudit
import ParleyCore
import ParleyHostLog
import ParleyQuoting
import ParleyHost
import ParleyHTTP
import ParleyTPMProvider

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the host: the HTTP API that launches and supervises workers.",
        discussion: """
        With no flags: data in ./parley-data, listening on 127.0.0.1:7300, software quotes from a \
        quoting CA created on first start. On first start the data directory receives \
        quoting-root.pem (and tpm-ak.pem with --quote tpm) for parties to pin, operator-token \
        (mode 0600) for operator requests, and log-key.pub for auditors. Stop with Ctrl-C: \
        workers are stopped; a later start marks jobs that were live as failed.

        The host refuses to start while its secrets (log-key, operator-token, quoting-ca/*-key.pem) \
        or their directories are open to other users, and prints the chmod that fixes it. \
        Run as root, it starts every worker as the unprivileged user parley-worker (or nobody). \
        A request must send its headers within --header-seconds and may stall at most \
        --idle-seconds (an upload cut so is refused); one address holds at most \
        --max-connections-per-address connections.

        Examples:
          parley serve
          parley serve --quote tpm --tcti device:/dev/tpmrm0
          parley serve --quote tpm --tcti swtpm:path=/run/swtpm/sock --listen 127.0.0.1:7400
          parley serve --tls-cert host.crt --tls-key host.key   # HTTPS

        With --quote tpm, launches are measured into PCR 13 (which nothing on the host can reset) \
        and every quote covers PCRs 0-7, 10 and 13 and carries the firmware's measured-boot log \
        and the kernel's IMA list (--boot-log, --ima-log), which parties replay and appraise \
        against their own reference values (`parley attest reference`). The host refuses to \
        start if PCR 13 holds a value its launch log does not explain. --no-platform-logs sends \
        quotes without them: parties refuse those unless they set allow_unappraised_tpm, and \
        then anyone who controls the TPM can forge launches.
        """
    )

    @Option(help: "Data directory.") var data = "parley-data"
    @Option(help: "Address to listen on, HOST:PORT (port 0 picks a free one).") var listen = "127.0.0.1:7300"
    @Option(help: "Quote provider: software or tpm.") var quote = "software"
    @Option(help: "TPM TCTI, with --quote tpm (e.g. device:/dev/tpmrm0 or swtpm:path=…).") var tcti = "device:/dev/tpmrm0"
    @Option(help: "With --quote tpm: the measured-boot event log to send with each quote.")
    var bootLog = PlatformLogPaths.linuxDefault.bootLog
    @Option(help: "With --quote tpm: the binary IMA measurement list to send with each quote.")
    var imaLog = PlatformLogPaths.linuxDefault.imaLog
    @Flag(help: "With --quote tpm: send no platform logs (parties refuse such quotes by default: they prove nothing against whoever controls the TPM).")
    var noPlatformLogs = false
    @Option(help: "Worker executable (default: the parley-enclave beside parley).") var worker: String?
    @Option(help: "Serve HTTPS with this PEM certificate chain (with --tls-key).") var tlsCert: String?
    @Option(help: "The PEM private key of --tls-cert.") var tlsKey: String?
    @Option(help: "Seconds a request may send nothing (an upload that stalls) before it is cut and refused.")
    var idleSeconds: Double = 30
    @Option(help: "Seconds a connection has to send a request's line and headers.")
    var headerSeconds: Double = 10
    @Option(help: "Connections one client address may hold at once; more are closed on arrival.")
    var maxConnectionsPerAddress = 128
    @Option(name: .customLong("witness"), help: "A witness (`parley witness`) URL to gather checkpoint cosignatures from (repeatable).")
    var witnesses: [String] = []
    @Option(help: ArgumentHelp("Memory each worker may use (its address-space limit), in MiB or with a unit: 4096, 8G, 512M. Uploads have no size cap: a dataset that will not fit is refused, saying how much it needs. Default: half of this machine's memory.", valueName: "size"))
    var workerMemory: String?
    @Flag(help: "Start workers WITHOUT their sandbox. Their evidence says so and parties refuse it by default. Never for real data.")
    var debugWorkers = false

    func validate() throws {
        guard listenParts != nil else { throw ValidationError("--listen must be HOST:PORT, e.g. 127.0.0.1:7300") }
        guard quote == "software" || quote == "tpm" else { throw ValidationError("--quote must be software or tpm") }
        guard (tlsCert == nil) == (tlsKey == nil) else { throw ValidationError("--tls-cert and --tls-key go together") }
        guard idleSeconds > 0, idleSeconds <= 3600 else { throw ValidationError("--idle-seconds must be above 0 and at most 3600, e.g. 30") }
        guard headerSeconds > 0, headerSeconds <= 600 else { throw ValidationError("--header-seconds must be above 0 and at most 600, e.g. 10") }
        guard maxConnectionsPerAddress >= 1 else { throw ValidationError("--max-connections-per-address must be at least 1, e.g. 128") }
        if let workerMemory {
            guard let mib = WorkerMemorySize.mebibytes(workerMemory) else {
                throw ValidationError("--worker-memory must be a size in MiB or with a unit (M, G), e.g. 4096 or 8G")
            }
            guard mib >= WorkerMemorySize.minimumMiB else {
                throw ValidationError("--worker-memory must be at least \(WorkerMemorySize.minimumMiB) MiB: the worker itself needs about that much")
            }
        }
    }

    var listenParts: (String, Int)? {
        guard let i = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: i)...]), (0...65535).contains(port) else { return nil }
        return (String(listen[..<i]), port)
    }

    func run() async throws {
        let (host, port) = listenParts!
        let started: RunningHost
        do {
            var limits = HostServer.Limits()
            limits.idleDeadline = idleSeconds
            limits.headerDeadline = headerSeconds
            limits.maxConnectionsPerAddress = maxConnectionsPerAddress
            started = try RunningHost.start(data: data, quote: quote, tcti: tcti, worker: worker ?? defaultWorkerPath(), debugWorkers: debugWorkers,
                                            witnesses: witnesses,
                                            platformLogs: noPlatformLogs ? nil : PlatformLogPaths(bootLog: bootLog, imaLog: imaLog),
                                            limits: limits, workerMemoryMiB: workerMemory.flatMap(WorkerMemorySize.mebibytes))
        } catch let e as ParleyError {
            fail(e.reason, code: 2)
        }
        let tls = tlsCert.map { HostServer.TLSFiles(certificateChain: $0, privateKey: tlsKey ?? "") }
        let scheme = tls == nil ? "http" : "https"
        let app: any ApplicationProtocol
        do {
            app = try started.server.application(host: host, port: port, tls: tls) { bound in
            print("parley serve: listening on \(scheme)://\(host):\(bound)  (data \(data), \(quote) quotes, \(started.workerMemoryMiB) MiB per worker\(debugWorkers ? ", DEBUG WORKERS" : ""))")
            print("parley serve: operator token in \(OperatorToken.path(in: data)); parties pin \(quote == "tpm" ? "tpm-ak.pem" : "quoting-root.pem") from \(data)")
            fflush(nil) // flush every output stream: whoever started us waits for that line
            }
        } catch let e as ParleyError {
            await started.service.shutdown()
            fail(e.reason, code: 2)
        }
        // The log must not silently miss an event: when it cannot record one, stop serving.
        let server = started.server
        Task.detached {
            let reason = await server.untilRecordingFails()
            FileHandle.standardError.write(Data("parley serve: \(reason); stopping\n".utf8))
            Foundation.exit(75)
        }
        do { try await app.runService() } catch {
            await started.service.shutdown()
            fail("the server stopped: \(error)", code: 1)
        }
        await started.service.shutdown()
    }
}

/// A host assembled from its parts: what `serve` and `demo` both start.
struct RunningHost {
    let service: HostService
    let server: HostServer
    /// Each worker's memory (its address-space limit), MiB.
    let workerMemoryMiB: Int

    static func start(data: String, quote: String, tcti: String, worker: String, debugWorkers: Bool = false,
                      witnesses: [String] = [], platformLogs: PlatformLogPaths? = nil,
                      limits: HostServer.Limits = HostServer.Limits(), workerMemoryMiB: Int? = nil) throws -> RunningHost {
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        guard FileManager.default.isExecutableFile(atPath: worker) else {
            throw ParleyError(.io, "no worker executable at \(worker); build it (swift build) or pass --worker PATH")
        }
        // The log key, the quoting CA's keys and the operator token: refuse to use them if anyone
        // else could read them (checked before they are loaded, and again once all exist).
        try HostSecrets.requireProtected(dataDirectory: data)
        let token = try OperatorToken.loadOrCreate(dataDirectory: data)
        let quotes: any QuoteProvider = quote == "tpm"
            ? try TPMQuoteSource(tcti: tcti, dataDirectory: data, platformLogs: platformLogs)
            : try SoftwareQuoteProvider(dataDirectory: data)
        let log = try HostLog(dataDirectory: data)
        let store = try JobStore(path: data + "/jobs.sqlite")
        for orphan in try store.failOrphans(at: Date()) {
            try log.recordFailed(job: orphan, reason: "the host restarted while the job was live; its worker, keys and data are gone")
        }
        try HostSecrets.requireProtected(dataDirectory: data)
        var config = HostService.Configuration(dataDirectory: data, workerExecutable: worker)
        config.debugWorkers = debugWorkers
        let memory = workerMemoryMiB ?? WorkerMemorySize.defaultMiB()
        config.workerEnvironment["PARLEY_ENCLAVE_MEMORY_MIB"] = String(memory)
        let service = HostService(configuration: config, quotes: quotes)
        let server = HostServer(service: service, store: store, log: log, token: token, limits: limits)
        server.witnesses = WitnessCollector(witnesses: witnesses)
        server.connect()
        return RunningHost(service: service, server: server, workerMemoryMiB: memory)
    }
}

/// `--worker-memory`: sizes and the default.
enum WorkerMemorySize {
    /// Below this a worker cannot start (its runtime, libraries and sandbox).
    static let minimumMiB = 256

    /// `4096` (MiB), `512M`, `8G`, `1T`; nil if not a size.
    static func mebibytes(_ text: String) -> Int? {
        let t = text.trimmingCharacters(in: .whitespaces).uppercased()
        let units: [(String, Int)] = [("TIB", 1 << 20), ("GIB", 1 << 10), ("MIB", 1), ("T", 1 << 20), ("G", 1 << 10), ("M", 1)]
        for (suffix, factor) in units where t.hasSuffix(suffix) {
            guard let n = Int(t.dropLast(suffix.count)), n > 0 else { return nil }
            let (v, o) = n.multipliedReportingOverflow(by: factor)
            return o ? nil : v
        }
        guard let n = Int(t), n > 0 else { return nil }
        return n
    }

    /// Half of the machine's physical memory (at least the minimum).
    static func defaultMiB() -> Int {
        let pages = sysconf(Int32(_SC_PHYS_PAGES)), size = sysconf(Int32(_SC_PAGESIZE))
        guard pages > 0, size > 0 else { return 4096 }
        // Parenthesised: in Swift `>>` binds tighter than `*`.
        return max(minimumMiB, (Int(pages) / 2 * Int(size)) >> 20)
    }
}
