import Foundation
import ParleyAttestation
import ParleyCore
import ParleyHost
import ParleyHTTP
import ParleyAudit
import ParleyModule
import ParleyParty
import ParleyQuoting
import ParleyHostLog

/// End-to-end upload throughput: seal on the client, HTTP to the host, relay to the worker,
/// decrypt, parse the CSV, sign the receipt. Compared by bench.sh with `openssl speed` AES-256-GCM.
func benchUpload(worker: String, megabytes: Int = 100) async throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("parley-bench-upload-\(getpid())").path
    try FileManager.default.createDirectory(atPath: dir + "/host", withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let brand = PartyPrivateKey(), author = PartyPrivateKey()
    try brand.publicKey.pemRepresentation.write(toFile: dir + "/b.pub", atomically: true, encoding: .utf8)
    try """
    name = "upload-bench"
    version = "1"
    [parties.b]
    public_key = "b.pub"
    [datasets.d]
    provider = "b"
    privacy_unit = "id"
    columns = { id = "text", g = "text", n = "int" }
    [policy]
    min_group_size = 10
    epsilon_per_query = 1.0
    budget_epsilon = 10.0
    max_groups_per_unit = 1
    [queries.q]
    receivers = ["b"]
    sql = "SELECT d.g, COUNT(DISTINCT d.id) AS people FROM d GROUP BY d.g"
    """.write(toFile: dir + "/m.toml", atomically: true, encoding: .utf8)
    let sealed = try SealedModule.seal(try ModuleDefinition.load(source: dir + "/m.toml", author: Array(author.signing.publicKey.derRepresentation)), key: author)
    var csv = Array("id,g,n\n".utf8)
    var i = 0
    while csv.count < megabytes * 1_000_000 {
        csv += Array("\(String(format: "%064x", i &* 2_654_435_761)),g\(i % 7),\(i % 1000)\n".utf8)
        i += 1
    }
    FileManager.default.createFile(atPath: dir + "/d.csv", contents: Data(csv))

    let data = dir + "/host"
    let service = HostService(configuration: .init(dataDirectory: data, workerExecutable: worker), quotes: try SoftwareQuoteProvider(dataDirectory: data))
    let server = HostServer(service: service, store: try JobStore(path: data + "/jobs.sqlite"), log: try HostLog(dataDirectory: data),
                            token: try OperatorToken.loadOrCreate(dataDirectory: data))
    server.connect()
    let port = BoundPort()
    let app = try server.application(host: "127.0.0.1", port: 0, logLevel: .critical) { port.set($0) }
    let task = Task { try await app.runService(gracefulShutdownSignals: []) }
    defer { task.cancel() }
    let http = try HTTP(server: "http://127.0.0.1:\(try await port.wait())")
    let token = try OperatorToken.loadOrCreate(dataDirectory: data)
    let policy = try AppraisalPolicy(quote: .software, module: sealed.measurement, runtime: [.of(try FileIO.read(worker, maxBytes: 1 << 30))],
                                     anchors: TrustAnchors(quotingRoot: try Certificate(pem: try FileIO.readText(data + "/quoting-root.pem"))))
    let size = csv.count
    let job = try await ClientOps.launch(http, token: token, bundle: sealed.bytes).job
    let w = try await ClientOps.verifiedWorker(http, job: job, policy: policy)
    let t0 = DispatchTime.now().uptimeNanoseconds
    _ = try await ClientOps.upload(http, job: job, dataset: "d", file: dir + "/d.csv", key: brand, worker: w, progress: false)
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
    await service.shutdown()
    print("upload.end_to_end\t\(String(format: "%.1f", Double(size) / seconds))\tbytes/s")
}
