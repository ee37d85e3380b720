// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Signet",
    products: [
        .executable(name: "signet", targets: ["signet"]),
        .executable(name: "signet-verifier", targets: ["signet-verifier"]),
        .library(name: "SignetCrypto", targets: ["SignetCrypto"]),
        .library(name: "IMAFormat", targets: ["IMAFormat"]),
        .library(name: "StrictJSON", targets: ["StrictJSON"]),
        .library(name: "Decompression", targets: ["Decompression"]),
        .library(name: "DebianPackage", targets: ["DebianPackage"]),
        .library(name: "PackageBundles", targets: ["PackageBundles"]),
        .library(name: "Signing", targets: ["Signing"]),
        .library(name: "Provenance", targets: ["Provenance"]),
        .library(name: "Keyring", targets: ["Keyring"]),
        .library(name: "Policy", targets: ["Policy"]),
        .library(name: "TPM", targets: ["TPM"]),
        .library(name: "TPMDevice", targets: ["TPMDevice"]),
        .library(name: "TCGEventLog", targets: ["TCGEventLog"]),
        .library(name: "BootReference", targets: ["BootReference"]),
        .library(name: "Attestation", targets: ["Attestation"]),
        .library(name: "SQLStore", targets: ["SQLStore"]),
        .library(name: "VerifierService", targets: ["VerifierService"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // C libraries, wrapped once. Each exposes only what Swift needs.
        .systemLibrary(
            name: "COpenSSL", pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CLinux"),
        .systemLibrary(
            name: "CKeyutils", pkgConfig: "libkeyutils",
            providers: [.apt(["libkeyutils-dev"])]),
        .systemLibrary(
            name: "CTSS2", pkgConfig: "tss2-esys",
            providers: [.apt(["libtss2-dev"])]),
        .systemLibrary(
            name: "CSQLite", pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(
            name: "CPostgres", pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]),
        .systemLibrary(
            name: "CCurl", pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]),
        // liblzma, libzstd and zlib: the decompressors of .deb members (links all three; pkgConfig takes one name).
        .systemLibrary(
            name: "CCompression", pkgConfig: "liblzma",
            providers: [.apt(["liblzma-dev", "libzstd-dev", "zlib1g-dev"])]),

        // The RSA public-key operation with AVX-512 IFMA (pure arithmetic, C): signature checks at twice OpenSSL's rate.
        .target(name: "CRSAPublic"),
        // Digests, keys, certificates, sign/verify, IMA keyid: OpenSSL behind Swift types.
        .target(name: "SignetCrypto", dependencies: ["COpenSSL", "CRSAPublic", "IMAFormat"]),
        // Pure byte formats: security.ima / security.evm xattrs. No I/O.
        .target(name: "IMAFormat", dependencies: []),
        // Strict JSON syntax (RFC 8259; no duplicate keys, no BOM, bounded depth), checked before any decode. No I/O.
        .target(name: "StrictJSON", dependencies: []),
        // Streaming decoders for xz, lzma, zstd and gzip behind one Swift type (CCompression). No I/O.
        .target(name: "Decompression", dependencies: ["CCompression"]),
        // Debian binary packages as streams: ar, tar (ustar, GNU, pax), deb(5) structure, control fields. No I/O.
        .target(name: "DebianPackage", dependencies: ["Decompression"]),
        // Signature bundles for .debs and apt repositories: build (streaming, parallel), sign, verify, index.
        .target(name: "PackageBundles",
                dependencies: ["DebianPackage", "Decompression", "Signing", "Provenance", "SignetCrypto", "IMAFormat", "StrictJSON"],
                exclude: ["README.md"]),
        // The kernel keyrings IMA/EVM verify with (libkeyutils).
        .target(name: "Keyring", dependencies: ["CKeyutils", "SignetCrypto", "IMAFormat"]),
        // IMA policies on a real system: load into securityfs, dry-run over an image.
        .target(name: "Policy", dependencies: ["IMAFormat", "Signing", "SignetCrypto", "Provenance"]),
        // The TCG PC Client firmware event log (binary_bios_measurements): parse, typed contents, replay. No I/O.
        .target(name: "TCGEventLog", dependencies: ["IMAFormat"]),
        // Measured boot: Authenticode digests of EFI images, the boot reference (allowed chains, command-line and
        // Secure Boot rules) and the boot judge over a TCG event log. Pure: hashing comes in through a protocol.
        .target(name: "BootReference", dependencies: ["TCGEventLog", "IMAFormat", "StrictJSON"]),
        // TPM 2.0 structures (pure parsing and marshaling), quote verification and MakeCredential: what a verifier needs.
        .target(name: "TPM", dependencies: ["SignetCrypto", "IMAFormat"]),
        // The TPM device through tpm2-tss ESAPI (create keys, quote, activate a credential, read NV): node side
        // only, so the verifier does not link tpm2-tss.
        .target(name: "TPMDevice", dependencies: ["TPM", "CTSS2", "SignetCrypto", "IMAFormat"]),
        // Attestation: evidence, reference values (boot reference included), per-entry judgement, the verifier engine
        // (boot judged first), Keylime interop.
        .target(name: "Attestation", dependencies: ["IMAFormat", "SignetCrypto", "Provenance", "TPM", "StrictJSON", "TCGEventLog", "BootReference"],
                exclude: ["README.md"]),
        // Tree walk, parallel hash+sign pipeline, xattrs on the file descriptor, appraisal, apply.
        .target(name: "Signing", dependencies: ["SignetCrypto", "IMAFormat", "CLinux", "StrictJSON", "Provenance"]),
        // What was signed, by which key, from which build: image paths, the provenance manifest and its
        // signature, the trusted signing certificates. Pure (no file system walk, no xattrs): the verifier's too.
        .target(name: "Provenance", dependencies: ["SignetCrypto", "IMAFormat", "StrictJSON"]),
        // One SQL API over SQLite (embedded, default) and PostgreSQL (libpq, fleets): pool, transactions, migrations.
        .target(name: "SQLStore", dependencies: ["CSQLite", "CPostgres"]),
        // Blocking HTTP(S) client over libcurl: the agent, the fleet CLI and webhooks.
        .target(name: "SignetHTTPClient", dependencies: ["CCurl"]),
        // The wire types of the verifier service's JSON API, shared by the service, agent and fleet CLI.
        .target(name: "VerifierAPI", dependencies: []),
        // The client side of that API: the one API client (agent, fleet CLI, fleet benchmark) and the one place
        // evidence is assembled from a quote.
        .target(name: "VerifierConnection",
                dependencies: ["VerifierAPI", "SignetHTTPClient", "Attestation", "TPM", "IMAFormat", "Provenance", "SignetCrypto"]),
        // The verifier service: enrolment, push-mode attestation rounds, references, fleet state, webhooks, metrics.
        .target(
            name: "VerifierService",
            dependencies: [
                "Attestation", "TPM", "SignetCrypto", "IMAFormat", "SQLStore", "SignetHTTPClient", "VerifierAPI", "StrictJSON",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            exclude: ["README.md"]),
        // What both executables share: console output, exit codes, errors, the verifier client and options.
        // Node-side only (no SQL, no NIO/Hummingbird), so the node binary stays small.
        .target(
            name: "SignetCLI",
            dependencies: [
                "SignetCrypto", "IMAFormat", "Provenance", "Attestation", "SignetHTTPClient", "VerifierAPI", "VerifierConnection",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        // The node and image-builder executable. Its `verifier` and `fleet` subcommands exec `signet-verifier`.
        .executableTarget(
            name: "signet",
            dependencies: [
                "SignetCLI", "SignetCrypto", "IMAFormat", "Signing", "Provenance", "Keyring", "Policy", "TPM", "TPMDevice", "Attestation",
                "SignetHTTPClient", "VerifierAPI", "VerifierConnection", "TCGEventLog", "BootReference", "PackageBundles", "DebianPackage",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        // The verifier service and the fleet CLI: links SQLite, libpq, SwiftNIO and Hummingbird.
        .executableTarget(
            name: "signet-verifier",
            dependencies: [
                "SignetCLI", "SignetCrypto", "Attestation", "SQLStore", "VerifierAPI", "VerifierConnection", "VerifierService",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/signet-verifier"),

        // `tools/bench fleet`: enrols simulated nodes (real quotes from a pool of swtpm instances) and
        // drives incremental attestation rounds against a running verifier, printing throughput and latency.
        .executableTarget(
            name: "signet-fleet-bench",
            dependencies: ["TPM", "TPMDevice", "Attestation", "IMAFormat", "SignetCrypto", "SignetHTTPClient", "VerifierAPI", "VerifierConnection"],
            path: "Sources/signet-fleet-bench"),

        // Shared by the test targets: temp dirs, key fixtures, running binaries, xattrs.
        .target(
            name: "SignetTestSupport", dependencies: ["SignetCrypto", "IMAFormat", "CLinux"],
            path: "Tests/SignetTestSupport"),
        .testTarget(name: "SQLStoreTests", dependencies: ["SQLStore", "SignetTestSupport"]),
        .testTarget(name: "HTTPClientTests", dependencies: ["SignetHTTPClient", "SignetTestSupport"]),
        .testTarget(
            name: "VerifierServiceTests",
            dependencies: [
                "VerifierService", "VerifierAPI", "SQLStore", "SignetHTTPClient", "Attestation", "TPM", "TPMDevice", "SignetCrypto",
                "IMAFormat", "Signing", "Provenance", "SignetTestSupport", "signet", "signet-verifier", "TCGEventLog", "BootReference",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]),
        .testTarget(name: "StrictJSONTests", dependencies: ["StrictJSON"]),
        // ar/tar/deb parsers and decompressors: real .debs from dpkg-deb (every -Z), hostile archives.
        .testTarget(name: "DebianPackageTests", dependencies: ["DebianPackage", "Decompression", "SignetCrypto", "IMAFormat", "SignetTestSupport"]),
        // Signature bundles: evmctl agrees with every signature, verification refusals, repositories, the CLI.
        .testTarget(name: "PackageBundlesTests",
                    dependencies: ["PackageBundles", "DebianPackage", "Signing", "Provenance", "SignetCrypto", "IMAFormat", "SignetTestSupport",
                                   "signet"]),
        .testTarget(name: "IMAFormatTests", dependencies: ["IMAFormat", "SignetCrypto", "SignetTestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "SignetCryptoTests", dependencies: ["SignetCrypto", "IMAFormat", "SignetTestSupport"]),
        .testTarget(name: "SigningTests", dependencies: ["Signing", "Provenance", "SignetCrypto", "IMAFormat", "SignetTestSupport"]),
        .testTarget(name: "KeyringTests", dependencies: ["Keyring", "CKeyutils", "SignetCrypto", "SignetTestSupport"]),
        // Image safety: boot integration, kernel support for the certificates, the dry run's boot checks.
        .testTarget(name: "PolicyTests", dependencies: ["Policy", "Signing", "Provenance", "SignetCrypto", "IMAFormat", "SignetTestSupport"]),
        .testTarget(name: "AttestationTests", dependencies: ["Attestation", "IMAFormat", "SignetCrypto", "Signing", "Provenance", "TPM", "SignetTestSupport",
                                                            "BootReference", "TCGEventLog"]),
        // TPM tests: the TPMTests target goes on the line below.
        .testTarget(name: "TPMTests", dependencies: ["TPM", "TPMDevice", "SignetCrypto", "IMAFormat", "SignetTestSupport"]),
        .testTarget(name: "TCGEventLogTests", dependencies: ["TCGEventLog", "IMAFormat", "SignetCrypto", "SignetTestSupport"],
                    exclude: ["Fixtures"]),
        .testTarget(name: "BootReferenceTests",
                    dependencies: ["BootReference", "TCGEventLog", "IMAFormat", "SignetCrypto", "SignetTestSupport"]),
        // Byte compatibility with evmctl (ima-evm-utils) and openssl, both ways.
        .testTarget(name: "InteropTests", dependencies: ["Signing", "Provenance", "SignetCrypto", "IMAFormat", "SignetTestSupport", "SignetHTTPClient"]),
        // The `signet` binary as users run it: exit codes, messages, JSON, SIGINT.
        .testTarget(name: "CLITests", dependencies: ["SignetCrypto", "IMAFormat", "Signing", "Provenance", "SignetCLI", "SignetTestSupport", "signet", "signet-verifier",
                                                    "TCGEventLog", "BootReference", "VerifierConnection"]),
    ]
)
