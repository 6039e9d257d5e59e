import Crypto
import Foundation
import ParleyCore
import ParleyAttestation

// parley-bench: micro-benchmarks of ParleyCore, run by Scripts/bench.sh in release mode.
// Prints one line per measurement: `name<TAB>operations per second<TAB>unit`. The script sets
// each beside a baseline measured in the same run (openssl speed) and reports the ratio.

func measure(_ name: String, unit: String = "ops/s", minSeconds: Double = 1.0, _ body: () throws -> Int) rethrows {
    var ops = 0
    let start = DispatchTime.now().uptimeNanoseconds
    var elapsed = 0.0
    repeat {
        ops += try body()
        elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    } while elapsed < minSeconds
    print("\(name)\t\(String(format: "%.1f", Double(ops) / elapsed))\t\(unit)")
}

let which = Set(CommandLine.arguments.dropFirst())
func enabled(_ group: String) -> Bool { which.isEmpty || which.contains(group) }

if enabled("core") {
    let doc = CBOR.textMap([
        "format": .text("parley/sw-quote/1"), "job": .text("job-0123456789"),
        "timestamp": .unsigned(1_764_000_000_000), "debug": .bool(false),
        "measurements": .textMap(["runtime": .bytes(.init(repeating: 1, count: 48)),
                                  "module": .bytes(.init(repeating: 2, count: 48)),
                                  "module_signer": .bytes(.init(repeating: 3, count: 48))]),
        "public_key": .bytes(.init(repeating: 4, count: 32)), "signing_key": .bytes(.init(repeating: 5, count: 91)),
        "nonce": .bytes(.init(repeating: 6, count: 32)), "certificate": .bytes(.init(repeating: 7, count: 600)),
        "cabundle": .array([.bytes(.init(repeating: 8, count: 600))]),
    ])
    let encoded = CBOREncoder.encode(doc)
    let decoder = CBORDecoder()
    measure("cbor.encode.quote-doc") { for _ in 0..<1000 { _ = CBOREncoder.encode(doc) }; return 1000 }
    measure("cbor.decode.quote-doc") { for _ in 0..<1000 { _ = try! decoder.decode(encoded) }; return 1000 }

    let p384 = ECSigningKey.p384(.init())
    let signed = try COSESign1.sign(payload: encoded, with: p384)
    measure("cose.es384.sign") { for _ in 0..<50 { _ = try! COSESign1.sign(payload: encoded, with: p384) }; return 50 }
    measure("cose.es384.verify") {
        for _ in 0..<50 {
            guard case .valid = try! COSESign1(bytes: signed).verify(with: p384.publicKey) else { fatalError("verify failed") }
        }
        return 50
    }

    let key = Curve25519.KeyAgreement.PrivateKey()
    let chunk = [UInt8](repeating: 0x5a, count: SealedStream.defaultChunkSize)
    measure("stream.seal+open", unit: "bytes/s", minSeconds: 2) {
        var sealer = try! StreamSealer(recipient: key.publicKey, info: [1])
        var opener = StreamOpener(privateKey: key, info: [1])
        _ = try! opener.feed(sealer.header)
        var n = 0
        for i in 0..<256 {
            for pt in try! opener.feed(try! sealer.sealChunk(chunk, isFinal: i == 255)) { n += pt.count }
        }
        try! opener.finish()
        return n
    }
}

if enabled("attest") {
    try benchAttestation()
}

if enabled("launch") {
    let worker = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("parley-enclave").path
    try await benchLaunch(worker: worker)
}

// The engine against DuckDB and sqlite3: run by Scripts/bench-engine.sh, which sets the data directory.
if enabled("identifiers") { try benchIdentifiers() }
if enabled("engine"), let directory = ProcessInfo.processInfo.environment["PARLEY_BENCH_DATA"] { try benchEngine(dataDirectory: directory) }
if CommandLine.arguments.count == 3, CommandLine.arguments[1] == "engine-child" { try benchEngineChild(dataDirectory: CommandLine.arguments[2]) }

if enabled("upload") {
    let worker = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("parley-enclave").path
    try await benchUpload(worker: worker)
}
