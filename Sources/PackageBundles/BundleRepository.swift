#if canImport(Glibc)
import Glibc
#endif
import DebianPackage
import IMAFormat
import SignetCrypto
import Provenance
import Signing

/// Signature bundles inside an apt repository directory, so they travel with the repository
/// (same mirror, same `file:`/`http:` URI, no extra channel to the node):
///
///     REPO/                                   any layout of .debs (pool/…, flat, …)
///     REPO/signet/index.json                  the signed index (`BundleIndex`)
///     REPO/signet/index.json.sig
///     REPO/signet/bundles/<pkg>_<ver>_<arch>.json       one bundle per package version
///     REPO/signet/bundles/<pkg>_<ver>_<arch>.json.sig   (an epoch's ':' written "%3a")
///
/// `update` is incremental: a .deb whose bundle the current index (signed by the same
/// certificate, same digest algorithm) lists with the same SHA-256 and size, and whose bundle
/// file still has the listed SHA-256 and a valid signature, is not read again. Every bundle is
/// computed before anything is written; then bundles are written (each file atomically, the
/// signature before its document), then the index, then bundles no .deb needs any more are
/// removed. A failure before the writes leaves the repository as it was.
public struct BundleRepository: Sendable {
    public static let directory = "signet"
    public static let bundleDirectory = "signet/bundles"
    public static let indexPath = "signet/index.json"

    /// The repository root.
    public let root: String

    public init(root: String) {
        var r = root
        while r.count > 1 && r.hasSuffix("/") { r.removeLast() }
        self.root = r
    }

    public func path(_ relative: String) -> String { root + "/" + relative }

    /// Every regular `*.deb` file under the root (not under `signet/`, not through symlinks, not
    /// in hidden directories), as sorted relative paths.
    public func findDebs() throws(BundleError) -> [String] {
        var out = [String]()
        try walk("", into: &out)
        return out.sorted()
    }

    private func walk(_ relative: String, into out: inout [String]) throws(BundleError) {
        let dirPath = relative.isEmpty ? root : path(relative)
        guard let dir = opendir(dirPath) else {
            throw BundleError(.io, source: dirPath, "cannot list: \(errnoDescription(errno))")
        }
        var names = [String]()
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name == "." || name == ".." || name.hasPrefix(".") { continue }
            names.append(name)
        }
        closedir(dir)
        for name in names.sorted() {
            let rel = relative.isEmpty ? name : relative + "/" + name
            if rel == Self.directory { continue }
            var st = stat()
            guard lstat(path(rel), &st) == 0 else { continue }
            if st.st_mode & S_IFMT == S_IFDIR {
                try walk(rel, into: &out)
            } else if st.st_mode & S_IFMT == S_IFREG && name.hasSuffix(".deb") {
                guard RepositoryPath.isSafe(rel) else {
                    throw BundleError(.io, source: path(rel), "a .deb path with control characters cannot be listed in the index")
                }
                out.append(rel)
            }
        }
    }

    /// What `update` did.
    public struct UpdateResult: Sendable {
        /// Bundles made in this run (written unless `failures` is not empty).
        public var built: [BuiltBundle] = []
        /// Index entries kept as they were (bundle current).
        public var current: [BundleIndex.Entry] = []
        /// Bundle files removed because no .deb needs them.
        public var removed: [String] = []
        /// .debs that could not be bundled: nothing was written.
        public var failures: [BundleError] = []
        /// Why the existing index was not used, if it was not.
        public var note: String?
        public var index: BundleIndex?
        /// True when the index file was (re)written.
        public var indexWritten = false
    }

    /// Brings bundles and index up to date with the .debs under the root (see the type's comment).
    public func update(builder: BundleBuilder, rebuildAll: Bool = false, interrupt: InterruptFlag? = nil) throws(BundleError) -> UpdateResult {
        var result = UpdateResult()
        let debs = try findDebs()
        let cert = builder.pipeline.certificate
        // The current index, if ours and intact.
        var previous = [String: BundleIndex.Entry]()
        var previousIndex: BundleIndex?
        if !rebuildAll, access(path(Self.indexPath), F_OK) == 0 {
            do {
                let bytes = try Self.read(path(Self.indexPath))
                let sig = try Self.read(path(Self.indexPath) + ".sig")
                let (index, _) = try BundleVerifier.verifyIndex(bytes, signature: sig, trust: BundleTrust(certificates: [cert]),
                                                                source: path(Self.indexPath))
                if index.hashAlgorithm == builder.hashAlgorithm {
                    previousIndex = index
                    for e in index.entries { previous[e.deb] = e }
                } else {
                    result.note = "the existing index uses \(index.hashAlgorithm.name), not \(builder.hashAlgorithm.name): every bundle is made again"
                }
            } catch {
                result.note = "the existing index is not used (every bundle is made again): \(error)"
            }
        }
        // Which .debs changed: their SHA-256 against the index, the bundle file against the index.
        let hashes = ParallelRunner.map(count: debs.count, jobs: builder.jobs, interrupt: interrupt) { i in
            Result { () throws(BundleError) in try DebScanner.sha256(of: path(debs[i])) }
        }
        var toBuild = [String]()
        for (i, deb) in debs.enumerated() {
            guard let hashed = hashes[i] else { throw BundleError(.io, source: path(deb), "interrupted") }
            let (sha, size) = try hashed.get()
            if let old = previous[deb], old.debSHA256 == Hex.encode(sha), old.debSize == size, bundleIsCurrent(old, cert: cert) {
                result.current.append(old)
            } else {
                toBuild.append(deb)
            }
        }
        let built = builder.build(toBuild.map(path), interrupt: interrupt)
        var entries = result.current
        var newBundles = [String: BuiltBundle]()
        for (deb, r) in zip(toBuild, built) {
            switch r {
            case .failure(let e): result.failures.append(e)
            case .success(let b):
                result.built.append(b)
                let bundlePath = Self.bundleDirectory + "/" + b.bundle.fileName
                newBundles[bundlePath] = b
                entries.append(BundleIndex.Entry(package: b.bundle.package, version: b.bundle.version, architecture: b.bundle.architecture,
                                                 deb: deb, debSHA256: Hex.encode(b.scanned.sha256), debSize: b.scanned.size,
                                                 bundle: bundlePath, bundleSHA256: Hex.encode(Digester.hash(b.bytes, .sha256))))
            }
        }
        if !result.failures.isEmpty { return result }
        // One bundle per package version: two different .debs may not claim the same one.
        var byBundle = [String: BundleIndex.Entry]()
        for e in entries {
            if let other = byBundle[e.bundle], other.debSHA256 != e.debSHA256 {
                throw BundleError(.conflict, source: path(e.deb), field: "deb",
                                  "\(e.package) \(e.version) \(e.architecture) is also '\(other.deb)', a different .deb (SHA-256 \(other.debSHA256.prefix(16))… vs \(e.debSHA256.prefix(16))…): an apt repository holds one .deb per package version; remove one")
            }
            byBundle[e.bundle] = e
        }
        // A current entry whose bundle is being rewritten for another .deb path of the same content keeps pointing at equal content.
        for i in entries.indices {
            if let b = newBundles[entries[i].bundle] { entries[i].bundleSHA256 = Hex.encode(Digester.hash(b.bytes, .sha256)) }
        }
        let index = BundleIndex(created: builder.created, tool: builder.tool, hashAlgorithm: builder.hashAlgorithm,
                                signer: BundleSigner(certificate: cert), entries: entries)
        result.index = index

        // Writes: bundles, then the index, then what is no longer needed.
        try Self.makeDirectories(path(Self.bundleDirectory))
        for (relative, b) in newBundles.sorted(by: { $0.key < $1.key }) {
            try BundleWriter.write(bytes: b.bytes, signature: b.signature, to: path(relative))
        }
        if previousIndex?.entries != index.entries || !newBundles.isEmpty {
            let bytes = index.encoded()
            let sig: [UInt8]
            do { sig = try DetachedSignature.sign(bytes, with: builder.pipeline.key) } catch {
                throw BundleError(.signingFailed, source: builder.pipeline.key.source, "signing the index failed: \(error)")
            }
            try BundleWriter.write(bytes: bytes, signature: sig, to: path(Self.indexPath))
            result.indexWritten = true
        }
        let keep = Set(index.entries.map { $0.bundle })
        for name in (try? Self.list(path(Self.bundleDirectory))) ?? [] {
            let stem = name.hasSuffix(".json.sig") ? String(name.dropLast(4)) : name
            guard stem.hasSuffix(".json"), !keep.contains(Self.bundleDirectory + "/" + stem) else { continue }
            if unlink(path(Self.bundleDirectory + "/" + name)) == 0 { result.removed.append(Self.bundleDirectory + "/" + name) }
        }
        return result
    }

    /// The bundle file the entry names still has the listed SHA-256 and a signature by `cert`.
    private func bundleIsCurrent(_ entry: BundleIndex.Entry, cert: Certificate) -> Bool {
        guard let bytes = try? Self.read(path(entry.bundle)), Hex.encode(Digester.hash(bytes, .sha256)) == entry.bundleSHA256,
              let sig = try? Self.read(path(entry.bundle) + ".sig") else { return false }
        return DetachedSignature.verify(bytes, signature: sig, certificate: cert)
    }

    /// The index, verified with `trust`.
    public func verifiedIndex(trust: BundleTrust) throws(BundleError) -> (index: BundleIndex, signer: Certificate) {
        let file = path(Self.indexPath)
        guard access(file, F_OK) == 0 else {
            throw BundleError(.io, source: file, "no bundle index: publish one with 'signet bundle repo \(root) --key … --cert …'")
        }
        return try BundleVerifier.verifyIndex(try Self.read(file), signature: try Self.read(file + ".sig"), trust: trust, source: file)
    }

    /// The bundle an index entry names, verified with `trust` and checked against the entry.
    public func verifiedBundle(_ entry: BundleIndex.Entry, trust: BundleTrust) throws(BundleError) -> VerifiedBundle {
        let file = path(entry.bundle)
        let bytes = try Self.read(file)
        guard Hex.encode(Digester.hash(bytes, .sha256)) == entry.bundleSHA256 else {
            throw BundleError(.indexMismatch, source: file, field: "bundle_sha256",
                              "the file's SHA-256 is not the \(entry.bundleSHA256) the index lists: the bundle was replaced or altered after the index was signed")
        }
        let verified = try BundleVerifier.verifyBundle(bytes, signature: try Self.read(file + ".sig"), trust: trust, source: file)
        let b = verified.bundle
        guard b.package == entry.package, b.version == entry.version, b.architecture == entry.architecture,
              Hex.encode(b.debSHA256) == entry.debSHA256, b.debSize == entry.debSize else {
            throw BundleError(.indexMismatch, source: file, field: "deb",
                              "the bundle is for \(b.label) (.deb SHA-256 \(Hex.encode(b.debSHA256))), the index lists it for \(entry.package) \(entry.version) \(entry.architecture) (.deb SHA-256 \(entry.debSHA256))")
        }
        return verified
    }

    // MARK: - Files

    static func read(_ path: String) throws(BundleError) -> [UInt8] {
        do { return try FileBytes.read(path, limit: 256 << 20) } catch {
            throw BundleError(.io, source: path, "\(error)")
        }
    }

    static func list(_ dir: String) throws(BundleError) -> [String] {
        guard let d = opendir(dir) else { throw BundleError(.io, source: dir, "cannot list: \(errnoDescription(errno))") }
        defer { closedir(d) }
        var names = [String]()
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    static func makeDirectories(_ path: String) throws(BundleError) {
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            prefix += "/" + component
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
                throw BundleError(.io, source: prefix, "cannot create the directory: \(errnoDescription(errno))")
            }
        }
    }
}
