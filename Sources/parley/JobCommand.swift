import ArgumentParser
import Foundation
import ParleyParty
import ParleyCore
import ParleyLog

/// Where a verb finds the host and, for operator verbs, the token.
struct ServerOptions: ParsableArguments {
    @Option(help: "The host's URL.") var server = "http://127.0.0.1:7300"
}

/// Where a party's or auditor's client keeps what it saw of each host log (docs/log.md section 7).
struct StateOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Your client state directory: the newest log checkpoint you verified per log key, and your receipts.",
                               discussion: "Default: $XDG_CONFIG_HOME/parley, else ~/.config/parley. Keep it: it is how you catch a host that rolls back or rewrites its log."))
    var state: String?

    var clientState: ClientState { ClientState(directory: state ?? ClientState.defaultDirectory()) }

    /// Follows the log of the host at `http`, with the log key pinned in `policy` if it pins one.
    func follower(_ http: HTTP, pinnedKey: NoteVerifierKey?, witnesses: [CosignerKey] = [], quorum: Int = 0) async throws -> LogFollower {
        let follower = try await LogFollower(http: http, state: clientState, pinnedKey: pinnedKey, witnesses: witnesses, quorum: quorum)
        if !follower.keyPinned {
            FileHandle.standardError.write(Data("parley: warning: your policy pins no log_key; the host's own log key \(follower.key.name)+\(String(format: "%08x", follower.key.keyID)) is used, so a host that starts a new log under a new key is not caught (add log_key = \"log-key.pub\")\n".utf8))
        }
        return follower
    }
}

struct OperatorOptions: ParsableArguments {
    @Option(help: "The host's data directory (the token is read from it).") var data = "parley-data"
    @Option(help: "A file holding the operator token (instead of --data).") var token: String?

    func loadToken() throws -> String {
        let path = token ?? HostFiles.operatorToken(in: data)
        do { return try FileIO.readText(path).trimmingCharacters(in: .whitespacesAndNewlines) } catch {
            throw ParleyError(.io, "no operator token at \(path): pass --data DIR (the host's data directory) or --token FILE")
        }
    }
}

struct JobCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "job", abstract: "Launch, inspect and stop jobs (operator).",
        subcommands: [Launch.self, Status.self, List.self, Stop.self])

    struct Launch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Launch a job from a sealed module; prints the job id on its last line.",
            discussion: "Example: JOB=$(parley job launch campaign-lift.parley | tail -1)")
        @Argument(help: "The sealed module (.parley).") var bundle: String
        @OptionGroup var server: ServerOptions
        @OptionGroup var op: OperatorOptions

        func run() async throws {
            do {
                let http = try HTTP(server: server.server)
                let r = try await ClientOps.launch(http, token: try op.loadToken(), bundle: try FileIO.read(bundle, maxBytes: 1 << 20))
                print("launched \(r.module) with \(r.tier) quotes; runtime \(r.runtime)")
                print(r.job)
            } catch let e as ParleyError { fail(e.reason) }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a job's state, datasets and queries (JSON).")
        @Argument(help: "Job id.") var job: String
        @OptionGroup var server: ServerOptions

        func run() async throws {
            do {
                let r = try await HTTP(server: server.server).request("GET", "/v1/jobs/\(job)")
                guard r.status == 200 else { fail("\(r.errorMessage)") }
                print(r.text)
            } catch let e as ParleyError { fail(e.reason) }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List every job the host has run (JSON).")
        @OptionGroup var server: ServerOptions
        @OptionGroup var op: OperatorOptions

        func run() async throws {
            do {
                let r = try await HTTP(server: server.server).request("GET", "/v1/jobs", headers: ["Authorization": "Bearer \(try op.loadToken())"])
                guard r.status == 200 else { fail("\(r.errorMessage)") }
                print(r.text)
            } catch let e as ParleyError { fail(e.reason) }
        }
    }

    struct Stop: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop a job's worker (its data is gone with it).")
        @Argument(help: "Job id.") var job: String
        @OptionGroup var server: ServerOptions
        @OptionGroup var op: OperatorOptions

        func run() async throws {
            do {
                let r = try await HTTP(server: server.server).request("POST", "/v1/jobs/\(job)/stop", headers: ["Authorization": "Bearer \(try op.loadToken())"])
                guard r.status == 200 else { fail("\(r.errorMessage)") }
                print("stopped \(job)")
            } catch let e as ParleyError { fail(e.reason) }
        }
    }
}
