import CSeccomp
import Glibc

/// The modes that push against a limit until the sandbox stops them.
enum StressModes {
    /// Forks up to 100 times (each child exits at once). Exit 0 with STOPPED when fork fails.
    static func forkbomb() -> Int32 {
        for count in 0..<100 {
            let child = fork()
            if child == 0 { _exit(0) }
            guard child > 0 else {
                ProbeOutput.line("STOPPED forkbomb fork failed after \(count) children: "
                                 + SandboxErrnoText.current)
                return 0
            }
            var status: Int32 = 0
            waitpid(child, &status, 0)
        }
        ProbeOutput.line("RUNAWAY forkbomb 100 children forked")
        return 1
    }

    /// Allocates and touches 16 MiB blocks until malloc fails. Exit 0 with STOPPED when it does,
    /// 1 with RUNAWAY after `ceiling` MiB.
    static func balloon(ceilingMiB: UInt64) -> Int32 {
        let block = 16 << 20
        var blocks: [UnsafeMutableRawPointer] = []
        blocks.reserveCapacity(Int(ceilingMiB / 16) + 1)
        while UInt64(blocks.count * 16) < ceilingMiB {
            guard let pointer = malloc(block) else {
                let reached = blocks.count * 16
                blocks.forEach { free($0) }
                ProbeOutput.line("STOPPED balloon malloc failed after \(reached) MiB")
                return 0
            }
            memset(pointer, 0x5A, block)
            blocks.append(pointer)
        }
        blocks.forEach { free($0) }
        ProbeOutput.line("RUNAWAY balloon allocated \(ceilingMiB) MiB")
        return 1
    }

    /// Busy-loops; only RLIMIT_CPU ends it (SIGXCPU, then SIGKILL at the hard limit).
    static func spin() -> Never {
        ProbeOutput.line("SPINNING")
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        while true {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            if state == 0 { ProbeOutput.line("unreachable") }
        }
    }

    /// Calls bpf(), which the filter answers by killing the process with SIGSYS.
    static func kill() -> Int32 {
        ProbeOutput.line("CALLING bpf")
        let result = parley_sys_bpf_null()
        ProbeOutput.outcome("bpf", errno: result == -1 ? errno : nil)
        return 1
    }
}
