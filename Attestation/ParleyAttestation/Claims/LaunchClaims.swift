import ParleyCore

/// What a worker's launch is measured as: the claims both quote providers bind into what they
/// sign, and that a party appraises before it uploads anything.
public struct LaunchClaims: Sendable, Equatable {
    /// The job id the host gave the launch.
    public var job: String
    /// SHA-384 of the worker executable's bytes.
    public var runtime: MeasurementDigest
    /// SHA-384 of the sealed module's CBOR payload.
    public var module: MeasurementDigest
    /// SHA-384 of the module signer's public key (SubjectPublicKeyInfo DER).
    public var moduleSigner: MeasurementDigest
    /// True when the worker runs without its sandbox (debug mode). Verifiers refuse it by default.
    public var debug: Bool
    /// The worker's HPKE public key (X25519, 32 bytes): uploads are encrypted to it.
    public var publicKey: [UInt8]
    /// The worker's result-signing public key (SubjectPublicKeyInfo DER, P-256 or P-384).
    public var signingKey: [UInt8]
    /// What the worker inherited from earlier jobs of its budget ledger; nil for a worker started
    /// without a ledger handoff (a party following the log refuses that).
    public var ledger: LedgerClaim?
    /// The worker's lock-down report: each step (`identity`, `landlock`, `syscall-filter`, ...)
    /// and its outcome as the worker read it back ("applied: ABI 7 ...", "unavailable: ...").
    /// Quoted with the rest, so a party sees what the sandbox really was; empty for a worker that
    /// reported none (then the field is left out of the encoding).
    public var sandbox: [String: String]

    /// Caps on the lock-down report read from untrusted evidence.
    public enum SandboxLimits {
        public static let maxSteps = 32
        public static let maxStepName = 64
        public static let maxOutcome = 1024
    }

    public init(job: String, runtime: MeasurementDigest, module: MeasurementDigest, moduleSigner: MeasurementDigest,
                debug: Bool, publicKey: [UInt8], signingKey: [UInt8], ledger: LedgerClaim? = nil, sandbox: [String: String] = [:]) {
        self.job = job
        self.runtime = runtime
        self.module = module
        self.moduleSigner = moduleSigner
        self.debug = debug
        self.publicKey = publicKey
        self.signingKey = signingKey
        self.ledger = ledger
        self.sandbox = sandbox
    }

    /// Job ids: 1 to 64 characters of `A-Z a-z 0-9 - _`.
    public static func validateJobID(_ job: String) throws { try JobID.validate(job) }

    /// The CBOR fields shared by the software document, the TPM launch event and the host log's
    /// launch record: the claims' one encoder.
    public func fields() -> [String: CBOR] {
        var m: [String: CBOR] = [
            "job": .text(job),
            "measurements": .textMap([
                "runtime": .bytes(runtime.bytes),
                "module": .bytes(module.bytes),
                "module_signer": .bytes(moduleSigner.bytes),
            ]),
            "debug": .bool(debug),
            "public_key": .bytes(publicKey),
            "signing_key": .bytes(signingKey),
        ]
        if let ledger { m["ledger"] = ledger.cbor }
        if !sandbox.isEmpty { m["sandbox"] = .textMap(sandbox.mapValues { .text($0) }) }
        return m
    }

    /// The optional fields the shared claims may add to a format's own field list.
    static let optionalFields: Set<String> = ["ledger", "sandbox"]

    /// Reads the lock-down report: a map of step name to outcome text, within ``SandboxLimits``.
    static func parseSandbox(_ value: CBOR?, context: String) throws -> [String: String] {
        guard let value else { return [:] }
        let m = try value.textKeyedMap("\(context) sandbox")
        guard !m.isEmpty, m.count <= SandboxLimits.maxSteps else {
            throw ParleyError(.malformed, "\(context) sandbox must list 1 to \(SandboxLimits.maxSteps) steps")
        }
        var out: [String: String] = [:]
        for (step, outcome) in m {
            guard (1...SandboxLimits.maxStepName).contains(step.utf8.count),
                  step.unicodeScalars.allSatisfy({ ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }) else {
                throw ParleyError(.malformed, "\(context) sandbox has a step name that is not 1 to \(SandboxLimits.maxStepName) of a-z 0-9 -")
            }
            let text = try outcome.textValue("\(context) sandbox \(step)")
            guard text.utf8.count <= SandboxLimits.maxOutcome else {
                throw ParleyError(.malformed, "\(context) sandbox \(step) is over \(SandboxLimits.maxOutcome) bytes")
            }
            out[step] = text
        }
        return out
    }

    /// Reads the shared fields back from an untrusted map (the caller has checked for unknown keys).
    public static func parse(_ m: [String: CBOR], context: String) throws -> LaunchClaims {
        let job = try m.required("job", in: context).textValue("\(context) job")
        try validateJobID(job)
        let meas = try m.required("measurements", in: context).textKeyedMap("\(context) measurements")
        try meas.rejectUnknownKeys(["runtime", "module", "module_signer"], in: "\(context) measurements")
        func measurement(_ k: String) throws -> MeasurementDigest {
            try MeasurementDigest(bytes: try meas.required(k, in: "\(context) measurements").bytesValue("\(context) \(k)"))
        }
        let publicKey = try m.required("public_key", in: context).bytesValue("\(context) public_key")
        guard publicKey.count == 32 else { throw ParleyError(.malformed, "\(context) public_key must be a 32-byte X25519 key") }
        let signingKey = try m.required("signing_key", in: context).bytesValue("\(context) signing_key")
        _ = try ECVerifyingKey(der: signingKey) // must be a P-256 or P-384 SubjectPublicKeyInfo
        return LaunchClaims(job: job, runtime: try measurement("runtime"), module: try measurement("module"),
                            moduleSigner: try measurement("module_signer"),
                            debug: try m.required("debug", in: context).boolValue("\(context) debug"),
                            publicKey: publicKey, signingKey: signingKey,
                            ledger: try m["ledger"].map { try LedgerClaim(cbor: $0, context: context) },
                            sandbox: try parseSandbox(m["sandbox"], context: context))
    }
}

/// A party's fresh nonce: 16 to 64 bytes.
public struct Nonce: Sendable, Hashable {
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) throws {
        guard (16...64).contains(bytes.count) else {
            throw ParleyError(.malformed, "a nonce is 16 to 64 bytes, found \(bytes.count)")
        }
        self.bytes = bytes
    }

    public init(hex: String) throws { try self.init(bytes: try Hex.decode(hex)) }

    /// 32 bytes from the system CSPRNG.
    public static func random() -> Nonce {
        var g = SystemRandomNumberGenerator()
        // 32 bytes is inside 16...64, so this cannot fail.
        return try! Nonce(bytes: (0..<32).map { _ in UInt8.random(in: 0...255, using: &g) })
    }

    public var hex: String { Hex.encode(bytes) }
}
