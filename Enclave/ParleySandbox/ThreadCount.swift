import Glibc

/// How many threads the process has: the steps that act on the calling thread only (capset,
/// the bounding set, Landlock) are correct only in a single-threaded process.
enum ThreadCount {
    /// The number of entries in /proc/self/task, or nil if /proc cannot be read.
    static func current() -> Int? {
        guard let dir = opendir("/proc/self/task") else { return nil }
        defer { closedir(dir) }
        var count = 0
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { count += 1 }
        }
        return count
    }

    /// Throws unless the process is known to be single-threaded.
    static func requireSingleThread(for step: LockdownStep, because why: String) throws(SandboxError) {
        guard let count = current() else {
            throw SandboxError(.kernelRefused, step: step, errno: errno,
                               reason: "cannot count the threads in /proc/self/task (\(why))")
        }
        guard count == 1 else {
            throw SandboxError(.invalidPolicy, step: step,
                               reason: "the process has \(count) threads, but \(why): lock down before starting any")
        }
    }
}
