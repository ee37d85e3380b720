// swift-tools-version:6.0
// Fuzz targets for every parser that takes untrusted bytes (libFuzzer).
// Build and run with tools/fuzz TARGET SECONDS; not part of the main build.
import PackageDescription

let package = Package(
    name: "SignetFuzz",
    dependencies: [.package(path: "signet")],  // a symlink to the repository root
    targets: [
        .target(name: "FuzzSupport"),
        .executableTarget(name: "FuzzXattr", dependencies: ["FuzzSupport", .product(name: "IMAFormat", package: "signet")]),
        .executableTarget(name: "FuzzMeasurementLog", dependencies: ["FuzzSupport", .product(name: "IMAFormat", package: "signet")]),
        .executableTarget(name: "FuzzPolicy", dependencies: ["FuzzSupport", .product(name: "IMAFormat", package: "signet")]),
        .executableTarget(name: "FuzzTPMStructures", dependencies: ["FuzzSupport", .product(name: "TPM", package: "signet")]),
        .executableTarget(name: "FuzzManifest", dependencies: ["FuzzSupport", .product(name: "Provenance", package: "signet")]),
        .executableTarget(name: "FuzzEvidence", dependencies: ["FuzzSupport", .product(name: "Attestation", package: "signet")]),
        .executableTarget(name: "FuzzEnrollment", dependencies: ["FuzzSupport", .product(name: "TPM", package: "signet")]),
        .executableTarget(name: "FuzzRSAPublic", dependencies: ["FuzzSupport", .product(name: "SignetCrypto", package: "signet"), .product(name: "IMAFormat", package: "signet")]),
        .executableTarget(name: "FuzzKeylimePolicy", dependencies: ["FuzzSupport", .product(name: "Attestation", package: "signet")]),
        .executableTarget(name: "FuzzLogEngines", dependencies: ["FuzzSupport", .product(name: "Attestation", package: "signet"),
                                                                 .product(name: "IMAFormat", package: "signet"),
                                                                 .product(name: "Provenance", package: "signet"),
                                                                 .product(name: "SignetCrypto", package: "signet")]),
        .executableTarget(name: "FuzzELF", dependencies: ["FuzzSupport", .product(name: "Policy", package: "signet")]),
        .executableTarget(name: "FuzzTCGEventLog", dependencies: ["FuzzSupport", .product(name: "TCGEventLog", package: "signet"),
                                                                  .product(name: "IMAFormat", package: "signet")]),
        .executableTarget(name: "FuzzStrictJSON", dependencies: ["FuzzSupport", .product(name: "StrictJSON", package: "signet")]),
        .executableTarget(name: "FuzzTar", dependencies: ["FuzzSupport", .product(name: "DebianPackage", package: "signet")]),
        .executableTarget(name: "FuzzDeb", dependencies: ["FuzzSupport", .product(name: "DebianPackage", package: "signet")]),
    ]
)
