/// A C2SP tlog-checkpoint (c2sp.org/tlog-checkpoint) body: origin, tree size, root hash and
/// optional extension lines. As a value it is just a claim; see `CheckpointVerifier`.
public struct Checkpoint: Hashable, Sendable {
    /// The longest origin line accepted, in bytes.
    public static let maxOriginLength = 256
    /// The most extension lines accepted.
    public static let maxExtensionCount = 16
    /// The longest extension line accepted, in bytes.
    public static let maxExtensionLength = 1024

    /// The log's identity, e.g. `parley.example/log`.
    public let origin: String
    /// The number of entries in the tree.
    public let size: UInt64
    /// The RFC 9162 root of the tree at `size`.
    public let rootHash: TreeHash
    /// Opaque extension lines, without newlines (their use is not recommended).
    public let extensions: [String]

    /// Builds a checkpoint.
    /// - Throws: `LogError` `.malformedNote` if the origin or an extension line breaks the format.
    public init(origin: String, size: UInt64, rootHash: TreeHash, extensions: [String] = []) throws(LogError) {
        try Self.checkLine(origin, what: "the origin", limit: Self.maxOriginLength)
        guard extensions.count <= Self.maxExtensionCount else {
            throw LogError(.oversize, "a checkpoint has at most \(Self.maxExtensionCount) extension lines")
        }
        for line in extensions { try Self.checkLine(line, what: "an extension line", limit: Self.maxExtensionLength) }
        self.origin = origin
        self.size = size
        self.rootHash = rootHash
        self.extensions = extensions
    }

    /// The note text: `<origin>\n<size>\n<base64 root>\n` then any extension lines.
    public var body: String {
        ([origin, String(size), rootHash.base64] + extensions).map { $0 + "\n" }.joined()
    }

    /// Parses a checkpoint body (the text of a note). Call only on text a trusted key signed.
    /// - Throws: `LogError` `.malformedNote` naming the broken line, or `.oversize`.
    public static func parse(body: String) throws(LogError) -> Checkpoint {
        guard body.hasSuffix("\n") else { throw LogError(.malformedNote, "a checkpoint body ends with a newline") }
        let lines = body.dropLast().split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count >= 3 else {
            throw LogError(.malformedNote, "a checkpoint has origin, size and root lines; got \(lines.count) line(s)")
        }
        guard lines.count - 3 <= maxExtensionCount else {
            throw LogError(.oversize, "a checkpoint has at most \(maxExtensionCount) extension lines")
        }
        let sizeLine = lines[1]
        guard !sizeLine.isEmpty, sizeLine.utf8.count <= 20, sizeLine.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
              sizeLine == "0" || sizeLine.first != "0", let size = UInt64(sizeLine) else {
            throw LogError(.malformedNote, "the tree size must be a decimal number without leading zeros: \(sizeLine.prefix(40).debugDescription)")
        }
        guard let rootBytes = Base64.decode(lines[2]), rootBytes.count == TreeHash.byteCount else {
            throw LogError(.malformedNote, "the root hash must be canonical base64 of 32 bytes")
        }
        return try Checkpoint(origin: String(lines[0]), size: size, rootHash: try TreeHash(bytes: rootBytes),
                              extensions: lines.dropFirst(3).map(String.init))
    }

    /// Signs the body with `key` and returns the signed note's bytes.
    /// - Throws: `LogError` `.signingFailure` from the crypto library.
    public func signedNote(with key: NoteSignerKey) throws(LogError) -> [UInt8] {
        try SignedNote.sign(text: body, with: [key]).encoded
    }

    private static func checkLine(_ line: String, what: String, limit: Int) throws(LogError) {
        guard !line.isEmpty else { throw LogError(.malformedNote, "\(what) must not be empty") }
        guard line.utf8.count <= limit else { throw LogError(.oversize, "\(what) is at most \(limit) bytes") }
        for scalar in line.unicodeScalars where scalar.value < 0x20 || scalar.value == 0x7f {
            throw LogError(.malformedNote, "\(what) must not contain control characters or newlines")
        }
    }
}
