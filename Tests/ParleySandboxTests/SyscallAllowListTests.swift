import CSeccomp
import Glibc
@testable import ParleySandbox
import XCTest

/// The allow-list as data: every name is a real system call, nothing the issue forbids is allowed,
/// and docs/sandbox.md shows the table this code generates.
final class SyscallAllowListTests: XCTestCase {
    let list = SyscallAllowList.worker(processID: 4242)

    func testEveryNameIsASystemCallOnThisArchitecture() {
        for rule in list.rules {
            XCTAssertGreaterThanOrEqual(seccomp_syscall_resolve_name(rule.name), 0, rule.name)
        }
    }

    func testNoSystemCallHasTwoRules() {
        let names = list.rules.map(\.name)
        XCTAssertEqual(names.count, Set(names).count, "duplicates: \(names.filter { n in names.filter { $0 == n }.count > 1 })")
    }

    func testNothingTheIssueForbidsIsAllowed() {
        let forbidden = ["socket", "socketpair", "connect", "bind", "listen", "accept", "accept4", "ptrace",
                         "process_vm_readv", "process_vm_writev", "mount", "umount2", "unshare", "setns", "fork",
                         "vfork", "execve", "execveat", "kexec_load", "bpf", "perf_event_open", "keyctl", "chroot",
                         "pivot_root", "init_module", "finit_module", "open", "creat", "openat2", "setrlimit",
                         "sendmsg", "io_uring_setup", "memfd_create", "kill"]
        let allowed = Set(list.allowedNames)
        for name in forbidden {
            XCTAssertFalse(allowed.contains(name), "\(name) is allowed")
            XCTAssertNotNil(list.rules.first { $0.name == name }, "\(name) has no documented denial")
        }
    }

    /// Derived from the real worker, which has one thread and opens no file after lock-down:
    /// neither threads nor processes nor file opens get through.
    func testNoThreadNoProcessNoFile() {
        let allowed = Set(list.allowedNames)
        for name in ["clone", "clone3", "fork", "vfork", "openat", "open", "openat2", "newfstatat", "epoll_wait",
                     "mprotect", "close", "ioctl"] {
            XCTAssertFalse(allowed.contains(name), "\(name) is allowed")
        }
        XCTAssertEqual(Set(list.rules.filter { $0.isAllowed && $0.seen }.map(\.name)),
                       ["brk", "mmap", "munmap", "madvise", "futex", "getrandom", "exit_group", "read", "sendto", "prctl", "gettid"],
                       "the calls the traced worker made (Scripts/derive-syscalls.sh); re-derive before changing")
    }

    func testPrctlOnlyReadsBack() throws {
        let rule = try XCTUnwrap(list.rules.first { $0.name == "prctl" })
        guard case .allowIf(let alternatives) = rule.decision else { return XCTFail("prctl is not conditional") }
        let options = alternatives.compactMap { $0.first?.value }
        XCTAssertEqual(Set(options), Set([PR_GET_SECCOMP, PR_GET_DUMPABLE, PR_GET_NO_NEW_PRIVS].map { UInt64($0) }))
    }

    func testSignalsOnlyToItself() throws {
        let rule = try XCTUnwrap(list.rules.first { $0.name == "tgkill" })
        XCTAssertEqual(rule.decision, .allowIf([[.int(0, equals: 4242, meaning: "thread group is the worker itself")]]))
    }

    func testDocumentationShowsTheGeneratedTable() throws {
        let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/sandbox.md")
        guard let text = try? String(contentsOf: docs, encoding: .utf8) else {
            throw XCTSkip("docs/sandbox.md not found at \(docs.path)")
        }
        XCTAssertTrue(text.contains(SyscallAllowList.worker().markdownTable()),
                      "docs/sandbox.md is out of date: paste `parley-sandbox-probe allow-list` into it")
    }
}
