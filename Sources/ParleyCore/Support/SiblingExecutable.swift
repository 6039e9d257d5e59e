import Foundation

/// Where Parley's executables find each other: installed side by side in one directory.
public enum SiblingExecutable {
    /// `name` in the directory of the running executable (resolved through /proc/self/exe, so a
    /// symlink to `parley` still finds `parley-host` beside the real binary).
    public static func path(_ name: String) -> String {
        let me = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? me.path
        return URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent(name).path
    }
}
