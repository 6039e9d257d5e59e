import Crypto

/// What a worker says it inherited from earlier jobs of its budget ledger, bound into its launch
/// claims (so into the quote): the log checkpoint it counted up to, the spend it found, and which
/// earlier jobs it counted. A party's client refuses evidence whose checkpoint does not extend what
/// it saw, or whose counted jobs leave out one it saw (docs/privacy.md, "The ledger across jobs").
///
/// CBOR (the `ledger` field of the launch claims): `{"id": bstr(32), "log_key": text,
/// "checkpoint_size": uint, "checkpoint_root": bstr(32), "inherited": text, "counted": uint,
/// "counted_digest": bstr(32)}`. The list of counted jobs (their launch entries' indexes) is too
/// long for a TPM launch event, so the claim binds its count and SHA-256 (``digest(of:)``) and the
/// list itself travels beside it: in the worker's `ready` message and the host log's launch entry
/// (`ledger_counted`, ``pack(_:)``), where a reader checks it against this digest.
public struct LedgerClaim: Sendable, Equatable {
    /// The most earlier jobs of one ledger a worker counts; a worker handed more refuses to start.
    public static let maxCountedJobs = 100_000
    /// The ledger id (``ModuleDefinition/ledgerID`` of the module).
    public var id: [UInt8]
    /// The verifier key of the log the worker counted from.
    public var logKey: String
    /// The size of the checkpoint the worker counted up to.
    public var checkpointSize: UInt64
    /// Its root hash.
    public var checkpointRoot: [UInt8]
    /// Epsilon counted as spent by earlier jobs, exact text (`"1"`, `"0.25"`, `"1/3"`).
    public var inherited: String
    /// How many earlier jobs of the ledger the worker counted.
    public var counted: UInt64
    /// SHA-256 of ``pack(_:)`` of their launch entries' indexes, ascending.
    public var countedDigest: [UInt8]

    /// A claim.
    public init(id: [UInt8], logKey: String, checkpointSize: UInt64, checkpointRoot: [UInt8], inherited: String, countedLaunches: [UInt64]) {
        self.id = id
        self.logKey = logKey
        self.checkpointSize = checkpointSize
        self.checkpointRoot = checkpointRoot
        self.inherited = inherited
        counted = UInt64(countedLaunches.count)
        countedDigest = Self.digest(of: countedLaunches)
    }

    /// True when `launches` is the list this claim binds (same count, same digest).
    public func binds(_ launches: [UInt64]) -> Bool {
        UInt64(launches.count) == counted && Self.digest(of: launches) == countedDigest
    }

    /// Launch indexes as bytes: each a big-endian u64, in order.
    public static func pack(_ launches: [UInt64]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(launches.count * 8)
        for v in launches { for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: v >> UInt64(shift))) } }
        return out
    }

    /// Reads ``pack(_:)``'s bytes: a multiple of 8, at most ``maxCountedJobs`` indexes, strictly ascending.
    /// - Throws: `ParleyError` `.malformed` otherwise.
    public static func unpack(_ bytes: [UInt8], context: String) throws -> [UInt64] {
        guard bytes.count % 8 == 0, bytes.count / 8 <= maxCountedJobs else {
            throw ParleyError(.malformed, "\(context) is not a list of at most \(maxCountedJobs) 8-byte entry indexes")
        }
        var out: [UInt64] = []
        out.reserveCapacity(bytes.count / 8)
        var i = 0
        while i < bytes.count {
            var v: UInt64 = 0
            for b in bytes[i..<(i + 8)] { v = v << 8 | UInt64(b) }
            guard out.last.map({ $0 < v }) ?? true else { throw ParleyError(.malformed, "\(context) is not in ascending order") }
            out.append(v)
            i += 8
        }
        return out
    }

    /// SHA-256 of ``pack(_:)``.
    public static func digest(of launches: [UInt64]) -> [UInt8] { Array(SHA256.hash(data: pack(launches))) }

    /// The CBOR form.
    public var cbor: CBOR {
        .textMap([
            "id": .bytes(id), "log_key": .text(logKey), "checkpoint_size": .unsigned(checkpointSize),
            "checkpoint_root": .bytes(checkpointRoot), "inherited": .text(inherited), "counted": .unsigned(counted),
            "counted_digest": .bytes(countedDigest),
        ])
    }

    /// Reads the CBOR form. - Throws: `ParleyError` naming the bad field.
    public init(cbor: CBOR, context: String) throws {
        let m = try cbor.textKeyedMap("\(context) ledger")
        let c = "\(context) ledger"
        try m.rejectUnknownKeys(["id", "log_key", "checkpoint_size", "checkpoint_root", "inherited", "counted", "counted_digest"], in: c)
        id = try m.required("id", in: c).bytesValue("\(c) id")
        logKey = try m.required("log_key", in: c).textValue("\(c) log_key")
        checkpointSize = try m.required("checkpoint_size", in: c).unsignedValue("\(c) checkpoint_size")
        checkpointRoot = try m.required("checkpoint_root", in: c).bytesValue("\(c) checkpoint_root")
        inherited = try m.required("inherited", in: c).textValue("\(c) inherited")
        counted = try m.required("counted", in: c).unsignedValue("\(c) counted")
        countedDigest = try m.required("counted_digest", in: c).bytesValue("\(c) counted_digest")
        guard id.count == 32, checkpointRoot.count == 32, countedDigest.count == 32, logKey.utf8.count <= 512, inherited.utf8.count <= 128,
              counted <= UInt64(Self.maxCountedJobs), counted <= checkpointSize else {
            throw ParleyError(.malformed, "\(c) has a field of the wrong size")
        }
    }
}
