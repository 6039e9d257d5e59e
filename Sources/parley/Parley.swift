import ArgumentParser
import Foundation

/// The one command-line tool for every Parley role.
@main
struct Parley: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parley",
        abstract: "Parley: an attested data clean room.",
        discussion: """
        Organisations that cannot share raw data upload it, encrypted, into a sealed and measured
        worker process; only aggregates that pass an agreed privacy policy ever leave it.

        Start with `parley keygen NAME` to make a party's keys. Every verb has its own --help.
        """,
        version: "0.1.0",
        subcommands: [DemoCommand.self, KeygenCommand.self, ModuleCommand.self, ServeCommand.self, JobCommand.self,
                      AttestCommand.self, UploadCommand.self, QueryCommand.self, AuditCommand.self, WitnessCommand.self, RuntimeCommand.self]
    )

    /// `serve` and `witness` are handed to their own executables before parsing (HandOff).
    static func main() async {
        HandOff.execIfHandedOff(Array(CommandLine.arguments.dropFirst()))
        await main(nil)
    }
}

/// Prints `message` to standard error and exits with `code`: for refusals a person must act on.
func fail(_ message: String, code: Int32 = 1) -> Never {
    FileHandle.standardError.write(Data(("parley: " + message + "\n").utf8))
    exit(code)
}
