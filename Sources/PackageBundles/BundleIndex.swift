import DebianPackage
import IMAFormat
import Provenance
import Signing

/// The signed list of every bundle of an apt repository: for each .deb (its path in the
/// repository, as the Packages index's `Filename` field gives it, its SHA-256 and size) the
/// bundle that covers it (path and SHA-256). A node finds a .deb's bundle by the SHA-256 apt
/// verified, and checks the bundle file's hash against the index before anything else.
///
/// Same serialization as `SignatureBundle`: a strict, deterministic JSON document and a detached
/// signature (`index.json.sig`). The index only finds bundles: each bundle is bound to its .deb by
/// its own signature and `deb.sha256`, so an old index can make a node miss a bundle (the file
/// then stays unsigned), never accept the wrong one.
public struct BundleIndex: Equatable, Sendable {
    public static let format = "signet-bundle-index"
    public static let formatVersion = 1

    public var created: String
    public var tool: String
    public var hashAlgorithm: HashAlgorithm
    public var signer: BundleSigner
    /// Sorted by package, version, architecture, then .deb path; one entry per .deb path.
    public private(set) var entries: [Entry]

    public struct Entry: Equatable, Sendable, Codable {
        public var package: String
        public var version: String
        public var architecture: String
        /// The .deb's path relative to the repository root ("pool/main/h/hello/hello_2.10-3_amd64.deb").
        public var deb: String
        public var debSHA256: String
        public var debSize: Int64
        /// The bundle's path relative to the repository root ("signet/bundles/hello_2.10-3_amd64.json").
        public var bundle: String
        /// SHA-256 of the bundle file's bytes.
        public var bundleSHA256: String

        public init(package: String, version: String, architecture: String, deb: String, debSHA256: String, debSize: Int64,
                    bundle: String, bundleSHA256: String) {
            self.package = package
            self.version = version
            self.architecture = architecture
            self.deb = deb
            self.debSHA256 = debSHA256
            self.debSize = debSize
            self.bundle = bundle
            self.bundleSHA256 = bundleSHA256
        }

        enum CodingKeys: String, CodingKey {
            case package, version, architecture, deb, bundle
            case debSHA256 = "deb_sha256"
            case debSize = "deb_size"
            case bundleSHA256 = "bundle_sha256"
        }

        var sortKey: [String] { [package, version, architecture, deb] }
    }

    public init(created: String, tool: String, hashAlgorithm: HashAlgorithm, signer: BundleSigner, entries: [Entry]) {
        self.created = created
        self.tool = tool
        self.hashAlgorithm = hashAlgorithm
        self.signer = signer
        self.entries = entries.sorted { $0.sortKey.lexicographicallyPrecedes($1.sortKey) }
    }

    /// The entries for a .deb with this SHA-256 (hex), usually one.
    public func entries(forDebSHA256 sha256: String) -> [Entry] {
        entries.filter { $0.debSHA256 == sha256 }
    }

    private struct Document: Codable {
        var format: String
        var formatVersion: Int
        var created: String
        var tool: String
        var hashAlgorithm: String
        var signer: BundleSigner
        var bundles: [Entry]

        enum CodingKeys: String, CodingKey {
            case format, created, tool, signer, bundles
            case formatVersion = "format_version"
            case hashAlgorithm = "hash_algorithm"
        }
    }

    public func encoded() -> [UInt8] {
        BundleJSON.encode(Document(format: Self.format, formatVersion: Self.formatVersion, created: created, tool: tool,
                                   hashAlgorithm: hashAlgorithm.name, signer: signer, bundles: entries))
    }

    /// Parses and validates an index (not its signature: see `BundleVerifier`).
    public init(parsing bytes: [UInt8], source: String = "index") throws(BundleError) {
        let doc = try BundleJSON.decode(Document.self, from: bytes, source: source, what: "bundle index")
        func fail(_ field: String, _ reason: String) -> BundleError { BundleError(.malformed, source: source, field: field, reason) }
        guard doc.format == Self.format else {
            throw BundleError(.unsupportedFormat, source: source, field: "format",
                              "not a bundle index: format '\(doc.format)' (expected '\(Self.format)')")
        }
        guard doc.formatVersion == Self.formatVersion else {
            throw BundleError(.unsupportedFormat, source: source, field: "format_version",
                              "bundle index version \(doc.formatVersion) is not supported (expected \(Self.formatVersion))")
        }
        guard let algorithm = HashAlgorithm(name: doc.hashAlgorithm), algorithm.name == doc.hashAlgorithm else {
            throw fail("hash_algorithm", "unknown hash algorithm '\(doc.hashAlgorithm)'")
        }
        var previous: Entry?
        for (i, e) in doc.bundles.enumerated() {
            let at = "bundles[\(i)]"
            do {
                try DebControl.validate(package: e.package, version: e.version, architecture: e.architecture)
            } catch {
                throw fail("\(at).\(error.field?.lowercased() ?? "package")", error.reason)
            }
            for (field, value) in [("deb_sha256", e.debSHA256), ("bundle_sha256", e.bundleSHA256)] {
                guard let b = Hex.decode(value), b.count == 32, Hex.encode(b) == value else {
                    throw fail("\(at).\(field)", "expected 64 lower-case hex digits, found '\(value)'")
                }
            }
            guard e.debSize > 0 else { throw fail("\(at).deb_size", "not a positive size") }
            guard RepositoryPath.isSafe(e.deb), e.deb.hasSuffix(".deb") else {
                throw fail("\(at).deb", "'\(e.deb)' is not a relative path to a .deb inside the repository")
            }
            let expectedBundle = BundleRepository.bundleDirectory + "/" + DebControl(package: e.package, version: e.version, architecture: e.architecture).fileStem + ".json"
            guard e.bundle == expectedBundle else {
                throw fail("\(at).bundle", "expected '\(expectedBundle)' for \(e.package) \(e.version) \(e.architecture), found '\(e.bundle)'")
            }
            if let previous {
                guard previous.sortKey.lexicographicallyPrecedes(e.sortKey) else {
                    throw fail("\(at)", previous.deb == e.deb ? "the .deb '\(e.deb)' is listed twice" : "entries are not in order at '\(e.deb)'")
                }
            }
            previous = e
        }
        created = doc.created
        tool = doc.tool
        hashAlgorithm = algorithm
        signer = doc.signer
        entries = doc.bundles
    }
}

/// Relative paths inside a repository.
enum RepositoryPath {
    /// Relative, '/'-separated, no empty, '.' or '..' component, no control characters.
    static func isSafe(_ path: String) -> Bool {
        guard !path.isEmpty, !path.hasPrefix("/"), !path.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) else {
            return false
        }
        return path.split(separator: "/", omittingEmptySubsequences: false).allSatisfy { $0 != "" && $0 != "." && $0 != ".." }
    }
}
