// swift-tools-version: 6.1
// Parley: an attested data clean room. See README.md and docs/architecture.md.
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "Parley",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "parley", targets: ["parley"]),
        .executable(name: "parley-enclave", targets: ["parley-enclave"]),
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
        // System libraries (pkg-config), each with a shim header for macros Swift cannot import.
        .systemLibrary(name: "CCBOR", path: "Sources/CCBOR", pkgConfig: "libcbor",
                       providers: [.apt(["libcbor-dev"])]),
        .systemLibrary(name: "COpenSSL", path: "Sources/COpenSSL", pkgConfig: "libcrypto",
                       providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CTSS2", path: "Sources/CTSS2", pkgConfig: "tss2-esys",
                       providers: [.apt(["libtss2-dev"])]),
        .systemLibrary(name: "CSeccomp", path: "Sources/CSeccomp", pkgConfig: "libseccomp",
                       providers: [.apt(["libseccomp-dev"])]),

        // Value types shared by every role: CBOR, COSE, HPKE streaming, keys. No I/O beyond files.
        .target(name: "ParleyCore",
                dependencies: ["CCBOR", "COpenSSL", .product(name: "Crypto", package: "swift-crypto")],
                path: "Sources/ParleyCore", swiftSettings: strict),

        // Drives a TPM through tpm2-tss ESAPI: attestation key, PCRs, quotes (host side).
        .target(name: "ParleyTPM", dependencies: ["CTSS2", "COpenSSL"],
                path: "Attestation/ParleyTPM", swiftSettings: strict),
        // Parses and verifies TPM quote structures; never links tss2 (a party's verify path).
        .target(name: "ParleyTPMVerify", dependencies: [.product(name: "Crypto", package: "swift-crypto")],
                path: "Attestation/ParleyTPMVerify", swiftSettings: strict),

        // A strict TOML 1.0 subset parser that keeps the position of every key and value, so that
        // policy and module errors name file, line and column.
        .target(name: "ParleyTOML", path: "Sources/ParleyTOML", swiftSettings: strict),

        // The analysis language: SQL subset -> typed plan with static privacy checks (no I/O).
        .target(name: "ParleyAnalysis", path: "Sources/ParleyAnalysis", swiftSettings: strict),
        // The in-memory columnar engine the worker runs plans with: CSV loading, hash joins and
        // aggregation, per-unit contribution bounding.
        .target(name: "ParleyEngine", dependencies: ["ParleyAnalysis"],
                path: "Enclave/ParleyEngine", swiftSettings: strict),

        // Analysis modules: the TOML source, validation at seal time, the sealed bundle.
        .target(name: "ParleyModule",
                dependencies: ["ParleyCore", "ParleyAnalysis", "ParleyTOML", "ParleyEgress",
                               .product(name: "Crypto", package: "swift-crypto")],
                path: "Sources/ParleyModule", swiftSettings: strict),

        // Evidence formats, quote providers, the verifier and its appraisal policy.
        .target(name: "ParleyAttestation",
                dependencies: ["ParleyCore", "ParleyTPMVerify", "ParleyTOML", "ParleyLog",
                               .product(name: "Crypto", package: "swift-crypto"),
                               .product(name: "X509", package: "swift-certificates"),
                               .product(name: "SwiftASN1", package: "swift-asn1")],
                path: "Attestation/ParleyAttestation", swiftSettings: strict),

        // The host's TPM quote provider: PCR 23 launch log and quotes (links tss2; parties never need it).
        .target(name: "ParleyTPMProvider",
                dependencies: ["ParleyAttestation", "ParleyTPM", "ParleyTPMVerify", "ParleyCore"],
                path: "Attestation/ParleyTPMProvider", swiftSettings: strict),

        // Fork and fexecve of a sealed memfd image (C: only async-signal-safe calls after fork).
        .target(name: "CParleySpawn", path: "Host/CParleySpawn"),

        // The host's HTTP API (Hummingbird) and its job store (SQLite through GRDB).
        .target(name: "ParleyHTTP",
                dependencies: ["ParleyHost", "ParleyCore", "ParleyAttestation", "ParleyAudit", "ParleyParty", "ParleyLog",
                               .product(name: "Hummingbird", package: "hummingbird"),
                               .product(name: "HummingbirdCore", package: "hummingbird"),
                               .product(name: "HummingbirdTLS", package: "hummingbird"),
                               .product(name: "GRDB", package: "GRDB.swift")],
                path: "Host/ParleyHTTP", swiftSettings: strict),

        // `parley witness`: follows host logs and cosigns their checkpoints (C2SP tlog-witness).
        .target(name: "ParleyWitness",
                dependencies: ["ParleyLog", "ParleyCore", .product(name: "Hummingbird", package: "hummingbird")],
                path: "Sources/ParleyWitness", swiftSettings: strict),

        // What a party runs on its own machine: sealed uploads, signed requests, checked results.
        .target(name: "ParleyParty", dependencies: ["ParleyCore", "ParleyAttestation", "ParleyLog", "ParleyAudit", .product(name: "Crypto", package: "swift-crypto"),
                                                   .product(name: "AsyncHTTPClient", package: "async-http-client"),
                                                   .product(name: "NIOCore", package: "swift-nio"),
                                                   .product(name: "NIOHTTP1", package: "swift-nio")],
                path: "Sources/ParleyParty", swiftSettings: strict),

        // The host: worker launch and supervision (a state machine), HTTP API, job store, log writer.
        .target(name: "ParleyHost", dependencies: ["ParleyCore", "ParleyAttestation", "ParleyModule", "ParleyTPMProvider", "CParleySpawn"],
                path: "Host/ParleyHost", swiftSettings: strict),

        // The append-only log: RFC 9162 Merkle tree, C2SP signed-note checkpoints, proofs,
        // durable storage, and the auditor's replay.
        .target(name: "ParleyLog", dependencies: [.product(name: "Crypto", package: "swift-crypto")],
                path: "Attestation/ParleyLog", swiftSettings: strict),
        .executableTarget(name: "parley-log-crash-child", dependencies: ["ParleyLog"],
                          path: "Sources/parley-log-crash-child", swiftSettings: strict),
        .executableTarget(name: "parley-log-bench", dependencies: ["ParleyLog"],
                          path: "Sources/parley-log-bench", swiftSettings: strict),

        // The log's content: entries for every host event, the writer, audit export and replay.
        .target(name: "ParleyAudit",
                dependencies: ["ParleyLog", "ParleyAttestation", "ParleyCore", "ParleyModule", "ParleyEgress", "ParleyLedger",
                               .product(name: "Crypto", package: "swift-crypto")],
                path: "Attestation/ParleyAudit", exclude: ["README.md"], swiftSettings: strict),

        // The privacy budget ledger across jobs: the host's handoff to a new worker and the tally
        // of what earlier jobs spent (shared by the worker and the audit).
        .target(name: "ParleyLedger", dependencies: ["ParleyCore", "ParleyModule", "ParleyEgress", "ParleyLog"],
                path: "Sources/ParleyLedger", swiftSettings: strict),

        // The egress gate: exact discrete DP noise, minimum group size, privacy budget.
        .target(name: "ParleyEgress", path: "Enclave/ParleyEgress", swiftSettings: strict),

        // The worker's lock-down: resource limits, network namespace, no-new-privs, not dumpable,
        // seccomp allow-list. See docs/sandbox.md.
        .target(name: "ParleySandbox", dependencies: ["CSeccomp"], path: "Enclave/ParleySandbox", swiftSettings: strict),
        // Test entry point only: locks down like the worker, then tries forbidden operations.
        .executableTarget(name: "parley-sandbox-probe", dependencies: ["ParleySandbox", "CSeccomp"],
                          path: "Sources/parley-sandbox-probe", swiftSettings: strict),

        // The worker runtime: key custody, uploads, query execution through the egress gate.
        .target(name: "ParleyWorker",
                dependencies: ["ParleyCore", "ParleyModule", "ParleyEngine", "ParleyEgress", "ParleyAnalysis", "ParleyLedger",
                               .product(name: "Crypto", package: "swift-crypto")],
                path: "Enclave/ParleyWorker", swiftSettings: strict),

        // The worker executable (the simulated enclave).
        .executableTarget(name: "parley-enclave", dependencies: ["ParleyCore", "ParleyWorker", "ParleySandbox"],
                          path: "Enclave/Worker", swiftSettings: strict),

        // The one CLI for every role.
        .executableTarget(name: "parley",
                          dependencies: ["ParleyCore", "ParleyAttestation", "ParleyModule", "ParleyAnalysis", "ParleyEgress",
                                         "ParleyHost", "ParleyHTTP", "ParleyParty", "ParleyAudit", "ParleyLog", "ParleyTOML", "ParleyWitness",
                                         .product(name: "ArgumentParser", package: "swift-argument-parser")],
                          path: "Sources/parley", swiftSettings: strict),

        // The egress gate's timing side channel, run in release mode by Scripts/bench.sh gate.
        .executableTarget(name: "parley-gate-bench", dependencies: ["ParleyEgress", "ParleyEngine", "ParleyAnalysis"],
                          path: "Sources/parley-gate-bench", swiftSettings: strict),

        // Fuzz entry points for every parser of untrusted input, and their libFuzzer driver.
        .target(name: "ParleyFuzzTargets",
                dependencies: ["ParleyCore", "ParleyAttestation", "ParleyTPMVerify", "ParleyAnalysis", "ParleyEngine", "ParleyLedger", "ParleyLog",
                               .product(name: "Crypto", package: "swift-crypto")],
                path: "Sources/ParleyFuzzTargets", swiftSettings: strict),
        .executableTarget(name: "parley-fuzz", dependencies: ["ParleyFuzzTargets"],
                          path: "Sources/parley-fuzz", swiftSettings: strict),

        // Micro-benchmarks, run in release mode by Scripts/bench.sh (never by CI).
        .executableTarget(name: "parley-bench",
                          dependencies: ["ParleyCore", "ParleyAttestation", "ParleyTPM", "ParleyTPMProvider", "ParleyEngine", "ParleyAnalysis",
                                         "ParleyHost", "ParleyModule", "ParleyHTTP", "ParleyParty", "ParleyAudit",
                                         .product(name: "Crypto", package: "swift-crypto")],
                          path: "Sources/parley-bench", swiftSettings: strict),

        .testTarget(name: "ParleyCoreTests",
                    dependencies: ["ParleyCore", "CTSS2", "COpenSSL", "CCBOR", "CSeccomp"],
                    path: "Tests/ParleyCoreTests",
                    resources: [.copy("Fixtures")],
                    swiftSettings: strict),
        // Shared test helpers: a private swtpm per test, tool lookup.
        .target(name: "ParleyTestSupport", dependencies: ["ParleyTPM", "ParleyAttestation", "ParleyTPMProvider", "COpenSSL"],
                path: "Tests/ParleyTestSupport", swiftSettings: strict),
        .testTarget(name: "ParleyTPMTests",
                    dependencies: ["ParleyTPM", "ParleyTPMVerify", "COpenSSL", "ParleyTestSupport"],
                    path: "Tests/ParleyTPMTests", swiftSettings: strict),
        .testTarget(name: "ParleyTPMVerifyTests",
                    dependencies: ["ParleyTPMVerify", "ParleyTestSupport", .product(name: "Crypto", package: "swift-crypto")],
                    path: "Tests/ParleyTPMVerifyTests", swiftSettings: strict),
        .testTarget(name: "ParleyAttestationTests",
                    dependencies: ["ParleyAttestation", "ParleyTPMProvider", "ParleyTPM", "ParleyCore", "ParleyTestSupport",
                                   .product(name: "Crypto", package: "swift-crypto"),
                                   .product(name: "X509", package: "swift-certificates"),
                                   .product(name: "SwiftASN1", package: "swift-asn1")],
                    path: "Tests/ParleyAttestationTests", swiftSettings: strict),
        .testTarget(name: "ParleyFuzzTargetTests", dependencies: ["ParleyFuzzTargets", "ParleyAttestation", "ParleyCore", "ParleyLedger", "ParleyLog"],
                    path: "Tests/ParleyFuzzTargetTests", swiftSettings: strict),
        .testTarget(name: "ParleyTOMLTests", dependencies: ["ParleyTOML"],
                    path: "Tests/ParleyTOMLTests", swiftSettings: strict),
        .testTarget(name: "ParleyModuleTests", dependencies: ["ParleyModule", "ParleyCore", "ParleyEngine", "ParleyAnalysis", "ParleyEgress"],
                    path: "Tests/ParleyModuleTests", swiftSettings: strict),
        .testTarget(name: "ParleyHostTests",
                    dependencies: ["ParleyHost", "ParleyCore", "ParleyAttestation", "ParleyModule", "ParleyParty", "ParleyTestSupport",
                                   "parley-enclave", "parley-sandbox-probe",
                                   .product(name: "Crypto", package: "swift-crypto")],
                    path: "Tests/ParleyHostTests", swiftSettings: strict),
        .testTarget(name: "ParleySandboxTests", dependencies: ["ParleySandbox", "CSeccomp", "parley-sandbox-probe"],
                    path: "Tests/ParleySandboxTests", swiftSettings: strict),
        .testTarget(name: "ParleyLogTests", dependencies: ["ParleyLog", "parley-log-crash-child"],
                    path: "Tests/ParleyLogTests", resources: [.copy("Fixtures")], swiftSettings: strict),
        .testTarget(name: "ParleyAuditTests",
                    dependencies: ["ParleyAudit", "ParleyLog", "ParleyHost", "ParleyAttestation", "ParleyCore", "ParleyModule", "ParleyParty",
                                   "ParleyTestSupport", "parley-enclave", .product(name: "Crypto", package: "swift-crypto")],
                    path: "Tests/ParleyAuditTests", swiftSettings: strict),
        .testTarget(name: "ParleyHTTPTests",
                    dependencies: ["ParleyHTTP", "ParleyHost", "ParleyAudit", "ParleyParty", "ParleyLedger", "ParleyLog", "ParleyWitness", "ParleyAttestation", "ParleyCore", "ParleyModule",
                                   "ParleyTestSupport", "parley-enclave", .product(name: "Crypto", package: "swift-crypto")],
                    path: "Tests/ParleyHTTPTests", swiftSettings: strict),
        .testTarget(name: "ParleyAnalysisTests", dependencies: ["ParleyAnalysis"],
                    path: "Tests/ParleyAnalysisTests", swiftSettings: strict),
        .testTarget(name: "ParleyEngineTests", dependencies: ["ParleyEngine", "ParleyAnalysis"],
                    path: "Tests/ParleyEngineTests", swiftSettings: strict),
        .testTarget(name: "ParleyEgressTests", dependencies: ["ParleyEgress", "ParleyEngine", "ParleyAnalysis"],
                    path: "Tests/ParleyEgressTests", swiftSettings: strict),
        .testTarget(name: "ParleyCLITests",
                    dependencies: ["parley", "parley-enclave", "parley-bench", "ParleyAttestation", "ParleyCore",
                                   .product(name: "Crypto", package: "swift-crypto")],
                    path: "Tests/ParleyCLITests",
                    swiftSettings: strict),
    ]
)
