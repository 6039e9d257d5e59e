import ArgumentParser
import Foundation
import ParleyParty
import ParleyCore
import ParleyHTTP

/// Where a verb finds the host and, for operator verbs, the token.
struct ServerOptions: ParsableArguments {
    @Option(help: "The host's URL.") var server = "http://127.0.0.1:7300"
}

struct OperatorOptions: ParsableArguments {
    @Option(help: "The host's data directory (the token is read from it).") var data = "parley-data"
    @Option(help: "A file holding the operator token (instead of --data).") var token: String?

    func loadToken() throws -> String {
        let path = token ?? OperatorToken.path(in: data)
        do { return try FileIO.readText(path).trimmingCharacters(in: .whitespacesAndNewlines) } catch {
            throw ParleyError(.io, "no operator token at \(path): pass --data DIR (the host's data directory) or --token FILE")
        }
    }
}

struct JobCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "job", abstract: "Launch, inspect and stop jobs (operator).",
        subcommands: [Launch.self, Status.self, List.self, Stop.self])

    struct Launch: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Launch a job from a sealed module; prints the job id on its last line.",
            discussion: "Example: JOB=$(parley job launch campaign-lift.parley | tail -1)")
        @Argument(help: "The sealed module (.parley).") var bundle: String
        @OptionGroup var server: ServerOptions
        @OptionGroup var op: OperatorOptions

        func run() throws {
            do {
                let http = try HTTP(server: server.server)
                let r = try ClientOps.launch(http, token: try op.loadToken(), bundle: try FileIO.read(bundle, maxBytes: 1 << 20))
                print("launched \(r["module"] ?? "?") with \(r["tier"] ?? "?") quotes; runtime \(r["runtime"] ?? "?")")
                print(r["job"] as? String ?? "")
            } catch let e as ParleyError { fail(e.reason) }
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a job's state, datasets and queries (JSON).")
        @Argument(help: "Job id.") var job: String
        @OptionGroup var server: ServerOptions

        func run() throws {
            do {
                let r = try HTTP(server: server.server).request("GET", "/v1/jobs/\(job)")
                guard r.status == 200 else { fail("\(r.errorMessage)") }
                print(r.text)
            } catch let e as ParleyError { fail(e.reason) }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List every job the host has run (JSON).")
        @OptionGroup var server: ServerOptions
        @OptionGroup var op: OperatorOptions

        func run() throws {
            do {
                let r = try HTTP(server: server.server).request("GET", "/v1/jobs", headers: ["Authorization": "Bearer \(try op.loadToken())"])
                guard r.status == 200 else { fail("\(r.errorMessage)") }
                print(r.text)
            } catch let e as ParleyError { fail(e.reason) }
        }
    }

    struct Stop: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop a job's worker (its data is gone with it).")
        @Argument(help: "Job id.") var job: String
        @OptionGroup var server: ServerOptions
        @OptionGroup var op: OperatorOptions

        func run() throws {
            do {
                let r = try HTTP(server: server.server).request("POST", "/v1/jobs/\(job)/stop", headers: ["Authorization": "Bearer \(try op.loadToken())"])
                guard r.status == 200 else { fail("\(r.errorMessage)") }
                print("stopped \(job)")
            } catch let e as ParleyError { fail(e.reason) }
        }
    }
}
