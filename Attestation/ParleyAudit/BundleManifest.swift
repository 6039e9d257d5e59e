import Crypto
import ParleyCore

/// A bundle's `MANIFEST`: one line per file, `<sha256 hex>  <relative path>`, sorted by path,
/// the format `sha256sum -c MANIFEST` checks.
///
/// The manifest is not signed: it catches damage in transit, not forgery (the signed
/// checkpoints and pinned keys do that). So the replay reports a mismatch as a warning and
/// lets the log's own checks name the entry that changed.
struct BundleManifest: Equatable {
    static let fileName = "MANIFEST"

    /// Relative path -> SHA-256.
    var digests: [String: [UInt8]]

    /// The file's text.
    var text: String {
        digests.keys.sorted().map { "\(Hex.encode(digests[$0] ?? []))  \($0)\n" }.joined()
    }

    static func digest(_ bytes: [UInt8]) -> [UInt8] { Array(SHA256.hash(data: bytes)) }

    /// Parses the text. - Throws: `AuditError` `.malformedBundle` naming the bad line.
    static func parse(_ text: String) throws(AuditError) -> BundleManifest {
        var digests: [String: [UInt8]] = [:]
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            let parts = line.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[1].hasPrefix(" "), let digest = try? Hex.decode(parts[0]), digest.count == 32 else {
                throw AuditError(.malformedBundle, "MANIFEST line \(number + 1) is not \"<sha256 hex>  <path>\"")
            }
            let path = String(parts[1].dropFirst())
            guard !path.isEmpty, !path.hasPrefix("/"), !path.split(separator: "/").contains("..") else {
                throw AuditError(.malformedBundle, "MANIFEST line \(number + 1) names a path outside the bundle: \(path.debugDescription)")
            }
            guard digests[path] == nil else { throw AuditError(.malformedBundle, "MANIFEST lists \(path) twice") }
            digests[path] = digest
        }
        return BundleManifest(digests: digests)
    }
}
