import ArgumentParser
import Foundation
import ParleyCore

/// Verbs that another executable installed beside `parley` carries out. `parley` execs it with
/// the same arguments (same pid, same standard streams), so the party's binary links none of
/// that code: the host's tss2, SQLite and Hummingbird live in `parley-host`, the witness's
/// server in `parley-witness`. `PARLEY_HOST_EXECUTABLE` / `PARLEY_WITNESS_EXECUTABLE` point
/// elsewhere (for an installation that keeps them apart).
enum HandOff {
    /// (verb, executable, the arguments it is given before the user's).
    static let verbs: [(verb: String, executable: String, environment: String, prefix: [String])] = [
        ("serve", "parley-host", "PARLEY_HOST_EXECUTABLE", ["serve"]),
        ("witness", "parley-witness", "PARLEY_WITNESS_EXECUTABLE", []),
    ]

    /// If `arguments` (without argv[0]) start with a handed-off verb, execs its executable and
    /// does not return; otherwise returns.
    static func execIfHandedOff(_ arguments: [String]) {
        guard let first = arguments.first, let entry = verbs.first(where: { $0.verb == first }) else { return }
        let path = ProcessInfo.processInfo.environment[entry.environment] ?? SiblingExecutable.path(entry.executable)
        guard FileManager.default.isExecutableFile(atPath: path) else {
            fail("`parley \(first)` runs \(entry.executable), which is not at \(path); build it (swift build) or install it beside parley", code: 2)
        }
        let argv = [path] + entry.prefix + arguments.dropFirst()
        var cArgs = argv.map { strdup($0) } + [nil]
        execv(path, &cArgs)
        fail("could not start \(path): \(String(cString: strerror(errno)))", code: 2)
    }
}

/// `parley serve`: listed here for `parley --help`; `parley serve ...` is parley-host's.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the host: the HTTP API that launches and supervises workers (runs parley-host).",
        discussion: "`parley serve ARGS` execs `parley-host serve ARGS`; see `parley serve --help`.")
}

/// `parley witness`: listed here for `parley --help`; `parley witness ...` is parley-witness's.
struct WitnessCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "witness",
        abstract: "Run a witness: follow host logs and cosign their checkpoints (runs parley-witness).",
        discussion: "`parley witness ARGS` execs `parley-witness ARGS`; see `parley witness --help`.")
}
