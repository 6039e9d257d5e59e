import Foundation
import ParleyFuzzTargets

#if PARLEY_LIBFUZZER
/// libFuzzer's driver, linked in by `-sanitize=fuzzer`.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<Int32>,
                         _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Int32

/// Built by Scripts/fuzz.sh with `-sanitize=fuzzer -DPARLEY_LIBFUZZER`: hands control to libFuzzer
/// (SwiftPM gives executables their own entry point, so libFuzzer's `main` cannot be used).
@main
struct FuzzMain {
    static func main() {
        let args = CommandLine.arguments.dropFirst()
        if args.first == "--write-seeds", let dir = args.dropFirst().first {
            writeSeeds(to: dir)  // so Scripts/fuzz.sh needs no second (debug) build for its seeds
            return
        }
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, parleyFuzzOne))
    }
}

/// Two deliberately broken targets for `Scripts/fuzz.sh --self-test`, which must report them as
/// failures: proof that the leak suppression hides only Swift's once-initialised globals.
enum SelfTestTarget: String {
    /// Leaks 64 bytes on every non-empty input (a plain allocation, not a global).
    case leak = "selftest-leak"
    /// Traps on every input longer than 2 bytes.
    case crash = "selftest-crash"

    func run(_ data: UnsafePointer<UInt8>?, _ size: Int) {
        switch self {
        case .leak:
            guard size > 0 else { return }
            let lost = UnsafeMutablePointer<UInt8>.allocate(capacity: 64)
            lost.initialize(repeating: data?.pointee ?? 0, count: 64)
            SelfTestTarget.sink = lost[0]
        case .crash:
            if size > 2 { fatalError("fuzz self-test: deliberate crash on a \(size)-byte input") }
        }
    }

    /// Keeps the optimiser from removing the leaking allocation.
    nonisolated(unsafe) static var sink: UInt8 = 0
}

/// The target named by `PARLEY_FUZZ_TARGET`, read once (not per input).
enum SelectedTarget {
    static let selfTest = ProcessInfo.processInfo.environment["PARLEY_FUZZ_TARGET"].flatMap(SelfTestTarget.init(rawValue:))
    static let target = FuzzTarget.fromEnvironment
}

/// One input; the target is named by `PARLEY_FUZZ_TARGET`.
func parleyFuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    if let selfTest = SelectedTarget.selfTest {
        selfTest.run(data, size)
        return 0
    }
    guard let target = SelectedTarget.target else {
        FileHandle.standardError.write(Data("parley-fuzz: set PARLEY_FUZZ_TARGET to one of \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", "))\n".utf8))
        exit(2)
    }
    target.run(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
    return 0
}
#else
/// Without libFuzzer: replays files through a target, for reproducing a crash a fuzz run found.
///     parley-fuzz TARGET FILE...
///     parley-fuzz --write-seeds DIR
@main
struct FuzzReplay {
    static func main() {
        let args = CommandLine.arguments.dropFirst()
        if args.first == "--write-seeds", let dir = args.dropFirst().first {
            writeSeeds(to: dir)
            return
        }
        guard let name = args.first, let target = FuzzTarget(rawValue: name) else {
            print("usage: parley-fuzz TARGET FILE...   (replays inputs; Scripts/fuzz.sh runs libFuzzer)")
            print("targets: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: " "))")
            exit(2)
        }
        for path in args.dropFirst() {
            guard let data = FileManager.default.contents(atPath: path) else { print("cannot read \(path)"); exit(1) }
            target.run(Array(data))
            print("ok \(path)")
        }
    }
}
#endif

/// Writes each target's seeds to DIR/TARGET/seed-N (both builds: libFuzzer and replay).
func writeSeeds(to dir: String) {
    for target in FuzzTarget.allCases {
        let sub = dir + "/" + target.rawValue
        try? FileManager.default.createDirectory(atPath: sub, withIntermediateDirectories: true)
        guard let seeds = try? FuzzSeeds.make(for: target) else { print("cannot make seeds for \(target)"); exit(1) }
        for (i, seed) in seeds.enumerated() {
            FileManager.default.createFile(atPath: "\(sub)/seed-\(i)", contents: Data(seed))
        }
    }
}
