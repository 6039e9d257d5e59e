import ArgumentParser
import Foundation
import Hummingbird
import ParleyCore
import ParleyLog
import ParleyWitness

/// The witness executable; `parley witness ARGS` execs it with ARGS.
@main
struct WitnessCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parley-witness",
        abstract: "Run a witness: follow host logs and cosign their checkpoints (C2SP tlog-witness).",
        discussion: """
        Anyone may run one: a party, or a third party the parties trust. The witness keeps the \
        latest checkpoint it cosigned for each log it follows and cosigns a new one only with a \
        consistency proof from it (POST /add-checkpoint, c2sp.org/tlog-witness); a fork, a \
        rollback or a bad proof is refused. Cosignatures are C2SP `cosignature/v1` (Ed25519).

        On first start it creates its key in the data directory; give witness-key.pub to the \
        parties (their policy: witnesses = ["witness-key.pub"], witness_quorum = 1) and the \
        witness URL to the operator (`parley serve --witness URL`).

        Example:
          parley witness --data witness-data --name witness.example/w1 --log host/log-key.pub --listen 127.0.0.1:7400
        """)
    @Option(help: "Data directory (key and state).") var data = "parley-witness"
    @Option(help: "The witness's name, used when its key is created (a schema-less URL).") var name = "parley.local/witness"
    @Option(name: .customLong("log"), help: "A log's verifier key file (log-key.pub) to follow (repeatable).") var logs: [String] = []
    @Option(help: "Address to listen on, HOST:PORT (port 0 picks a free one).") var listen = "127.0.0.1:7400"

    func validate() throws {
        guard !logs.isEmpty else { throw ValidationError("give at least one --log log-key.pub to follow") }
    }

    func run() async throws {
        let keys: [NoteVerifierKey]
        do {
            keys = try logs.map { path in
                do { return try NoteVerifierKey(parsing: try FileIO.readText(path).trimmingCharacters(in: .whitespacesAndNewlines)) } catch let e as LogError {
                    throw ParleyError(.badKey, "\(path) is not a log verifier key: \(e.reason)")
                }
            }
        } catch let e as ParleyError { fail(e.reason, code: 2) }
        let parts = listen.split(separator: ":")
        guard parts.count == 2, let port = Int(parts[1]) else { fail("--listen must be HOST:PORT", code: 2) }
        let witness: WitnessServer
        do { witness = try WitnessServer(dataDirectory: data, name: name, logs: keys) } catch let e as ParleyError { fail(e.reason, code: 2) }
        let key = witness.key.encoded
        let host = String(parts[0])
        let app = witness.application(host: host, port: port) { bound in
            print("witness \(key) listening on http://\(host):\(bound)")
            fflush(nil) // whoever started us waits for that line
        }
        try await app.runService()
    }
}

/// Prints `message` to standard error and exits with `code`: for refusals a person must act on.
func fail(_ message: String, code: Int32 = 1) -> Never {
    FileHandle.standardError.write(Data(("parley: " + message + "\n").utf8))
    exit(code)
}
