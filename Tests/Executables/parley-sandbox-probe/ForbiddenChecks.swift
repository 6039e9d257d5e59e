import CSeccomp
import Glibc

/// Operations the sandbox must deny. Each returns the errno it failed with, or nil if it worked.
///
/// Resources they need (a socket, a scratch file, the parent's pid) are made before lock-down,
/// so each check exercises exactly one system call under the filter.
struct ForbiddenChecks {
    let preparedSocket: Int32
    let scratchFile: String
    let parent: pid_t

    /// Makes the resources; call before lock-down.
    static func prepare() -> ForbiddenChecks {
        let path = "/tmp/parley-probe-\(getpid())"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        if fd >= 0 { close(fd) }
        return ForbiddenChecks(preparedSocket: socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0),
                               scratchFile: path, parent: getppid())
    }

    /// Checks whose success would do no harm to the probe or the host (usable without lock-down).
    var harmless: [(String, () -> Int32?)] {
        [
            ("socket-inet", { closing(socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)) }),
            ("socket-unix", { closing(socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)) }),
            ("socketpair", {
                var pair: [Int32] = [-1, -1]
                let result = socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair)
                pair.forEach { if $0 >= 0 { close($0) } }
                return result == 0 ? nil : errno
            }),
            ("connect-loopback", { connectLoopback(preparedSocket) }),
            ("bind-loopback", { bindLoopback(preparedSocket) }),
            // The worker is single-threaded: no thread can be started after lock-down.
            ("thread-create", { startThread() }),
            // Read-only opens: denied by the filter, and by Landlock (the whole file system) behind it.
            ("open-readonly-file", { closing(open("/etc/passwd", O_RDONLY)) }),
            ("open-readonly-proc", { closing(open("/proc/self/status", O_RDONLY)) }),
            ("open-directory", { closing(open("/", O_RDONLY | O_DIRECTORY)) }),
            ("open-write-new", { closing(open(scratchFile + "-new", O_WRONLY | O_CREAT | O_EXCL, 0o600)) }),
            ("open-rdwr-existing", { closing(open(scratchFile, O_RDWR)) }),
            ("open-append-existing", { closing(open(scratchFile, O_WRONLY | O_APPEND)) }),
            ("open-rdonly-trunc-existing", { closing(open(scratchFile, O_RDONLY | O_TRUNC)) }),
            ("creat", { closing(creat(scratchFile + "-creat", 0o600)) }),
            ("mkdir", { status(mkdir(scratchFile + "-dir", 0o700)) }),
            ("rename", { status(rename(scratchFile, scratchFile + "-renamed")) }),
            ("unshare-newns", { status(parley_unshare(CLONE_NEWNS)) }),
            ("unshare-newnet", { status(parley_unshare(CLONE_NEWNET)) }),
            ("kill-parent", { status(kill(parent, 0)) }),
            ("raise-rlimit-nofile", { raiseOpenFileLimit() }),
            ("prctl-set-dumpable", { status(parley_prctl_set_dumpable(1)) }),
        ]
    }

    /// Checks that would harm the probe (or the host) if the sandbox let them through.
    var dangerous: [(String, () -> Int32?)] {
        [
            ("fork", { forkAndReap() }),
            ("posix-spawn", { spawnTrue() }),
            ("clone3", { parley_sys_clone3_null() == -1 ? errno : nil }),
            ("ptrace-traceme", { parley_ptrace_traceme() == -1 ? errno : nil }),
            ("ptrace-attach-parent", { parley_ptrace_attach(parent) == -1 ? errno : nil }),
            ("unshare-newuser", { status(parley_unshare(CLONE_NEWUSER)) }),
            ("setns-own-net", { setnsOwnNet() }),
            ("mount-tmpfs", { status(mount("none", "/nonexistent-parley-probe", "tmpfs", 0, nil)) }),
            ("chroot", { status(chroot("/")) }),
            ("setuid-root", { status(setuid(0)) }),
            ("unlink", { status(unlink(scratchFile)) }),
            // Last: if it worked, the probe would be replaced by /bin/true.
            ("execve", { execTrue() }),
        ]
    }

    /// Removes the scratch file (after the checks; the sandbox forbids it, so this only helps
    /// when run with --no-lockdown, and the test process removes it otherwise).
    func cleanUp() {
        for suffix in ["", "-new", "-creat", "-renamed"] {
            unlink(scratchFile + suffix)
        }
        rmdir(scratchFile + "-dir")
    }
}

private func closing(_ fd: Int32) -> Int32? {
    guard fd >= 0 else { return errno }
    close(fd)
    return nil
}

private func status(_ result: Int32) -> Int32? { result == 0 ? nil : errno }

private func loopback(port: UInt16) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
    return address
}

private func connectLoopback(_ fd: Int32) -> Int32? {
    guard fd >= 0 else { return EBADF }
    var address = loopback(port: 9)
    let result = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    // ECONNREFUSED means the call reached the network stack: the sandbox let it through.
    return result == 0 || errno == ECONNREFUSED ? nil : errno
}

private func bindLoopback(_ fd: Int32) -> Int32? {
    guard fd >= 0 else { return EBADF }
    var address = loopback(port: 0)
    let result = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    return status(result)
}

private func raiseOpenFileLimit() -> Int32? {
    var limit = rlimit()
    getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
    limit.rlim_max += 1
    limit.rlim_cur = limit.rlim_max
    return status(setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit))
}

private func forkAndReap() -> Int32? {
    let child = fork()
    if child == 0 { _exit(0) }
    guard child > 0 else { return errno }
    var status: Int32 = 0
    waitpid(child, &status, 0)
    return nil
}

private func spawnTrue() -> Int32? {
    var child: pid_t = 0
    let arguments: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/true"), nil]
    defer { arguments.forEach { free($0) } }
    let result = posix_spawn(&child, "/bin/true", nil, nil, arguments, nil)
    guard result == 0 else { return result }
    var status: Int32 = 0
    waitpid(child, &status, 0)
    return nil
}

private func setnsOwnNet() -> Int32? {
    let fd = open("/proc/self/ns/net", O_RDONLY)
    guard fd >= 0 else { return errno }
    defer { close(fd) }
    return status(parley_setns(fd, CLONE_NEWNET))
}

private func execTrue() -> Int32? {
    let arguments: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/true"), nil]
    defer { arguments.forEach { free($0) } }
    execv("/bin/true", arguments)
    return errno
}

private func startThread() -> Int32? {
    var thread = pthread_t()
    let result = pthread_create(&thread, nil, { _ in nil }, nil)
    guard result == 0 else { return result }
    pthread_join(thread, nil)
    return nil
}
