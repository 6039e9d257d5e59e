import Foundation
import ParleyCore

/// A runtime allow-list in Keylime's runtime-policy JSON (`keylime_create_policy`): `digests` maps
/// each path to its accepted file digests (hex, optionally `algorithm:`-prefixed), `excludes` lists
/// regular expressions of paths not appraised (Python `re.match` semantics: anchored at the start).
/// `meta`, `release`, `keyrings`, `ima`, `ima-buf` and `verification-keys` are read past; any other
/// key is refused.
public struct RuntimePolicy: Sendable {
    /// Caps on the file.
    public enum Limits {
        public static let maxBytes = 64 << 20
        public static let maxPaths = 1_000_000
        public static let maxExcludes = 4_096
    }

    /// Path -> accepted digests (lower-case hex, no algorithm prefix).
    public let digests: [String: Set<String>]
    /// The exclude patterns as written.
    public let excludePatterns: [String]
    private let excludes: [NSRegularExpressionBox]

    static let knownKeys: Set<String> = ["meta", "release", "digests", "excludes", "keyrings", "ima", "ima-buf", "verification-keys"]

    public init(digests: [String: Set<String>], excludes: [String]) throws {
        self.digests = digests
        excludePatterns = excludes
        self.excludes = try excludes.map { p in
            do { return NSRegularExpressionBox(try NSRegularExpression(pattern: p)) } catch {
                throw ParleyError(.malformed, "runtime policy: exclude \"\(p)\" is not a valid regular expression")
            }
        }
    }

    /// Reads Keylime's runtime-policy JSON.
    public init(json bytes: [UInt8]) throws {
        guard bytes.count <= Limits.maxBytes else { throw ParleyError(.limitExceeded, "runtime policy is over \(Limits.maxBytes) bytes") }
        guard let top = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
            throw ParleyError(.malformed, "runtime policy is not a JSON object (Keylime runtime-policy format expected)")
        }
        if let unknown = top.keys.sorted().first(where: { !Self.knownKeys.contains($0) }) {
            throw ParleyError(.malformed, "runtime policy has an unknown key \"\(unknown)\"")
        }
        guard let d = top["digests"] as? [String: Any] else { throw ParleyError(.malformed, "runtime policy has no \"digests\" object") }
        guard d.count <= Limits.maxPaths else { throw ParleyError(.limitExceeded, "runtime policy lists more than \(Limits.maxPaths) paths") }
        var digests: [String: Set<String>] = [:]
        for (path, value) in d {
            guard let list = value as? [String], !list.isEmpty else {
                throw ParleyError(.malformed, "runtime policy: digests for \"\(path)\" must be a non-empty array of hex strings")
            }
            digests[path] = Set(try list.map { try Self.normalise($0, path: path) })
        }
        let ex = top["excludes"] as? [String] ?? []
        guard top["excludes"] == nil || top["excludes"] is [String] else { throw ParleyError(.malformed, "runtime policy: excludes must be an array of strings") }
        guard ex.count <= Limits.maxExcludes else { throw ParleyError(.limitExceeded, "runtime policy has more than \(Limits.maxExcludes) excludes") }
        try self.init(digests: digests, excludes: ex)
    }

    /// `[alg:]hex` -> lower-case hex.
    static func normalise(_ s: String, path: String) throws -> String {
        let hex = s.split(separator: ":", maxSplits: 1).last.map(String.init) ?? s
        guard let bytes = try? Hex.decode(hex), [20, 32, 48, 64].contains(bytes.count) else {
            throw ParleyError(.malformed, "runtime policy: a digest for \"\(path)\" is not a SHA-1/256/384/512 hex digest")
        }
        return Hex.encode(bytes)
    }

    /// Whether an exclude pattern matches `path` at its start.
    public func isExcluded(_ path: String) -> Bool {
        let range = NSRange(path.startIndex..., in: path)
        return excludes.contains { $0.regex.firstMatch(in: path, options: [.anchored], range: range) != nil }
    }

    /// Keylime runtime-policy JSON (format version 1) for these digests and excludes.
    public func keylimeJSON(generatedAt: Date) -> [UInt8] {
        let formatter = ISO8601DateFormatter()
        let obj: [String: Any] = [
            "meta": ["version": 1, "generator": 0, "timestamp": formatter.string(from: generatedAt)],
            "release": 0,
            "digests": digests.mapValues { $0.sorted() },
            "excludes": excludePatterns,
            "keyrings": [String: Any](),
            "ima": ["ignored_keyrings": [String](), "log_hash_alg": "sha1", "dm_policy": NSNull()] as [String: Any],
            "ima-buf": [String: Any](),
            "verification-keys": "",
        ]
        let data = (try? JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys, .prettyPrinted])) ?? Data()
        return Array(data) + [0x0a]
    }
}

/// NSRegularExpression is immutable and thread-safe once made.
struct NSRegularExpressionBox: @unchecked Sendable {
    let regex: NSRegularExpression
    init(_ regex: NSRegularExpression) { self.regex = regex }
}

/// The expected boot state: PCR 0-7 values of a known-good boot (`parley attest reference`).
///
///     {"format": "parley/boot-reference/1", "bank": "sha256", "pcrs": {"0": "<hex>", … "7": "<hex>"}}
public struct BootReference: Sendable, Equatable {
    public static let format = "parley/boot-reference/1"
    /// Expected SHA-256 values of PCRs 0-7.
    public let pcrs: [Int: [UInt8]]

    public init(pcrs: [Int: [UInt8]]) throws {
        guard Set(pcrs.keys) == Set(bootPCRIndices), pcrs.values.allSatisfy({ $0.count == 32 }) else {
            throw ParleyError(.malformed, "a boot reference needs a 32-byte SHA-256 value for each of PCRs 0-7")
        }
        self.pcrs = pcrs
    }

    public init(json bytes: [UInt8]) throws {
        guard bytes.count <= 64 << 10, let top = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
            throw ParleyError(.malformed, "boot reference is not a JSON object of at most 64 KiB")
        }
        guard Set(top.keys) == ["format", "bank", "pcrs"], top["format"] as? String == Self.format, top["bank"] as? String == "sha256",
              let p = top["pcrs"] as? [String: String] else {
            throw ParleyError(.malformed, "boot reference must be {\"format\": \"\(Self.format)\", \"bank\": \"sha256\", \"pcrs\": {\"0\": hex, … \"7\": hex}}")
        }
        var pcrs: [Int: [UInt8]] = [:]
        for (k, v) in p {
            guard let i = Int(k), let b = try? Hex.decode(v) else { throw ParleyError(.malformed, "boot reference: PCR \"\(k)\" is not an index with a hex value") }
            pcrs[i] = b
        }
        try self.init(pcrs: pcrs)
    }

    public var json: [UInt8] {
        let obj: [String: Any] = ["format": Self.format, "bank": "sha256",
                                  "pcrs": Dictionary(uniqueKeysWithValues: pcrs.map { (String($0.key), Hex.encode($0.value)) })]
        return Array((try? JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys, .prettyPrinted])) ?? Data()) + [0x0a]
    }
}
