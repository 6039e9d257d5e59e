import Foundation
import ParleyAttestation
import ParleyCore
import ParleyHost
import ParleyModule
import ParleyQuoting

/// Launch-to-ready latency: spawn from a sealed memfd, lock-down, key generation, module check,
/// handshake, and a software quote; the median of many runs, beside the median cost of
/// spawning and reaping `/bin/true` in the same run.
func benchLaunch(worker: String, runs: Int = 30) async throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("parley-bench-launch-\(getpid())").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let author = PartyPrivateKey(), party = PartyPrivateKey()
    try party.publicKey.pemRepresentation.write(toFile: dir + "/p.pub", atomically: true, encoding: .utf8)
    try """
    name = "bench"
    version = "1"
    [parties.p]
    public_key = "p.pub"
    [datasets.d]
    provider = "p"
    privacy_unit = "id"
    columns = { id = "text", g = "text" }
    [policy]
    min_group_size = 10
    epsilon_per_query = 1.0
    budget_epsilon = 10.0
    max_groups_per_unit = 1
    [queries.q]
    receivers = ["p"]
    sql = "SELECT d.g, COUNT(DISTINCT d.id) AS n FROM d GROUP BY d.g"
    """.write(toFile: dir + "/m.toml", atomically: true, encoding: .utf8)
    let bundle = try SealedModule.seal(try ModuleDefinition.load(source: dir + "/m.toml", author: Array(author.signing.publicKey.derRepresentation)), key: author).bytes
    let service = HostService(configuration: .init(dataDirectory: dir, workerExecutable: worker), quotes: try SoftwareQuoteProvider(dataDirectory: dir))
    func median(_ xs: [Double]) -> Double { xs.sorted()[xs.count / 2] }
    var launches: [Double] = []
    for _ in 0..<runs {
        let t0 = DispatchTime.now().uptimeNanoseconds
        let job = try await service.launch(bundle: bundle)
        _ = try await service.evidence(job: job.id, nonce: .random())
        launches.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
        try await service.stop(job: job.id)
    }
    var spawns: [Double] = []
    for _ in 0..<runs {
        let t0 = DispatchTime.now().uptimeNanoseconds
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/true")
        try p.run()
        p.waitUntilExit()
        spawns.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
    }
    print("launch.ready_ms\t\(String(format: "%.1f", median(launches)))\tms")
    print("launch.spawn_true_ms\t\(String(format: "%.1f", median(spawns)))\tms")
}
