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
        try JSONDuplicateKeys.refuse(bytes, what: "runtime policy")
        let file: KeylimeFile
        do {
            file = try JSONDecoder().decode(KeylimeFile.self, from: Data(bytes))
        } catch let e as ParleyError {
            throw e
        } catch DecodingError.keyNotFound(let key, _) where key.stringValue == "digests" {
            throw ParleyError(.malformed, "runtime policy has no \"digests\" object")
        } catch DecodingError.typeMismatch(_, let context) where context.codingPath.first?.stringValue == "digests" {
            let path = context.codingPath.dropFirst().first?.stringValue ?? ""
            throw ParleyError(.malformed, path.isEmpty ? "runtime policy has no \"digests\" object"
                              : "runtime policy: digests for \"\(path)\" must be a non-empty array of hex strings")
        } catch DecodingError.typeMismatch(_, let context) where context.codingPath.first?.stringValue == "excludes" {
            throw ParleyError(.malformed, "runtime policy: excludes must be an array of strings")
        } catch {
            throw ParleyError(.malformed, "runtime policy is not a JSON object (Keylime runtime-policy format expected)")
        }
        guard file.digests.count <= Limits.maxPaths else { throw ParleyError(.limitExceeded, "runtime policy lists more than \(Limits.maxPaths) paths") }
        var digests: [String: Set<String>] = [:]
        for (path, list) in file.digests {
            guard !list.isEmpty else {
                throw ParleyError(.malformed, "runtime policy: digests for \"\(path)\" must be a non-empty array of hex strings")
            }
            digests[path] = Set(try list.map { try Self.normalise($0, path: path) })
        }
        let ex = file.excludes ?? []
        guard ex.count <= Limits.maxExcludes else { throw ParleyError(.limitExceeded, "runtime policy has more than \(Limits.maxExcludes) excludes") }
        try self.init(digests: digests, excludes: ex)
    }

    /// The parts of Keylime's file Parley reads; the other known keys are read past, any other
    /// key is refused.
    private struct KeylimeFile: Decodable {
        let digests: [String: [String]]
        let excludes: [String]?
        enum CodingKeys: String, CodingKey { case digests, excludes }
        init(from decoder: any Decoder) throws {
            try decoder.refuseUnknownFields(RuntimePolicy.knownKeys, in: "runtime policy")
            let c = try decoder.container(keyedBy: CodingKeys.self)
            digests = try c.decode([String: [String]].self, forKey: .digests)
            excludes = try c.decodeIfPresent([String].self, forKey: .excludes)
        }
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
        APIJSON.encode(KeylimeOutput(meta: .init(version: 1, generator: 0, timestamp: ISO8601DateFormatter().string(from: generatedAt)),
                                     release: 0, digests: digests.mapValues { $0.sorted() }, excludes: excludePatterns,
                                     keyrings: [:], ima: .init(ignoredKeyrings: [], logHashAlg: "sha1", dmPolicy: Nullable(nil)),
                                     imaBuf: [:], verificationKeys: ""), pretty: true) + [0x0a]
    }

    /// Keylime's runtime-policy file as `keylime_create_policy` writes it.
    private struct KeylimeOutput: Encodable {
        struct Meta: Encodable { let version: Int; let generator: Int; let timestamp: String }
        struct IMA: Encodable {
            let ignoredKeyrings: [String]; let logHashAlg: String; let dmPolicy: Nullable<String>
            enum CodingKeys: String, CodingKey { case ignoredKeyrings = "ignored_keyrings", logHashAlg = "log_hash_alg", dmPolicy = "dm_policy" }
        }
        let meta: Meta, release: Int, digests: [String: [String]], excludes: [String]
        let keyrings: [String: [String]], ima: IMA, imaBuf: [String: [String]], verificationKeys: String
        enum CodingKeys: String, CodingKey {
            case meta, release, digests, excludes, keyrings, ima
            case imaBuf = "ima-buf", verificationKeys = "verification-keys"
        }
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
        let usage = "boot reference must be {\"format\": \"\(Self.format)\", \"bank\": \"sha256\", \"pcrs\": {\"0\": hex, … \"7\": hex}}"
        guard bytes.count <= 64 << 10 else { throw ParleyError(.malformed, "boot reference is not a JSON object of at most 64 KiB") }
        try JSONDuplicateKeys.refuse(bytes, what: "boot reference")
        let file: File
        do { file = try JSONDecoder().decode(File.self, from: Data(bytes)) } catch let e as ParleyError { throw e } catch {
            throw ParleyError(.malformed, usage)
        }
        guard file.format == Self.format, file.bank == "sha256" else { throw ParleyError(.malformed, usage) }
        var pcrs: [Int: [UInt8]] = [:]
        for (k, v) in file.pcrs {
            guard let i = Int(k), let b = try? Hex.decode(v) else { throw ParleyError(.malformed, "boot reference: PCR \"\(k.prefix(16))\" is not an index with a hex value") }
            pcrs[i] = b
        }
        try self.init(pcrs: pcrs)
    }

    public var json: [UInt8] {
        APIJSON.encode(File(format: Self.format, bank: "sha256",
                            pcrs: Dictionary(uniqueKeysWithValues: pcrs.map { (String($0.key), Hex.encode($0.value)) })), pretty: true) + [0x0a]
    }

    /// The file: exactly these three keys.
    private struct File: Codable {
        let format: String, bank: String, pcrs: [String: String]
        enum CodingKeys: String, CodingKey { case format, bank, pcrs }
        init(format: String, bank: String, pcrs: [String: String]) { self.format = format; self.bank = bank; self.pcrs = pcrs }
        init(from decoder: any Decoder) throws {
            try decoder.refuseUnknownFields(["format", "bank", "pcrs"], in: "the boot reference")
            let c = try decoder.container(keyedBy: CodingKeys.self)
            format = try c.decode(String.self, forKey: .format)
            bank = try c.decode(String.self, forKey: .bank)
            pcrs = try c.decode([String: String].self, forKey: .pcrs)
        }
    }
}
