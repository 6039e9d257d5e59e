import ParleyCore

/// One entry of the kernel's IMA measurement list.
///
/// **Untrusted** until ``IMAReplay`` has shown that the list replays to the quoted PCR 10. Even
/// then, `content` is only what the kernel measured: a path is the name the file was opened by.
public struct IMAEntry: Sendable, Equatable {
    /// Position in the list, from 0.
    public let sequence: Int
    /// The PCR the kernel extended (10 unless the IMA policy says otherwise).
    public let pcr: Int
    /// The template digest the log states: SHA-1 of ``templateData``, or 20 zero bytes for a
    /// violation entry (a file measured while open for writing, or changed while measured).
    public let templateDigest: [UInt8]
    /// `ima-ng`, `ima-sig`, `ima-buf`, or another template (kept, never appraised as a file).
    public let templateName: String
    /// The template's fields, each `u32 length || bytes`: the bytes every PCR bank's digest covers.
    public let templateData: [UInt8]

    public init(sequence: Int, pcr: Int, templateDigest: [UInt8], templateName: String, templateData: [UInt8]) {
        self.sequence = sequence
        self.pcr = pcr
        self.templateDigest = templateDigest
        self.templateName = templateName
        self.templateData = templateData
    }

    /// Whether this is a violation entry (zero template digest; the PCR is extended with 0xff bytes).
    public var isViolation: Bool { templateDigest.allSatisfy { $0 == 0 } }

    /// The template fields decoded, for the templates Parley appraises.
    public var content: IMAContent { IMAContent(templateName: templateName, data: templateData) }

    /// The digest this entry extends into a PCR of `bank`: the bank's hash of the template data,
    /// or all 0xff bytes for a violation (what Linux 5.1 and later extend into each bank).
    public func extendDigest(bank: PCRBank) -> [UInt8] {
        isViolation ? [UInt8](repeating: 0xff, count: bank.digestSize) : bank.hash(templateData)
    }

    /// Builds an `ima-ng` (no signature) or `ima-sig` entry, as the kernel writes it.
    public static func file(sequence: Int = 0, path: String, algorithm: PCRBank, digest: [UInt8], signature: [UInt8]? = nil) -> IMAEntry {
        var fields = [Array("\(algorithm.rawValue):".utf8) + [0] + digest, Array(path.utf8) + [0]]
        if let signature { fields.append(signature) }
        let data = fields.flatMap { le32(UInt32($0.count)) + $0 }
        return IMAEntry(sequence: sequence, pcr: 10, templateDigest: PCRBank.sha1.hash(data),
                        templateName: signature == nil ? "ima-ng" : "ima-sig", templateData: data)
    }

    /// The entry in the binary format of `binary_runtime_measurements`.
    public var binary: [UInt8] {
        le32(UInt32(pcr)) + templateDigest + le32(UInt32(templateName.utf8.count)) + Array(templateName.utf8)
            + le32(UInt32(templateData.count)) + templateData
    }
}

func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }

/// The decoded fields of an IMA template.
public enum IMAContent: Sendable, Equatable {
    /// `ima-ng` / `ima-sig`: a file measured on exec, mmap or read (per the IMA policy).
    case file(path: String, algorithm: String, digest: [UInt8], signature: [UInt8]?)
    /// `ima-buf`: a buffer (a key, the kexec command line) measured by name.
    case buffer(name: String, algorithm: String, digest: [UInt8])
    /// A template Parley does not decode, or fields that do not decode.
    case undecoded

    init(templateName: String, data: [UInt8]) {
        guard let fields = IMAContent.fields(data), fields.count >= 2,
              let d = IMAContent.digestField(fields[0]),
              let name = IMAContent.nameField(fields[1]) else { self = .undecoded; return }
        let (alg, digest) = d
        switch (templateName, fields.count) {
        case ("ima-ng", 2): self = .file(path: name, algorithm: alg, digest: digest, signature: nil)
        case ("ima-sig", 3): self = .file(path: name, algorithm: alg, digest: digest, signature: fields[2].isEmpty ? nil : fields[2])
        case ("ima-buf", 3): self = .buffer(name: name, algorithm: alg, digest: digest)
        default: self = .undecoded
        }
    }

    /// Splits `u32 length || bytes` fields; nil if they do not tile the data exactly.
    static func fields(_ data: [UInt8]) -> [[UInt8]]? {
        var r = LittleEndianReader(data, structure: "IMA template data")
        var out: [[UInt8]] = []
        while !r.atEnd {
            guard out.count < 8, let n = try? r.u32("field length"),
                  let f = try? r.take(Int(n), "field", cap: UnverifiedIMAList.Limits.maxTemplateDataBytes) else { return nil }
            out.append(f)
        }
        return out
    }

    /// `d-ng`: `algorithm ":" NUL digest`.
    static func digestField(_ f: [UInt8]) -> (String, [UInt8])? {
        guard let colon = f.firstIndex(of: UInt8(ascii: ":")), colon < 16, colon + 1 < f.count, f[colon + 1] == 0,
              let alg = String(validating: f[..<colon], as: UTF8.self) else { return nil }
        let digest = Array(f[(colon + 2)...])
        if let bank = PCRBank(rawValue: alg), bank.digestSize != digest.count { return nil }
        return (alg, digest)
    }

    /// `n-ng`: a NUL-terminated name.
    static func nameField(_ f: [UInt8]) -> String? {
        guard f.last == 0, f.count <= 4097 else { return nil }
        return String(validating: f.dropLast(), as: UTF8.self)
    }
}

/// The IMA measurement list as parsed, from `binary_runtime_measurements` (or, for fixtures and
/// reference values, the ASCII form). **Untrusted** until replayed.
public struct UnverifiedIMAList: Sendable, Equatable {
    /// Caps on untrusted input.
    public enum Limits {
        /// Largest list accepted, in bytes (a server's list is a few MiB).
        public static let maxBytes = 32 << 20
        /// Most entries accepted.
        public static let maxEntries = 200_000
        /// Largest template data of one entry (an `ima-sig` signature is under 1 KiB).
        public static let maxTemplateDataBytes = 64 << 10
        /// Longest template name.
        public static let maxTemplateNameBytes = 32
    }

    /// The entries, in measurement order.
    public let entries: [IMAEntry]

    public init(entries: [IMAEntry]) { self.entries = entries }

    /// Parses the binary list (little-endian: `pcr u32`, `template digest [20]`, `name length u32`,
    /// `name`, `data length u32`, `data`).
    /// - Throws: ``ParleyError`` for a cap, a truncated entry, or the legacy `ima` template (whose
    ///   binary form has no data length; boot with `ima_template=ima-ng` or `ima-sig`).
    public init(binary bytes: [UInt8]) throws {
        guard bytes.count <= Limits.maxBytes else {
            throw ParleyError(.limitExceeded, "the IMA measurement list is \(bytes.count) bytes, over the cap of \(Limits.maxBytes)")
        }
        var r = LittleEndianReader(bytes, structure: "IMA measurement list")
        var entries: [IMAEntry] = []
        while !r.atEnd {
            guard entries.count < Limits.maxEntries else {
                throw ParleyError(.limitExceeded, "the IMA measurement list has more than \(Limits.maxEntries) entries")
            }
            let i = entries.count
            let pcr = try r.u32("entry \(i) pcr")
            guard pcr < 24 else { throw ParleyError(.malformed, "IMA entry \(i) names PCR \(pcr), not 0-23") }
            let digest = try r.take(20, "entry \(i) template digest", cap: 20)
            let nameBytes = try r.take(Int(try r.u32("entry \(i) name length")), "entry \(i) template name", cap: Limits.maxTemplateNameBytes)
            guard let name = String(validating: nameBytes, as: UTF8.self), !name.isEmpty else {
                throw ParleyError(.malformed, "IMA entry \(i) has a template name that is not text")
            }
            guard name != "ima" else {
                throw ParleyError(.unsupported, "IMA entry \(i) uses the legacy \"ima\" template; boot with ima_template=ima-ng or ima-sig")
            }
            let data = try r.take(Int(try r.u32("entry \(i) data length")), "entry \(i) template data", cap: Limits.maxTemplateDataBytes)
            entries.append(IMAEntry(sequence: i, pcr: Int(pcr), templateDigest: digest, templateName: name, templateData: data))
        }
        self.entries = entries
    }

    /// Parses the ASCII list (`ascii_runtime_measurements`): `PCR template-hash template
    /// algorithm:digest path [signature]`, rebuilding each entry's template data. The template hash
    /// stated on each line is kept as the entry's digest (SHA-1); ``IMAReplay`` recomputes it.
    public init(ascii text: String) throws {
        guard text.utf8.count <= Limits.maxBytes else {
            throw ParleyError(.limitExceeded, "the IMA measurement list is over the cap of \(Limits.maxBytes) bytes")
        }
        var entries: [IMAEntry] = []
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            guard entries.count < Limits.maxEntries else {
                throw ParleyError(.limitExceeded, "the IMA measurement list has more than \(Limits.maxEntries) entries")
            }
            let parts = line.split(separator: " ", maxSplits: 4, omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 5, let pcr = Int(parts[0]), (0..<24).contains(pcr),
                  let stated = try? Hex.decode(parts[1]), stated.count == 20,
                  parts[2] == "ima-ng" || parts[2] == "ima-sig",
                  let colon = parts[3].firstIndex(of: ":"), let digest = try? Hex.decode(parts[3][parts[3].index(after: colon)...]) else {
                throw ParleyError(.malformed, "IMA list line \(n + 1) is not `PCR sha1-template-hash ima-ng|ima-sig alg:digest path`")
            }
            let alg = String(parts[3][..<colon])
            var path = parts[4], signature: [UInt8]?
            if parts[2] == "ima-sig", let space = path.lastIndex(of: " "), let sig = try? Hex.decode(path[path.index(after: space)...]) {
                signature = sig
                path = String(path[..<space])
            }
            var fields = [Array("\(alg):".utf8) + [0] + digest, Array(path.utf8) + [0]]
            if parts[2] == "ima-sig" { fields.append(signature ?? []) }
            entries.append(IMAEntry(sequence: entries.count, pcr: pcr, templateDigest: stated, templateName: parts[2],
                                    templateData: fields.flatMap { le32(UInt32($0.count)) + $0 }))
        }
        self.entries = entries
    }

    /// The list in binary form.
    public var binary: [UInt8] { entries.flatMap(\.binary) }
}
