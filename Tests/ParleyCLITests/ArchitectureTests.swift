import Foundation
import XCTest

/// The arrows that must never exist between the sides of the house (docs/architecture.md), read
/// from Package.swift itself, and the libraries the party's `parley` binary must not carry, read
/// from the built binary. Either test fails the suite the day someone adds such an arrow.
final class ArchitectureTests: CLITestCase {
    // MARK: Package.swift

    /// Which process and trust side a target belongs to, by its folder.
    enum Side: String, CustomStringConvertible {
        case shared, party, host, worker, test
        var description: String { rawValue }
    }

    struct Target {
        let name: String
        let kind: String
        let path: String
        let targetDependencies: [String]
        let productDependencies: [String]
        /// `parley` lives in Sources but is the binary parties install: it is held to the party's rules.
        var side: Side {
            if kind == "testTarget" || path.hasPrefix("Tests/") { return .test }
            if name == "parley" { return .party }
            if path.hasPrefix("Attestation/") { return .party }
            if path.hasPrefix("Host/") { return .host }
            if path.hasPrefix("Enclave/") { return .worker }
            return .shared
        }
    }

    /// What each side may depend on, directly or not.
    static let allowed: [Side: Set<Side>] = [
        .shared: [.shared],
        .party: [.shared, .party],
        .host: [.shared, .party, .host],
        .worker: [.shared, .worker],
    ]
    /// Products (from other packages) a side must never link.
    static let forbiddenProducts: [Side: Set<String>] = [
        .shared: ["Hummingbird", "HummingbirdCore", "HummingbirdTLS", "GRDB"],
        .worker: ["Hummingbird", "HummingbirdCore", "HummingbirdTLS", "GRDB"],
    ]

    static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// Reads the target declarations of Package.swift: `.target(`, `.executableTarget(`,
    /// `.systemLibrary(`, `.testTarget(` calls, with their name, path and dependencies. A
    /// declaration this reader cannot take apart fails the test rather than being skipped.
    static func targets(in manifest: String) throws -> [Target] {
        var result: [Target] = []
        let kinds = ["target", "executableTarget", "systemLibrary", "testTarget"]
        let chars = Array(manifest)
        var i = 0
        while i < chars.count {
            guard chars[i] == ".", let kind = kinds.first(where: { k in
                let word = Array(k + "(")
                return i + 1 + word.count <= chars.count && Array(chars[(i + 1)..<(i + 1 + word.count)]) == word
            }) else { i += 1; continue }
            // The balanced parentheses of the call.
            let open = i + 1 + kind.count
            var depth = 0, j = open
            repeat {
                if chars[j] == "(" { depth += 1 } else if chars[j] == ")" { depth -= 1 }
                j += 1
            } while depth > 0 && j < chars.count
            let call = String(chars[open..<j])
            i = j
            guard let name = firstMatch(#"name:\s*"([^"]+)""#, in: call) else {
                throw NSError(domain: "ArchitectureTests", code: 1, userInfo: [NSLocalizedDescriptionKey: "a .\(kind)( without a name: \(call.prefix(80))"])
            }
            guard let path = firstMatch(#"path:\s*"([^"]+)""#, in: call) else {
                throw NSError(domain: "ArchitectureTests", code: 2, userInfo: [NSLocalizedDescriptionKey: "target \(name) has no explicit path"])
            }
            var targetDeps: [String] = [], productDeps: [String] = []
            if let range = call.range(of: "dependencies:") {
                var list = String(call[range.upperBound...])
                // The bracketed list, balanced.
                guard let start = list.firstIndex(of: "[") else { throw NSError(domain: "ArchitectureTests", code: 3) }
                var d = 0, end = start
                for k in list[start...].indices {
                    if list[k] == "[" { d += 1 } else if list[k] == "]" { d -= 1; if d == 0 { end = k; break } }
                }
                list = String(list[list.index(after: start)..<end])
                for product in matches(#"\.product\(name:\s*"([^"]+)""#, in: list) { productDeps.append(product) }
                let withoutProducts = list.replacingOccurrences(of: #"\.product\([^)]*\)"#, with: "", options: .regularExpression)
                targetDeps = matches(#""([^"]+)""#, in: withoutProducts)
            }
            result.append(Target(name: name, kind: kind, path: path, targetDependencies: targetDeps, productDependencies: productDeps))
        }
        return result
    }

    static func firstMatch(_ pattern: String, in text: String) -> String? { matches(pattern, in: text).first }
    static func matches(_ pattern: String, in text: String) -> [String] {
        let rx = try! NSRegularExpression(pattern: pattern)
        return rx.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap {
            Range($0.range(at: 1), in: text).map { String(text[$0]) }
        }
    }

    /// Every arrow that breaks the rules, as "A (side) -> B (side) via ...".
    static func violations(_ targets: [Target]) -> [String] {
        let byName = Dictionary(targets.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var found: [String] = []
        for target in targets where target.side != .test {
            // Walk the dependencies, keeping the path that reached each one.
            var seen: [String: [String]] = [:]
            var queue: [(String, [String])] = target.targetDependencies.map { ($0, [target.name, $0]) }
            var products: [(String, [String])] = target.productDependencies.map { ($0, [target.name]) }
            while let (name, via) = queue.popLast() {
                guard seen[name] == nil else { continue }
                seen[name] = via
                guard let dep = byName[name] else {
                    found.append("\(target.name) depends on \(name), which Package.swift does not declare")
                    continue
                }
                queue += dep.targetDependencies.map { ($0, via + [$0]) }
                products += dep.productDependencies.map { ($0, via) }
            }
            for (name, via) in seen.sorted(by: { $0.key < $1.key }) {
                guard let dep = byName[name] else { continue }
                if !(allowed[target.side] ?? []).contains(dep.side) {
                    found.append("\(target.name) (\(target.side)) -> \(name) (\(dep.side)) via \(via.joined(separator: " -> "))")
                }
            }
            for (product, via) in products where forbiddenProducts[target.side]?.contains(product) == true {
                found.append("\(target.name) (\(target.side)) links \(product) via \(via.joined(separator: " -> "))")
            }
        }
        return Array(Set(found)).sorted()
    }

    func testPackageHasNoForbiddenArrows() throws {
        let manifest = try String(contentsOf: Self.packageRoot.appendingPathComponent("Package.swift"), encoding: .utf8)
        let targets = try Self.targets(in: manifest)
        // The reader found the whole package, not a part of it.
        XCTAssertGreaterThan(targets.count, 40)
        for expected in ["parley", "parley-host", "parley-enclave", "ParleyHost", "ParleyWorker", "ParleyParty", "ParleyCore"] {
            XCTAssertTrue(targets.contains { $0.name == expected }, "Package.swift reader missed \(expected)")
        }
        XCTAssertEqual(Self.violations(targets), [], "Package.swift has arrows docs/architecture.md forbids")
    }

    /// The check itself catches each kind of forbidden arrow (so a reader that finds nothing
    /// cannot pass by accident).
    func testForbiddenArrowsAreCaught() throws {
        let manifest = try String(contentsOf: Self.packageRoot.appendingPathComponent("Package.swift"), encoding: .utf8)
        var targets = try Self.targets(in: manifest)
        func add(_ dependency: String, to name: String) {
            let i = targets.firstIndex { $0.name == name }!
            let t = targets[i]
            targets[i] = Target(name: t.name, kind: t.kind, path: t.path, targetDependencies: t.targetDependencies + [dependency], productDependencies: t.productDependencies)
        }
        let pristine = targets
        add("ParleyWorker", to: "ParleyHost")          // host -> worker code
        add("ParleyHTTP", to: "ParleyParty")           // party -> host code
        add("ParleyEgress", to: "ParleyModule")        // shared -> worker code
        add("ParleyQuoting", to: "parley")             // the party's binary -> host code
        let found = Self.violations(targets)
        XCTAssertTrue(found.contains { $0.hasPrefix("ParleyHost (host) -> ParleyWorker (worker)") }, "\(found)")
        XCTAssertTrue(found.contains { $0.hasPrefix("ParleyParty (party) -> ParleyHTTP (host)") }, "\(found)")
        XCTAssertTrue(found.contains { $0.hasPrefix("ParleyModule (shared) -> ParleyEgress (worker)") }, "\(found)")
        XCTAssertTrue(found.contains { $0.hasPrefix("parley (party) -> ParleyQuoting (host)") }, "\(found)")
        // Transitive: the party's binary reaches host code through a shared target.
        targets = pristine
        add("ParleyHostLog", to: "ParleyLedger")
        XCTAssertTrue(Self.violations(targets).contains { $0.hasPrefix("parley (party) -> ParleyHostLog (host) via parley -> ") }, "\(Self.violations(targets))")
    }

    // MARK: The built binary

    /// Shared libraries and Swift modules the party's `parley` must not contain.
    static let forbiddenLibraries = ["libtss2", "libsqlite3", "libseccomp"]
    /// Swift modules, as they appear mangled in symbol names (length-prefixed).
    static let forbiddenModules = ["Hummingbird", "HummingbirdCore", "GRDB", "ParleyHost", "ParleyHTTP", "ParleyHostLog", "ParleyQuoting",
                                   "ParleyTPM", "ParleyTPMProvider", "ParleySandbox", "ParleyWorker", "ParleyEgress", "ParleyEngine"]

    struct Linkage {
        let libraries: [String]
        let modules: [String]
    }

    func linkage(of executable: String) throws -> Linkage {
        let path = Self.productsDirectory.appendingPathComponent(executable).path
        let ldd = try run(tool: "/usr/bin/ldd", [path])
        XCTAssertEqual(ldd.status, 0, "ldd \(path): \(ldd.err)")
        let libraries = Self.forbiddenLibraries.filter { ldd.out.contains($0) }
        let nm = try run(tool: "/usr/bin/nm", ["--defined-only", path])
        XCTAssertEqual(nm.status, 0, "nm \(path): \(nm.err)")
        let modules = Self.forbiddenModules.filter { nm.out.contains("\($0.utf8.count)\($0)") }
        return Linkage(libraries: libraries, modules: modules)
    }

    func run(tool: String, _ args: [String]) throws -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    func testPartyBinaryLinksNoHostOrWorkerCode() throws {
        let party = try linkage(of: "parley")
        XCTAssertEqual(party.libraries, [], "parley links host or worker libraries (ldd)")
        XCTAssertEqual(party.modules, [], "parley contains host or worker Swift modules (nm)")
        // The same check sees them where they belong, so it is not blind.
        let host = try linkage(of: "parley-host")
        XCTAssertTrue(host.libraries.contains("libtss2"), "ldd of parley-host: \(host.libraries)")
        XCTAssertTrue(host.libraries.contains("libsqlite3"), "ldd of parley-host: \(host.libraries)")
        XCTAssertTrue(host.modules.contains("Hummingbird") && host.modules.contains("ParleyHost"), "nm of parley-host: \(host.modules)")
        let worker = try linkage(of: "parley-enclave")
        XCTAssertTrue(worker.libraries.contains("libseccomp"), "ldd of parley-enclave: \(worker.libraries)")
        XCTAssertTrue(worker.modules.contains("ParleyWorker"), "nm of parley-enclave: \(worker.modules)")
    }

    /// `parley serve` and `parley witness` run the executables beside parley, with the same
    /// arguments; their help is theirs.
    func testServeAndWitnessAreHandedToTheirExecutables() throws {
        let serve = try run("parley", ["serve", "--help"])
        XCTAssertEqual(serve.status, 0, serve.err)
        XCTAssertTrue(serve.out.contains("--quote"), serve.out)
        let witness = try run("parley", ["witness", "--help"])
        XCTAssertEqual(witness.status, 0, witness.err)
        XCTAssertTrue(witness.out.contains("--log"), witness.out)
        // Without the host executable, `parley serve` says what to do instead of failing obscurely.
        let missing = try run("parley", ["serve"], env: ["PARLEY_HOST_EXECUTABLE": "/nonexistent/parley-host"])
        XCTAssertEqual(missing.status, 2)
        XCTAssertTrue(missing.err.contains("runs parley-host, which is not at /nonexistent/parley-host"), missing.err)
        // The listing still names both verbs.
        let top = try run("parley", ["--help"])
        XCTAssertTrue(top.out.contains("serve") && top.out.contains("witness"), top.out)
    }
}
