import ArgumentParser
import Foundation
import ParleyParty
import ParleyAttestation
import ParleyCore
import ParleyModule

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the whole advertiser-and-retailer story on synthetic data, in one command.",
        discussion: """
        Makes keys for a brand (the advertiser), a retailer and the module's author; seals the \
        campaign-lift module; generates the brand's ad exposures and the retailer's purchases; \
        starts a host on a free loopback port with the embedded defaults; launches the job; has \
        each party verify the worker's quote against its own policy and upload its data encrypted \
        to the worker; runs the conversion query as the brand; prints what share of each \
        campaign's audience bought; replays the log as an auditor; and shuts everything down.
        """)

    @Option(help: "People in the brand's audience (the retailer has about as many customers).") var rows = 20_000
    @Option(help: "Keep the demo's files in this directory instead of a temporary one.") var keep: String?

    func validate() throws {
        guard (300...5_000_000).contains(rows) else { throw ValidationError("--rows must be between 300 and 5,000,000") }
    }

    func run() async throws {
        let dir = keep ?? FileManager.default.temporaryDirectory.appendingPathComponent("parley-demo-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        // The host is its own process, as in production: parley-host, beside this binary.
        let host: DemoHost
        do { host = try DemoHost.start(data: dir + "/host", worker: defaultWorkerPath()) } catch let e as ParleyError {
            fail(e.reason, code: 2)
        }
        defer {
            host.stop()
            if keep == nil { try? FileManager.default.removeItem(atPath: dir) }
        }
        let rows = self.rows
        do { try await DemoStory(dir: dir, server: host.url, people: rows).run() } catch {
            fail("the demo failed: \((error as? ParleyError)?.reason ?? "\(error)")")
        }
    }
}

/// The demo's host: `parley-host serve` on a free loopback port, in a child process whose output
/// goes to `<data>/serve.log`, stopped (SIGTERM, then waited for) when the demo ends.
final class DemoHost {
    let process: Process
    let url: String

    private init(process: Process, url: String) {
        self.process = process
        self.url = url
    }

    static func start(data: String, worker: String) throws -> DemoHost {
        let executable = ProcessInfo.processInfo.environment["PARLEY_HOST_EXECUTABLE"] ?? SiblingExecutable.path("parley-host")
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw ParleyError(.io, "the demo runs its host with parley-host, which is not at \(executable); build it (swift build)")
        }
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let logPath = data + "/serve.log"
        FileManager.default.createFile(atPath: logPath, contents: nil)
        guard let log = FileHandle(forWritingAtPath: logPath) else { throw ParleyError(.io, "cannot write \(logPath)") }
        let out = Pipe()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["serve", "--data", data, "--listen", "127.0.0.1:0", "--worker", worker]
        process.standardOutput = out
        process.standardError = log
        try process.run()
        // The host prints "listening on http://127.0.0.1:PORT" once it is bound; everything it
        // prints goes on to the log file.
        let reader = out.fileHandleForReading
        var seen = ""
        while true {
            let chunk = reader.availableData
            if chunk.isEmpty {
                process.waitUntilExit()
                throw ParleyError(.io, "the host stopped before it listened (exit \(process.terminationStatus)); see \(logPath)")
            }
            log.write(chunk)
            seen += String(decoding: chunk, as: UTF8.self)
            if let range = seen.range(of: #"listening on (http://127\.0\.0\.1:[0-9]+)"#, options: .regularExpression) {
                let url = String(seen[range].dropFirst("listening on ".count))
                reader.readabilityHandler = { handle in
                    let more = handle.availableData
                    if more.isEmpty { handle.readabilityHandler = nil } else { log.write(more) }
                }
                return DemoHost(process: process, url: url)
            }
        }
    }

    /// SIGTERM: the host stops its workers and exits; then reap it.
    func stop() {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }
}

/// The story itself, in the order people would do it.
struct DemoStory {
    let dir: String
    let server: String
    let people: Int

    func say(_ s: String) { print(s) }

    func run() async throws {
        let http = try HTTP(server: server)
        say("== Parley demo: an advertiser and a retailer measure campaign lift without sharing customer lists ==")
        say("host: \(server) (software quotes; data in \(dir)/host)")

        // Keys and the module.
        let brand = PartyPrivateKey(), retailer = PartyPrivateKey(), author = PartyPrivateKey()
        for (name, key) in [("brand", brand), ("retailer", retailer), ("author", author)] {
            try FileIO.write(Array(key.pemRepresentation.utf8), to: "\(dir)/\(name).key", mode: 0o600)
            try FileIO.write(Array(key.publicKey.pemRepresentation.utf8), to: "\(dir)/\(name).pub")
        }
        try FileIO.write(Array(DemoModule.source.utf8), to: dir + "/campaign-lift.toml")
        let definition = try ModuleDefinition.load(source: dir + "/campaign-lift.toml", author: Array(author.signing.publicKey.derRepresentation))
        let sealed = try SealedModule.seal(definition, key: author)
        try FileIO.write(sealed.bytes, to: dir + "/campaign-lift.parley")
        say("1. the author sealed module campaign-lift; measurement \(sealed.measurement.hex.prefix(24))…")

        // Data.
        let (exposed, buyers) = DemoData.write(dir: dir, people: people)
        say("2. the brand has \(exposed) ad exposures, the retailer \(buyers) purchases (synthetic)")

        // Launch.
        let token = try FileIO.readText(dir + "/host/operator-token").trimmingCharacters(in: .whitespacesAndNewlines)
        let launched = try await ClientOps.launch(http, token: token, bundle: sealed.bytes)
        let job = launched.job
        say("3. the operator launched \(job) in a sandboxed worker")

        // Each party's own policy: the module it reviewed, the runtime it built, the host's quoting root.
        let runtime = MeasurementDigest.of(try FileIO.read(defaultWorkerPath(), maxBytes: 1 << 30))
        let policyText = """
            quote = "software"
            module = "\(sealed.measurement.hex)"
            runtime = ["\(runtime.hex)"]
            quoting_root = "host/quoting-root.pem"
            log_key = "host/log-key.pub"
            max_age_seconds = 300
            allow_debug = false
            """
        try FileIO.write(Array(policyText.utf8), to: dir + "/policy.toml")
        let policy = try AppraisalPolicy.load(path: dir + "/policy.toml")
        // The parties' client state: the newest log checkpoint each verified, and their receipts.
        let log = try await LogFollower(http: http, state: ClientState(directory: dir + "/client-state"), pinnedKey: policy.logKey)

        for (party, key, dataset) in [("brand", brand, "exposures"), ("retailer", retailer, "purchases")] {
            let worker = try await ClientOps.verifiedWorker(http, job: job, policy: policy, log: log)
            let receipt = try await ClientOps.upload(http, job: job, dataset: dataset, file: "\(dir)/\(dataset).csv", key: key, worker: worker, progress: false, log: log)
            say("4. \(party) verified the worker (\(worker.tier) quote, module and runtime as reviewed) and uploaded \(dataset): \(receipt.receipt.rows) rows accepted"
                + (receipt.receipt.workSummary.map { " (\($0))" } ?? ""))
        }

        // The brand's questions.
        let worker = try await ClientOps.verifiedWorker(http, job: job, policy: policy, log: log)
        let reach = try await ClientOps.runQuery(http, job: job, query: "reach", receiver: "brand", key: brand, worker: worker, log: log)
        let conversions = try await ClientOps.runQuery(http, job: job, query: "conversions", receiver: "brand", key: brand, worker: worker, log: log)
        say("5. the brand ran `conversions` (signed, sealed to it, checked against the attested worker key):\n")
        say(ClientOps.render(conversions, format: "table"))
        say("")
        var audience: [String: Double] = [:]
        for row in reach.rows { if let n = row[1].int64 { audience[ClientOps.cell(row[0])] = Double(n) } }
        for row in conversions.rows {
            let campaign = ClientOps.cell(row[0])
            if let b = row[1].int64, let a = audience[campaign], a > 0 {
                say(String(format: "   of the people who saw campaign %@, %.0f%% bought a drink", campaign, Double(b) / a * 100))
            }
        }
        say("\n   budget left after two queries: \(conversions.budgetLeft) of the module's 10")

        // The auditor.
        say("6. " + (try await DemoAudit.replay(dir: dir, server: http)))
        say("== done: the host saw only ciphertext; the worker released only noisy aggregates over groups of 50 or more ==")
    }
}

/// The demo's module: campaign-lift, with its keys beside it.
enum DemoModule {
    static let source = #"""
        name = "campaign-lift"
        version = "1"

        [parties.brand]
        public_key = "brand.pub"
        [parties.retailer]
        public_key = "retailer.pub"

        [datasets.exposures]
        provider = "brand"
        privacy_unit = "email_hash"
        columns = { email_hash = "text", campaign = "text", region = "int" }

        [datasets.purchases]
        provider = "retailer"
        privacy_unit = "email_hash"
        columns = { email_hash = "text", amount = "decimal", category = "text" }
        bounds = { amount = [0, 100] }

        [policy]
        min_group_size = 50
        epsilon_per_query = 1.0
        budget_epsilon = 10.0
        max_groups_per_unit = 1

        [queries.reach]
        receivers = ["brand"]
        sql = """
        SELECT e.campaign, COUNT(DISTINCT e.email_hash) AS people
        FROM exposures e
        GROUP BY e.campaign
        """

        [queries.conversions]
        receivers = ["brand"]
        sql = """
        SELECT e.campaign, COUNT(DISTINCT e.email_hash) AS buyers, SUM(p.amount) AS revenue
        FROM exposures e JOIN purchases p ON e.email_hash = p.email_hash
        WHERE p.category IN ('soda', 'juice')
        GROUP BY e.campaign
        """
        """#
}

/// Synthetic, realistic shapes: hashed e-mail identifiers, three campaigns of different reach
/// and conversion, purchases by exposed and unexposed customers.
enum DemoData {
    static func write(dir: String, people: Int) -> (exposures: Int, purchases: Int) {
        var rng = SplitMix64(seed: 7)
        let campaigns = [("spring-sale", 0.45, 0.35), ("summer-launch", 0.35, 0.22), ("loyalty", 0.20, 0.48)]
        var exposures = "email_hash,campaign,region\n", purchases = "email_hash,amount,category\n"
        var e = 0, p = 0
        for i in 0..<people {
            let id = Hex.encode(DataPlane.sha256(Array("person-\(i)@example.com".utf8)))
            var pick = rng.unit(), chosen = campaigns[0]
            for c in campaigns { if pick < c.1 { chosen = c; break }; pick -= c.1 }
            exposures += "\(id),\(chosen.0),\(1 + Int(rng.unit() * 8))\n"
            e += 1
            if rng.unit() < chosen.2 {
                let cat = rng.unit() < 0.8 ? (rng.unit() < 0.6 ? "soda" : "juice") : "snacks"
                purchases += "\(id),\(String(format: "%.2f", 1 + rng.unit() * 20)),\(cat)\n"
                p += 1
            }
            if rng.unit() < 0.3 {
                let other = Hex.encode(DataPlane.sha256(Array("shopper-\(i)@example.com".utf8)))
                purchases += "\(other),\(String(format: "%.2f", 1 + rng.unit() * 20)),soda\n"
                p += 1
            }
        }
        FileManager.default.createFile(atPath: dir + "/exposures.csv", contents: Data(exposures.utf8))
        FileManager.default.createFile(atPath: dir + "/purchases.csv", contents: Data(purchases.utf8))
        return (e, p)
    }
}

/// A small deterministic generator for synthetic data (not for anything secret).
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}
