import Foundation
import Glibc
import ParleySandbox

// parley-sandbox-probe: locks itself down like the worker, then tries what the sandbox must
// deny and what it must allow. The tests in Tests/ParleySandboxTests run it as a child.

guard let options = ProbeOptions.parse(Array(CommandLine.arguments.dropFirst())) else {
    FileHandle.standardError.write(Data((ProbeOptions.usage + "\n").utf8))
    exit(64)
}

if options.mode == .allowList {
    let list = SyscallAllowList.worker()
    print(options.namesOnly ? list.decisionLines() : list.markdownTable())
    exit(0)
}

if options.startThreadFirst {
    // A thread that exists before lock-down: an unprivileged user namespace is then impossible.
    Thread { while true { sleep(60) } }.start()
    usleep(50_000)
}

let forbidden = ForbiddenChecks.prepare()
var policy = options.policy
if let fd = options.reportFD {
    ProbeOutput.descriptor = fd
    policy.descriptors = .worker(channel: fd)
} else {
    // The probe reports on stdout and reads stdin; its prepared socket must survive close_range.
    policy.descriptors = DescriptorPolicy(standardStreams: .inherited, keep: [forbidden.preparedSocket])
}

if options.mode == .identity {
    exit(IdentityChecks.run(policy, secret: options.secretPath))
}

if options.lockDown {
    do throws(SandboxError) {
        let report = try Sandbox.lockDown(policy)
        ProbeOutput.line("LOCKED debug=\(report.debug) complete=\(report.isComplete)")
        for (step, outcome) in report.steps {
            ProbeOutput.line("STEP \(step) \(outcome)")
        }
    } catch {
        ProbeOutput.line("REFUSED \(error)")
        FileHandle.standardError.write(Data("parley-sandbox-probe: \(error)\n".utf8))
        exit(2)
    }
} else {
    ProbeOutput.line("UNLOCKED (--no-lockdown)")
}

switch options.mode {
case .checks:
    for (name, check) in RequiredChecks.all {
        let problem = check()
        ProbeOutput.line(problem.map { "DENIED \(name) \($0)" } ?? "ALLOWED \(name)")
    }
    for (name, check) in forbidden.harmless {
        ProbeOutput.outcome(name, errno: check())
    }
    if options.lockDown {
        for (name, check) in forbidden.dangerous {
            ProbeOutput.outcome(name, errno: check())
        }
    } else {
        forbidden.cleanUp()
    }
    ProbeOutput.line("DONE")
    exit(0)
case .forkbomb:
    exit(StressModes.forkbomb())
case .balloon:
    exit(StressModes.balloon(ceilingMiB: 4 * (options.policy.limits.addressSpaceBytes >> 20)))
case .spin:
    StressModes.spin()
case .dump:
    exit(StateChecks.run())
case .kill:
    exit(StressModes.kill())
case .strayOutput:
    exit(IdentityChecks.writeStrayOutput())
case .report, .allowList, .identity:
    exit(0)
}
