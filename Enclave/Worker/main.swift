import Foundation
import CSeccomp
import ParleyCore
import ParleySandbox
import ParleyWorker

// parley-enclave: the Parley worker (the simulated enclave). Started only by the host
// (`parley serve`), which hands it one end of a socketpair as file descriptor 3
// (PARLEY_ENCLAVE_FD). Before it reads any input it locks itself down (docs/sandbox.md); if a
// step cannot be applied it refuses to start, unless started in debug mode
// (PARLEY_ENCLAVE_DEBUG=1), which its evidence records and verifiers refuse by default.

let usage = """
parley-enclave is Parley's worker process (the simulated enclave). It is launched by the host,
`parley serve`, which talks to it over a private socket; it is not meant to be run by hand.
To run an analysis, start `parley serve` and launch a job with `parley job launch`.

"""

func die(_ message: String, _ code: Int32) -> Never {
    FileHandle.standardError.write(Data("parley-enclave: \(message)\n".utf8))
    exit(code)
}

let environment = ProcessInfo.processInfo.environment
guard let fdText = environment["PARLEY_ENCLAVE_FD"], let fd = Int32(fdText), fd >= 3 else {
    FileHandle.standardError.write(Data(usage.utf8))
    exit(64)
}
var st = stat()
guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFSOCK else {
    die("descriptor \(fd) is not the host's socket; refusing to start.\n\(usage)", 64)
}
let debug = environment["PARLEY_ENCLAVE_DEBUG"] == "1"

// Limits: defaults, or what the operator configured through the host.
var limits = ResourceLimits.standard
if let v = environment["PARLEY_ENCLAVE_MEMORY_MIB"].flatMap(UInt64.init) { limits.addressSpaceBytes = v << 20 }
if let v = environment["PARLEY_ENCLAVE_CPU_SECONDS"].flatMap(UInt64.init) { limits.cpuSeconds = v }
// Stricter, never weaker: a system call the allow-list lacks kills the worker instead of failing
// with EPERM. The test suite runs every worker so (docs/sandbox.md, "Re-deriving the list").
let unlisted: UnlistedSyscallAction = environment["PARLEY_ENCLAVE_KILL_UNLISTED"] == "1" ? .killProcess : .fail

// malloc keeps what is freed for reuse: a worker receives one short-lived frame after another,
// and glibc's defaults give a freed block at the top of the heap back to the kernel (trimming
// past 128 KiB, or past twice the largest block freed), so the next frame faults in and zeroes
// fresh pages all over again; profiled, that was a tenth of an upload's time. Blocks up to
// 32 MiB come from the heap; larger ones (columns, dictionary arenas) are mapped on their own.
_ = parley_malloc_keep_freed(512 << 20, 32 << 20)

// The address space taken before any input, read while /proc is still in reach: what is left
// of the limit, less a share for queries, is what datasets may hold (WorkerMemory).
let memory = WorkerMemory(limitBytes: Int(clamping: limits.addressSpaceBytes),
                          baselineBytes: (WorkerMemory.currentAddressSpace() ?? 0) + (64 << 20))

// From here on stdout and stderr are /dev/null (the host's own streams must not be a way out):
// a refusal goes to the host over the channel, as a `failure` message.
let report: LockdownReport
do {
    report = try Sandbox.lockDown(SandboxPolicy(limits: limits, networkNamespace: .bestEffort,
                                                descriptors: .worker(channel: fd), identity: .standard(),
                                                unlistedSyscalls: unlisted, debug: debug))
} catch {
    try? FramedChannel(fd: fd).send(WorkerMessage.failure(reason: "refusing to start: \(error)").encoded)
    die("refusing to start: \(error)", 78)
}

var sandbox: [String: String] = [:]
for (step, outcome) in report.steps { sandbox[step.rawValue] = outcome.description }

do {
    let runtime = try WorkerRuntime(channel: FramedChannel(fd: fd), debug: debug, sandbox: sandbox, memory: memory)
    exit(runtime.run())
} catch {
    die("cannot start: \(error)", 70)
}
