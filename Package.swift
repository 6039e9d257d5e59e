// swift-tools-version: 6.1
// Parley: an attested data clean room. See README.md and docs/architecture.md.
//
// Targets are grouped by the process and trust side that runs them, and the folder says which:
//   Sources/      shared by every role: formats, the log's proofs, the analysis language, query cost
//   Attestation/  the party's and auditor's side: evidence verification and appraisal, audit
//                 replay, the party client, the witness
//   Host/         only the host runs it: quote providers (software CA, TPM driver), worker launch and
//                 supervision, HTTP, the job store, the log writer and its key
//   Enclave/      only the worker runs it: sandbox, engine, noise and the egress gate
//   Tests/        tests, test-only executables, fuzz targets and benchmarks
// docs/architecture.md has the table of who may import what; ArchitectureTests fails the suite
// if a target here grows an arrow that must never exist (host -> worker code, party -> host
// code, shared -> either).
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "Parley",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "parley", targets: ["parley"]),
        .executable(name: "parley-host", targets: ["parley-host"]),
        .executable(name: "parley-enclave", targets: ["parley-enclave"]),
        .executable(name: "parley-witness", targets: ["parley-witness"]),
        .library(name: "ParleyCore", targets: ["ParleyCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.0.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.0.0"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    ],
    targets: [
        // ---- Sources: shared by every role -------------------------------------------------------

        // System libraries (pkg-config), each with a shim header for macros Swift cannot import.
        .systemLibrary(name: "CCBOR", path: "Sources/CCBOR", pkgConfig: "libcbor",
                       providers: [.apt(["libcbor-dev"])]),
        .systemLibrary(name: "COpenSSL", path: "Sources/COpenSSL", pkgConfig: "libcrypto",
                       providers: [.apt(["libssl-dev"])]),

        // Value types shared by every role: CBOR, COSE, HPKE streaming, keys, the worker protocol.
        .target(name: "ParleyCore",
                dependencies: ["CCBOR", "COpenSSL", .product(name: "Crypto", package: "swift-crypto")],
                path: "Sources/ParleyCore", swiftSettings: strict),
        // A strict TOML 1.0 subset parser that keeps the position of every key and value, so that
        // policy and module errors name file, line and column.
        .target(name: "ParleyTOML", path: "Sources/ParleyTOML", swiftSettings: strict),
        // The analysis language: SQL subset -> typed plan with static privacy checks (no I/O).
        .target(name: "ParleyAnalysis", path: "Sources/ParleyAnalysis", swiftSettings: strict),
        // What parties, auditors and the worker all compute about privacy: exact rationals, the
        // privacy policy, sensitivity and query cost, partition selection. No sampling, no gate.
        .target(name: "ParleyPrivacy", path: "Sources/ParleyPrivacy", swiftSettings: strict),
        // Analysis modules: the TOML source, validation at seal time, the sealed bundle.
        .target(name: "ParleyModule",
                dependencies: ["ParleyCore", "ParleyAnalysis", "ParleyTOML", "ParleyPrivacy",
                               .product(name: "Crypto", package: "swift-crypto")],
                path: "Sources/ParleyModule", swiftSettings: strict),
        // The append-only log: RFC 9162 Merkle tree, C2SP signed-note checkpoints, proofs, durable
        // storage and its Merkle replay. Knows nothing of Parley's entries.
        .target(name: "ParleyLog", dependencies: [.product(name: "Crypto", package: "swift-crypto")],
                path: "Sources/ParleyLog", swiftSettings: strict),
        // The privacy budget ledger across jobs: the host's handoff to a new worker and the tally
        // of what earlier jobs spent (shared by the worker, the host and the audit).
        .target(name: "ParleyLedger", dependencies: ["ParleyCore", "ParleyModule", "ParleyPrivacy", "ParleyLog"],
                path: "Sources/ParleyLedger", swiftSettings: strict),

        // ---- Attestation: the party's and the auditor's side -------------------------------------

        // Parses and verifies TPM quote structures; never links tss2 (a party's verify path).
        .target(name: "ParleyTPMVerify", dependencies: [.product(name: "Crypto", package: "swift-crypto")],
                path: "Attestation/ParleyTPMVerify", swiftSettings: strict),
        // Evidence formats, the platform logs, the verifier and its appraisal policy.
        .target(name: "ParleyAttestation",
                dependencies: ["ParleyCore", "ParleyTPMVerify", "ParleyTOML", "ParleyLog",
                               .product(name: "Crypto", package: "swift-crypto"),
                               .product(name: "X509", package: "swift-certificates"),
                               .product(name: "SwiftASN1", package: "swift-asn1")],
                path: "Attestation/ParleyAttestation", swiftSettings: strict),
        // The log's content (entries for every host event), audit bundles and the auditor's replay.
        .target(name: "ParleyAudit",
                dependencies: ["ParleyLog", "ParleyAttestation", "ParleyCore", "ParleyModule", "ParleyPrivacy", "ParleyLedger",
                               .product(name: "Crypto", package: "swift-crypto")],
                path: "Attestation/ParleyAudit", exclude: ["README.md"], swiftSettings: strict),
        // What a party runs on its own machine: sealed uploads, signed requests, checked results.
        .target(name: "ParleyParty",
                dependencies: ["ParleyCore", "ParleyAttestation", "ParleyLog", "ParleyAudit", "ParleyModule",
                               .product(name: "Crypto", package: "swift-crypto"),
                               .product(name: "AsyncHTTPClient", package: "async-http-client"),
                               .product(name: "NIOCore", package: "swift-nio"),
                               .product(name: "NIOHTTP1", package: "swift-nio")],
                path: "Attestation/ParleyParty", swiftSettings: strict),
        // A witness: follows host logs and cosigns their checkpoints (C2SP tlog-witness).
        .target(name: "ParleyWitness",
                dependencies: ["ParleyLog", "ParleyCore", .product(name: "Hummingbird", package: "hummingbird")],
                path: "Attestation/ParleyWitness", swiftSettings: strict),
        // `parley witness` execs this: the witness's HTTP server (Hummingbird stays out of `parley`).
        .executableTarget(name: "parley-witness",
                          dependencies: ["ParleyWitness", "ParleyLog", "ParleyCore",
                                         .product(name: "ArgumentParser", package: "swift-argument-parser"),
                                         .product(name: "Hummingbird", package: "hummingbird")],
                          path: "Attestation/parley-witness", swiftSettings: strict),
        // The one CLI for every role. It links no host or worker code: `parley serve` execs
        // parley-host and `parley witness` execs parley-witness, both installed beside it.
        .executableTarget(name: "parley",
                          dependencies: ["ParleyCore", "ParleyAttestation", "ParleyModule", "ParleyAnalysis", "ParleyPrivacy",
                                         "ParleyParty", "ParleyAudit", "ParleyLog", "ParleyTOML",
                                         .product(name: "ArgumentParser", package: "swift-argument-parser")],
                          path: "Sources/parley", swiftSettings: strict),

        // ---- Host: only the host process runs it -------------------------------------------------

        .systemLibrary(name: "CTSS2", path: "Host/CTSS2", pkgConfig: "tss2-esys",
                       providers: [.apt(["libtss2-dev"])]),
        // Fork and fexecve of a sealed memfd image (C: only async-signal-safe calls after fork).
        .target(name: "CParleySpawn", path: "Host/CParleySpawn"),
        // Drives a TPM through tpm2-tss ESAPI: attestation key, PCRs, quotes.
        .target(name: "ParleyTPM", dependencies: ["CTSS2", "COpenSSL"],
                path: "Host/ParleyTPM", swiftSettings: strict),
        // The quote provider protocol and the software quoting CA (holds the quoting keys).
        .target(name: "ParleyQuoting",
                dependencies: ["ParleyAttestation", "ParleyCore", .product(name: "Crypto", package: "swift-crypto")],
                path: "Host/ParleyQuoting", swiftSettings: strict),
        // The TPM quote provider: PCR 13 launch log and quotes (links tss2; parties never need it).
        .target(name: "ParleyTPMProvider",
                dependencies: ["ParleyQuoting", "ParleyAttestation", "ParleyTPM", "ParleyTPMVerify", "ParleyCore"],
                path: "Host/ParleyTPMProvider", swiftSettings: strict),
        // The log writer: every host event becomes an entry; holds the log signing key.
        .target(name: "ParleyHostLog",
                dependencies: ["ParleyAudit", "ParleyAttestation", "ParleyLedger", "ParleyLog", "ParleyModule", "ParleyCore"],
                path: "Host/ParleyHostLog", swiftSettings: strict),
        // Worker launch and supervision (a state machine), the host service.
        .target(name: "ParleyHost",
                dependencies: ["ParleyCore", "ParleyAttestation", "ParleyModule", "ParleyQuoting", "ParleyTPMProvider", "CParleySpawn"],
                path: "Host/ParleyHost", swiftSettings: strict),
        // The host's HTTP API (Hummingbird) and its job store (SQLite through GRDB).
        .target(name: "ParleyHTTP",
                dependencies: ["ParleyHost", "ParleyHostLog", "ParleyCore", "ParleyAttestation", "ParleyAudit", "ParleyParty", "ParleyLog",
                               .product(name: "Hummingbird", package: "hummingbird"),
                               .product(name: "HummingbirdCore", package: "hummingbird"),
                               .product(name: "HummingbirdTLS", package: "hummingbird"),
                               .product(name: "GRDB", package: "GRDB.swift")],
                path: "Host/ParleyHTTP", swiftSettings: strict),
        // The host executable: `parley-host serve` (what `parley serve` execs).
        .executableTarget(name: "parley-host",
                          dependencies: ["ParleyHost", "ParleyHTTP", "ParleyHostLog", "ParleyQuoting", "ParleyTPMProvider", "ParleyCore",
                                         .product(name: "ArgumentParser", package: "swift-argument-parser"),
                                         .product(name: "Hummingbird", package: "hummingbird")],
                          path: "Host/parley-host", swiftSettings: strict),

        // ---- Enclave: only the worker process runs it --------------------------------------------

        .systemLibrary(name: "CSeccomp", path: "Enclave/CSeccomp", pkgConfig: "libseccomp",
                       providers: [.apt(["libseccomp-dev"])]),
        // The in-memory columnar engine the worker runs plans with: CSV loading, hash joins and
        // aggregation, per-unit contribution bounding.
        .target(name: "ParleyEngine", dependencies: ["ParleyAnalysis", .product(name: "Crypto", package: "swift-crypto")],
                path: "Enclave/ParleyEngine", swiftSettings: strict),
        // The egress gate: exact discrete DP noise, minimum group size, the privacy budget.
        .target(name: "ParleyEgress", dependencies: ["ParleyPrivacy"], path: "Enclave/ParleyEgress", swiftSettings: strict),
        // The worker's lock-down: resource limits, network namespace, no-new-privs, not dumpable,
        // Landlock, seccomp allow-list. See docs/sandbox.md.
        .target(name: "ParleySandbox", dependencies: ["CSeccomp"], path: "Enclave/ParleySandbox", swiftSettings: strict),
        // The worker runtime: key custody, uploads, query execution through the egress gate.
        .target(name: "ParleyWorker",
                dependencies: ["ParleyCore", "ParleyModule", "ParleyEngine", "ParleyEgress", "ParleyPrivacy", "ParleyAnalysis", "ParleyLedger",
                               .product(name: "Crypto", package: "swift-crypto")],
                path: "Enclave/ParleyWorker", swiftSettings: strict),
        // The worker executable (the simulated enclave).
        .executableTarget(name: "parley-enclave", dependencies: ["ParleyCore", "ParleyWorker", "ParleySandbox", "CSeccomp"],
                          path: "Enclave/Worker", swiftSettings: strict),

        // ---- Tests: test-only executables, fuzz targets, benchmarks, test targets ----------------

        // Test entry point only: locks down like the worker, then tries forbidden operations.
        .executableTarget(name: "parley-sandbox-probe", dependencies: ["ParleySandbox", "CSeccomp"],
                          path: "Tests/Executables/parley-sandbox-probe", swiftSettings: strict),
        // Test entry point only: appends to a durable log and is killed mid-write.
        .executableTarget(name: "parley-log-crash-child", dependencies: ["ParleyLog"],
                          path: "Tests/Executables/parley-log-crash-child", swiftSettings: strict),

        // Fuzz entry points for every parser of untrusted input, and their libFuzzer driver
        // (Scripts/fuzz.sh).
        .target(name: "ParleyFuzzTargets",
                dependencies: ["ParleyCore", "ParleyAttestation", "ParleyAudit", "ParleyQuoting", "ParleyTPMVerify", "ParleyAnalysis", "ParleyEngine",
                               "ParleyLedger", "ParleyLog", .product(name: "Crypto", package: "swift-crypto")],
                path: "Tests/Fuzz/ParleyFuzzTargets", swiftSettings: strict),
        .executableTarget(name: "parley-fuzz", dependencies: ["ParleyFuzzTargets"],
                          path: "Tests/Fuzz/parley-fuzz", swiftSettings: strict),

        // Benchmarks, run in release mode by Scripts/bench.sh (never by CI).
        .executableTarget(name: "parley-bench",
                          dependencies: ["ParleyCore", "ParleyAttestation", "ParleyQuoting", "ParleyTPM", "ParleyTPMProvider", "ParleyEngine",
                                         "ParleyAnalysis", "ParleyHost", "ParleyHostLog", "ParleyModule", "ParleyHTTP", "ParleyParty", "ParleyAudit",
                                         .product(name: "Crypto", package: "swift-crypto")],
                          path: "Tests/Benchmarks/parley-bench", swiftSettings: strict),
        // The egress gate's timing side channel (Scripts/bench.sh gate).
        .executableTarget(name: "parley-gate-bench", dependencies: ["ParleyEgress", "ParleyPrivacy", "ParleyEngine", "ParleyAnalysis"],
                          path: "Tests/Benchmarks/parley-gate-bench", swiftSettings: strict),
        .executableTarget(name: "parley-log-bench", dependencies: ["ParleyLog"],
                          path: "Tests/Benchmarks/parley-log-bench", swiftSettings: strict),

        // Shared test helpers: a private swtpm per test, tool lookup.
        // The host's testing library: an in-memory worker on a real framed channel, a manual
        // clock and fixed randomness, so host tests run without spawning a worker or sleeping.
        .target(name: "ParleyHostTesting", dependencies: ["ParleyHost", "ParleyCore", "ParleyTPM", "ParleyTPMProvider"],
                path: "Tests/ParleyHostTesting", swiftSettings: strict),
        .target(name: "ParleyTestSupport", dependencies: ["ParleyTPM", "ParleyAttestation", "ParleyTPMProvider", "COpenSSL", "ParleyModule", "ParleyCore"],
                path: "Tests/ParleyTestSupport", swiftSettings: strict),

        .testTarget(name: "ParleyCoreTests",
                    dependencies: ["ParleyCore", "CTSS2", "COpenSSL", "CCBOR", "CSeccomp"],
                    path: "Tests/ParleyCoreTests",
                    resources: [.copy("Fixtures")],
                    swiftSettings: strict),
        .testTarget(name: "ParleyTPMTests",
                    dependencies: ["ParleyTPM", "ParleyTPMVerify", "COpenSSL", "ParleyTestSupport"],
                    path: "Tests/ParleyTPMTests", swiftSettings: strict),
        .testTarget(name: "ParleyTPMVerifyTests",
                    dependencies: ["ParleyTPMVerify", "ParleyTestSupport", .product(name: "Crypto", package: "swift-crypto")],
                    path: "Tests/ParleyTPMVerifyTests", swiftSettings: strict),
        .testTarget(name: "ParleyAttestationTests",
                    dependencies: ["ParleyAttestation", "ParleyQuoting", "ParleyTPMProvider", "ParleyTPM", "ParleyCore", "ParleyTestSupport",
                                   .product(name: "Crypto", package: "swift-crypto"),
                                   .product(name: "X509", package: "swift-certificates"),
                                   .product(name: "SwiftASN1", package: "swift-asn1")],
                    path: "Tests/ParleyAttestationTests", swiftSettings: strict),
        .testTarget(name: "ParleyFuzzTargetTests", dependencies: ["ParleyFuzzTargets", "ParleyAttestation", "ParleyAudit", "ParleyCore", "ParleyLedger", "ParleyLog"],
                    path: "Tests/ParleyFuzzTargetTests", swiftSettings: strict),
        .testTarget(name: "ParleyTOMLTests", dependencies: ["ParleyTOML"],
                    path: "Tests/ParleyTOMLTests", swiftSettings: strict),
        .testTarget(name: "ParleyModuleTests", dependencies: ["ParleyModule", "ParleyCore", "ParleyEngine", "ParleyAnalysis", "ParleyPrivacy", "ParleyEgress"],
                    path: "Tests/ParleyModuleTests", swiftSettings: strict),
        .testTarget(name: "ParleyWorkerTests",
                    dependencies: ["ParleyWorker", "ParleyCore", "ParleyModule", "ParleyAttestation", "ParleyParty", "ParleyTestSupport",
                                   "ParleyEgress", "ParleyPrivacy", "ParleyAnalysis"],
                    path: "Tests/ParleyWorkerTests", swiftSettings: strict),
        .testTarget(name: "ParleyTPMProviderTests",
                    dependencies: ["ParleyTPMProvider", "ParleyTPM", "ParleyAttestation", "ParleyCore", "ParleyTestSupport", "ParleyHostTesting",
                                   .product(name: "Crypto", package: "swift-crypto")],
                    path: "Tests/ParleyTPMProviderTests", swiftSettings: strict),
        .testTarget(name: "ParleyPartyTests",
                    dependencies: ["ParleyParty", "ParleyAttestation", "ParleyCore", .product(name: "Crypto", package: "swift-crypto")],
                    path: "Tests/ParleyPartyTests", swiftSettings: strict),
        .testTarget(name: "ParleyHostTests",
                    dependencies: ["ParleyHost", "ParleyHostTesting", "ParleyQuoting", "ParleyCore", "ParleyAttestation", "ParleyModule", "ParleyParty", "ParleyTestSupport",
                                   "parley-enclave", "parley-sandbox-probe",
                                   .product(name: "Crypto", package: "swift-crypto")],
                    path: "Tests/ParleyHostTests", swiftSettings: strict),
        .testTarget(name: "ParleySandboxTests", dependencies: ["ParleySandbox", "CSeccomp", "parley-sandbox-probe"],
                    path: "Tests/ParleySandboxTests", swiftSettings: strict),
        .testTarget(name: "ParleyLogTests", dependencies: ["ParleyLog", "parley-log-crash-child"],
                    path: "Tests/ParleyLogTests", resources: [.copy("Fixtures")], swiftSettings: strict),
        .testTarget(name: "ParleyAuditTests",
                    dependencies: ["ParleyAudit", "ParleyHostLog", "ParleyLog", "ParleyHost", "ParleyQuoting", "ParleyAttestation", "ParleyCore",
                                   "ParleyModule", "ParleyParty", "ParleyTestSupport", "parley-enclave",
                                   .product(name: "Crypto", package: "swift-crypto")],
                    path: "Tests/ParleyAuditTests", swiftSettings: strict),
        .testTarget(name: "ParleyHTTPTests",
                    dependencies: ["ParleyHTTP", "ParleyHost", "ParleyHostLog", "ParleyQuoting", "ParleyAudit", "ParleyParty", "ParleyLedger",
                                   "ParleyLog", "ParleyWitness", "ParleyAttestation", "ParleyCore", "ParleyModule",
                                   "ParleyTestSupport", "ParleyHostTesting", "parley-enclave", .product(name: "Crypto", package: "swift-crypto"),
                                   .product(name: "Hummingbird", package: "hummingbird"), .product(name: "NIOCore", package: "swift-nio")],
                    path: "Tests/ParleyHTTPTests", swiftSettings: strict),
        .testTarget(name: "ParleyAnalysisTests", dependencies: ["ParleyAnalysis"],
                    path: "Tests/ParleyAnalysisTests", swiftSettings: strict),
        .testTarget(name: "ParleyEngineTests", dependencies: ["ParleyEngine", "ParleyAnalysis"],
                    path: "Tests/ParleyEngineTests", swiftSettings: strict),
        .testTarget(name: "ParleyEgressTests", dependencies: ["ParleyEgress", "ParleyPrivacy", "ParleyEngine", "ParleyAnalysis"],
                    path: "Tests/ParleyEgressTests", swiftSettings: strict),
        .testTarget(name: "ParleyCLITests",
                    dependencies: ["parley", "parley-host", "parley-witness", "parley-enclave", "parley-bench", "ParleyAttestation", "ParleyQuoting", "ParleyCore",
                                   .product(name: "Crypto", package: "swift-crypto")],
                    path: "Tests/ParleyCLITests",
                    swiftSettings: strict),
    ]
)
