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

    func testCloneNeedsCloneThreadAndNoNamespaceFlag() throws {
        let rule = try XCTUnwrap(list.rules.first { $0.name == "clone" })
        guard case .allowIf(let alternatives) = rule.decision, let condition = alternatives.first?.first else {
            return XCTFail("clone is not conditional")
        }
        XCTAssertEqual(alternatives.count, 1)
        XCTAssertEqual(condition.argument, 0)
        XCTAssertEqual(condition.value, UInt64(CLONE_THREAD))
        for flag in [CLONE_THREAD, CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWNET, CLONE_NEWPID] {
            XCTAssertNotEqual(condition.mask & UInt64(flag), 0)
        }
        let threadFlags = UInt64(CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM
                                 | CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID)
        XCTAssertEqual(threadFlags & condition.mask, condition.value, "glibc's pthread_create flags must pass")
        let forkFlags = UInt64(CLONE_CHILD_CLEARTID | CLONE_CHILD_SETTID) | UInt64(SIGCHLD)
        XCTAssertNotEqual(forkFlags & condition.mask, condition.value, "fork's flags must not pass")
    }

    func testOpenatAllowsOnlyReadOnlyFlags() throws {
        let rule = try XCTUnwrap(list.rules.first { $0.name == "openat" })
        guard case .allowIf(let alternatives) = rule.decision, let condition = alternatives.first?.first else {
            return XCTFail("openat is not conditional")
        }
        XCTAssertEqual(condition.argument, 2)
        let passes = { (flags: Int32) in UInt64(UInt32(bitPattern: flags)) & condition.mask == condition.value }
        XCTAssertTrue(passes(O_RDONLY | O_CLOEXEC))
        XCTAssertTrue(passes(O_RDONLY | O_NONBLOCK | O_DIRECTORY))
        for flags in [O_WRONLY, O_RDWR, O_RDONLY | O_CREAT, O_RDONLY | O_TRUNC, O_RDONLY | O_APPEND,
                      O_WRONLY | O_CREAT | O_TRUNC, O_RDWR | 0o20000000 | O_DIRECTORY] {
            XCTAssertFalse(passes(flags), "flags \(String(flags, radix: 8)) pass")
        }
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
