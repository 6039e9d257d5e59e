import ArgumentParser
import Foundation
import ParleyCore

/// The host executable. Operators normally run it as `parley serve`, which execs this binary
/// (installed beside `parley`), so that the party's `parley` links none of the host's code:
/// no tss2, no SQLite, no Hummingbird.
@main
struct ParleyHostTool: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parley-host",
        abstract: "The Parley host: the HTTP API that launches and supervises workers (usually run as `parley serve`).",
        version: "0.1.0",
        subcommands: [ServeCommand.self]
    )
}

/// Prints `message` to standard error and exits with `code`: for refusals a person must act on.
/// Only the executable's entry points exit; libraries throw.
func fail(_ message: String, code: Int32 = 1) -> Never {
    FileHandle.standardError.write(Data(("parley: " + message + "\n").utf8))
    exit(code)
}

/// The worker executable installed beside this one.
func defaultWorkerPath() -> String {
    SiblingExecutable.path("parley-enclave")
}
