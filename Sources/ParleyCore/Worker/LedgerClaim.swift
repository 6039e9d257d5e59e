
/// What a worker says it inherited from earlier jobs of its budget ledger, bound into its launch
/// claims (so into the quote): the log checkpoint it counted up to and the spend it found. A
/// party's client refuses evidence whose checkpoint does not extend what it saw (docs/privacy.md).
///
/// CBOR (the `ledger` field of the launch claims): `{"id": bstr(32), "log_key": text,
/// "checkpoint_size": uint, "checkpoint_root": bstr(32), "inherited": text, "open_jobs": [text]}`.
public struct LedgerClaim: Sendable, Equatable {
    /// The most open earlier jobs a claim lists (so that the claims fit a TPM launch event); a
    /// worker that finds more refuses to start.
    public static let maxOpenJobs = 64
    /// The ledger id (``ModuleDefinition/ledgerID`` of the module).
    public var id: [UInt8]
    /// The verifier key of the log the worker counted from.
    public var logKey: String
    /// The size of the checkpoint the worker recomputed.
    public var checkpointSize: UInt64
    /// Its root hash.
    public var checkpointRoot: [UInt8]
    /// Epsilon counted as spent by earlier jobs, exact text (`"1"`, `"0.25"`, `"1/3"`).
    public var inherited: String
    /// Earlier jobs of the ledger with no end in the log (counted as having spent all they could).
    public var openJobs: [String]

    /// A claim.
    public init(id: [UInt8], logKey: String, checkpointSize: UInt64, checkpointRoot: [UInt8], inherited: String, openJobs: [String]) {
        self.id = id
        self.logKey = logKey
        self.checkpointSize = checkpointSize
        self.checkpointRoot = checkpointRoot
        self.inherited = inherited
        self.openJobs = openJobs
    }

    /// The CBOR form.
    public var cbor: CBOR {
        .textMap([
            "id": .bytes(id), "log_key": .text(logKey), "checkpoint_size": .unsigned(checkpointSize),
            "checkpoint_root": .bytes(checkpointRoot), "inherited": .text(inherited), "open_jobs": .array(openJobs.map { .text($0) }),
        ])
    }

    /// Reads the CBOR form. - Throws: `ParleyError` naming the bad field.
    public init(cbor: CBOR, context: String) throws {
        let m = try cbor.textKeyedMap("\(context) ledger")
        let c = "\(context) ledger"
        try m.rejectUnknownKeys(["id", "log_key", "checkpoint_size", "checkpoint_root", "inherited", "open_jobs"], in: c)
        id = try m.required("id", in: c).bytesValue("\(c) id")
        logKey = try m.required("log_key", in: c).textValue("\(c) log_key")
        checkpointSize = try m.required("checkpoint_size", in: c).unsignedValue("\(c) checkpoint_size")
        checkpointRoot = try m.required("checkpoint_root", in: c).bytesValue("\(c) checkpoint_root")
        inherited = try m.required("inherited", in: c).textValue("\(c) inherited")
        let open = try m.required("open_jobs", in: c).arrayValue("\(c) open_jobs")
        guard id.count == 32, checkpointRoot.count == 32, logKey.utf8.count <= 512, inherited.utf8.count <= 128, open.count <= Self.maxOpenJobs else {
            throw ParleyError(.malformed, "\(c) has a field of the wrong size")
        }
        openJobs = try open.map { try $0.textValue("\(c) open job") }
    }
}
