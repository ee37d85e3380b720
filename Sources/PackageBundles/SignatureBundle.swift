#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import DebianPackage
import IMAFormat
import SignetCrypto
import Provenance
import Signing

/// The IMA signature of every regular file one .deb installs, made at publish time, so a node can
/// put each signature on its file as dpkg installs it.
///
/// Keyed by the package's name, version and architecture (from its control file) and by the
/// SHA-256 of the .deb itself, which a node compares with the hash apt verified from the
/// repository's Packages index: a bundle applies to exactly one .deb. Each file entry holds the
/// installed path ("/usr/bin/hello"; a hard link has its own entry with its target's content), the
/// size, the mode, the digest and `ima`, the exact security.ima bytes `signet sign` (and
/// `evmctl ima_sign`) would write for that content with that key.
///
/// Serialization: one strict JSON document (RFC 8259, no duplicate keys), written
/// deterministically — keys sorted, no insignificant whitespace, files in path-byte order, the
/// time from `SOURCE_DATE_EPOCH` when set — plus a detached signature file (`.sig`, see
/// `DetachedSignature`) over the document's exact bytes. Detached rather than embedded, because
/// then nothing has to be re-serialized to be checked: a verifier checks the signature over the
/// bytes it read, then parses them, and no canonical form can be got wrong by either side; it is
/// the manifest's scheme (one signing primitive in Signet), and `openssl dgst -verify` checks it
/// without Signet. Canonical output still matters for reproducible repositories and for telling
/// whether a bundle is current.
///
/// A value of this type read with `init(parsing:source:)` has been validated (fields, hex,
/// digests' lengths, every `ima` a signature v2 by the signer's keyid over the bundle's
/// algorithm, paths absolute, safe and strictly ascending); its signatures are checked by
/// `BundleVerifier`.
public struct SignatureBundle: Equatable, Sendable {
    public static let format = "signet-bundle"
    public static let formatVersion = 1

    public var package: String
    public var version: String
    public var architecture: String
    /// SHA-256 of the whole .deb file.
    public var debSHA256: [UInt8]
    public var debSize: Int64
    /// The algorithm of every file digest and signature.
    public var hashAlgorithm: HashAlgorithm
    /// RFC 3339 UTC.
    public var created: String
    /// "signet 0.1.0".
    public var tool: String
    public var signer: BundleSigner
    /// Sorted by path bytes, no duplicates.
    public private(set) var files: [File]

    /// One installed regular file (or hard link to one).
    public struct File: Equatable, Sendable {
        /// As installed: "/usr/bin/hello".
        public var path: FilePath
        public var size: Int64
        /// st_mode as dpkg creates it (S_IFREG | permission bits).
        public var mode: UInt32
        public var digest: [UInt8]
        /// The security.ima value.
        public var ima: [UInt8]

        public init(path: FilePath, size: Int64, mode: UInt32, digest: [UInt8], ima: [UInt8]) {
            self.path = path
            self.size = size
            self.mode = mode
            self.digest = digest
            self.ima = ima
        }
    }

    public init(control: DebControl, debSHA256: [UInt8], debSize: Int64, hashAlgorithm: HashAlgorithm,
                created: String, tool: String, signer: BundleSigner, files: [File]) {
        package = control.package
        version = control.version
        architecture = control.architecture
        self.debSHA256 = debSHA256
        self.debSize = debSize
        self.hashAlgorithm = hashAlgorithm
        self.created = created
        self.tool = tool
        self.signer = signer
        self.files = files.sorted { $0.path < $1.path }
    }

    /// The package's identity.
    public var control: DebControl { DebControl(package: package, version: version, architecture: architecture) }

    /// "hello 2.10-3 amd64".
    public var label: String { "\(package) \(version) \(architecture)" }

    /// `<package>_<version>_<arch>.json` (an epoch's ':' as "%3a", as apt names cached .debs).
    public var fileName: String { control.fileStem + ".json" }

    /// The entry for an installed path (binary search).
    public func file(at path: FilePath) -> File? {
        var lo = 0, hi = files.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if files[mid].path < path { lo = mid + 1 } else { hi = mid }
        }
        return lo < files.count && files[lo].path == path ? files[lo] : nil
    }

    // MARK: - On-disk form

    private struct Document: Codable {
        var format: String
        var formatVersion: Int
        var package: String
        var version: String
        var architecture: String
        var deb: Deb
        var hashAlgorithm: String
        var created: String
        var tool: String
        var signer: BundleSigner
        var files: [FileLine]

        enum CodingKeys: String, CodingKey {
            case format, package, version, architecture, deb, created, tool, signer, files
            case formatVersion = "format_version"
            case hashAlgorithm = "hash_algorithm"
        }
    }

    private struct Deb: Codable {
        var sha256: String
        var size: Int64
    }

    /// `path` when the path is UTF-8, else `path_hex` (as the manifest does).
    private struct FileLine: Codable {
        var path: String?
        var pathHex: String?
        var size: Int64
        var mode: String
        var digest: String
        var ima: String

        enum CodingKeys: String, CodingKey {
            case path, size, mode, digest, ima
            case pathHex = "path_hex"
        }
    }

    /// The document's bytes: deterministic (sorted keys, files by path bytes, no whitespace), ending in "\n".
    public func encoded() -> [UInt8] {
        let doc = Document(
            format: Self.format, formatVersion: Self.formatVersion, package: package, version: version,
            architecture: architecture, deb: Deb(sha256: Hex.encode(debSHA256), size: debSize),
            hashAlgorithm: hashAlgorithm.name, created: created, tool: tool, signer: signer,
            files: files.map { f in
                let text = f.path.utf8String
                return FileLine(path: text, pathHex: text == nil ? Hex.encode(f.path.bytes) : nil, size: f.size,
                                mode: String(f.mode, radix: 8), digest: "\(hashAlgorithm.name):\(Hex.encode(f.digest))",
                                ima: Hex.encode(f.ima))
            })
        return BundleJSON.encode(doc)
    }

    /// Parses and validates a bundle document (not its signatures: see `BundleVerifier`).
    public init(parsing bytes: [UInt8], source: String = "bundle") throws(BundleError) {
        let doc = try BundleJSON.decode(Document.self, from: bytes, source: source, what: "signature bundle")
        func fail(_ field: String, _ reason: String) -> BundleError { BundleError(.malformed, source: source, field: field, reason) }
        guard doc.format == Self.format else {
            throw BundleError(.unsupportedFormat, source: source, field: "format",
                              "not a signature bundle: format '\(doc.format)' (expected '\(Self.format)')")
        }
        guard doc.formatVersion == Self.formatVersion else {
            throw BundleError(.unsupportedFormat, source: source, field: "format_version",
                              "bundle format version \(doc.formatVersion) is not supported (expected \(Self.formatVersion))")
        }
        do {
            try DebControl.validate(package: doc.package, version: doc.version, architecture: doc.architecture)
        } catch {
            throw fail(error.field?.lowercased() ?? "package", error.reason)
        }
        guard let algorithm = HashAlgorithm(name: doc.hashAlgorithm), algorithm.name == doc.hashAlgorithm else {
            throw fail("hash_algorithm", "unknown hash algorithm '\(doc.hashAlgorithm)'")
        }
        guard let debSHA = Hex.decode(doc.deb.sha256), debSHA.count == 32, Hex.encode(debSHA) == doc.deb.sha256 else {
            throw fail("deb.sha256", "expected 64 lower-case hex digits, found '\(doc.deb.sha256)'")
        }
        guard doc.deb.size > 0 else { throw fail("deb.size", "not a positive size: \(doc.deb.size)") }
        guard let keyID = KeyID.parse(doc.signer.keyid), KeyID.hex(keyID) == doc.signer.keyid else {
            throw fail("signer.keyid", "expected 8 lower-case hex digits, found '\(doc.signer.keyid)'")
        }
        var files = [File]()
        files.reserveCapacity(doc.files.count)
        for (i, line) in doc.files.enumerated() {
            let at = "files[\(i)]"
            let path: FilePath
            switch (line.path, line.pathHex) {
            case (let p?, nil): path = FilePath(p)
            case (nil, let h?):
                guard let b = Hex.decode(h), String(validating: b, as: UTF8.self) == nil else {
                    throw fail("\(at).path_hex", "not hex, or a UTF-8 path that belongs in 'path'")
                }
                path = FilePath(bytes: b)
            default: throw fail("\(at).path", "exactly one of path and path_hex is required")
            }
            do {
                guard path.bytes.first == UInt8(ascii: "/"),
                      try DebPath.installed(Array(path.bytes.dropFirst())) == path.bytes, path.bytes.count > 1 else {
                    throw fail("\(at).path", "'\(path)' is not an installed path ('/usr/bin/hello')")
                }
            } catch let e as BundleError { throw e } catch {
                throw fail("\(at).path", "'\(path)' is not a safe installed path: \((error as? DebianPackageError)?.reason ?? "\(error)")")
            }
            guard let mode = UInt32(line.mode, radix: 8), mode & 0o170000 == 0o100000, String(mode, radix: 8) == line.mode else {
                throw fail("\(at).mode", "expected the octal mode of a regular file (100644), found '\(line.mode)'")
            }
            guard line.size >= 0 else { throw fail("\(at).size", "negative size") }
            let parts = line.digest.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, parts[0] == algorithm.name, let digest = Hex.decode(parts[1]),
                  digest.count == algorithm.digestLength, Hex.encode(digest) == parts[1] else {
                throw fail("\(at).digest", "expected '\(algorithm.name):<\(algorithm.digestLength * 2) hex digits>', found '\(line.digest)'")
            }
            guard let ima = Hex.decode(line.ima), Hex.encode(ima) == line.ima else { throw fail("\(at).ima", "not lower-case hex") }
            let sig: IMASignature
            do { sig = try IMASignature(bytes: ima) } catch {
                throw fail("\(at).ima", "not an IMA signature: \(error)")
            }
            guard sig.kind == .ima, sig.version == 2, sig.hashAlgorithm == algorithm, sig.keyID == keyID else {
                throw fail("\(at).ima", "expected a signature v2 (0x03) over \(algorithm.name) by keyid \(doc.signer.keyid), found type 0x\(Hex.encode([sig.kind.rawValue])) version \(sig.version) \(sig.hashAlgorithm.name) keyid \(sig.keyIDHex)")
            }
            let file = File(path: path, size: line.size, mode: mode, digest: digest, ima: ima)
            if let previous = files.last, !(previous.path < file.path) {
                throw fail("\(at).path", previous.path == file.path ? "duplicate path \(file.path)" : "files are not in path order at \(file.path)")
            }
            files.append(file)
        }
        package = doc.package
        version = doc.version
        architecture = doc.architecture
        debSHA256 = debSHA
        debSize = doc.deb.size
        hashAlgorithm = algorithm
        created = doc.created
        tool = doc.tool
        signer = doc.signer
        self.files = files
    }
}
