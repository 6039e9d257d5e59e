import Foundation

// parley-enclave: the Parley worker (the simulated enclave). It is started only by the host
// (`parley serve`), which hands it one end of a socketpair as file descriptor PARLEY_ENCLAVE_FD.
// Started by hand, it refuses and says what it is.

let usage = """
parley-enclave is Parley's worker process (the simulated enclave). It is launched by the host,
`parley serve`, which talks to it over a private socket; it is not meant to be run by hand.
To run an analysis, start `parley serve` and launch a job with `parley job launch`.

"""

guard let fdText = ProcessInfo.processInfo.environment["PARLEY_ENCLAVE_FD"], let fd = Int32(fdText), fd >= 3 else {
    FileHandle.standardError.write(Data(usage.utf8))
    exit(64)
}
var st = stat()
guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFSOCK else {
    FileHandle.standardError.write(Data("parley-enclave: descriptor \(fd) is not the host's socket; refusing to start.\n\(usage)".utf8))
    exit(64)
}
FileHandle.standardError.write(Data("parley-enclave: the worker protocol is not implemented yet in this build.\n".utf8))
exit(70)
