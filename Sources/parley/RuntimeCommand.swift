import ArgumentParser
import Foundation
import ParleyCore

struct RuntimeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runtime",
        abstract: "Inspect the worker runtime.",
        subcommands: [Measure.self]
    )

    struct Measure: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the runtime measurement (SHA-384) of a worker executable.",
            discussion: """
            Parties list accepted runtime measurements in their appraisal policy (`runtime = [...]`).
            Measure the `parley-enclave` you reviewed and built; the host measures the bytes it
            launches the same way, so the two agree only for the same executable.
            """
        )

        @Argument(help: "Worker executable. Default: the parley-enclave installed beside this parley.")
        var path: String?

        func run() throws {
            let target = path ?? defaultWorkerPath()
            do {
                let bytes = try FileIO.read(target, maxBytes: 1 << 30)
                print(MeasurementDigest.of(bytes).hex)
            } catch let e as ParleyError {
                fail(e.reason)
            }
        }
    }
}

/// The `parley-enclave` executable in the same directory as the running `parley`.
func defaultWorkerPath() -> String { SiblingExecutable.path("parley-enclave") }
