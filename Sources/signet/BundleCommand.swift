#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import DebianPackage
import IMAFormat
import PackageBundles
import SignetCLI
import SignetCrypto
import Provenance
import Signing

/// `signet bundle`: IMA signatures for Debian packages, made when the packages are published.
struct BundleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bundle",
        abstract: "Signature bundles: the IMA signature of every file a .deb installs, made at publish time.",
        discussion: """
            dpkg drops extended attributes, so a package installed on an enforcing node leaves \
            its programs unsigned. A signature bundle carries, for one .deb, the security.ima \
            value of every regular file it installs (the bytes 'signet sign' would write), keyed \
            by package, version, architecture and the .deb's own SHA-256; it travels inside the \
            apt repository, next to a signed index:

              REPO/signet/index.json(.sig)                  all bundles of the repository
              REPO/signet/bundles/<pkg>_<ver>_<arch>.json(.sig)   one per .deb

            The .debs are read as streams (ar, xz/zstd/gzip, tar): nothing is unpacked to disk, \
            no root is needed. Each document has a detached signature over its exact bytes, \
            checkable with 'openssl dgst -sha256 -verify'.

              signet bundle repo /srv/apt --key ima.key.pem --cert ima.crt.pem
              signet bundle verify /srv/apt --ca ca.crt.pem --deb hello_2.10-3_amd64.deb
            """,
        subcommands: [Create.self, Repo.self, Verify.self, Show.self])
}

/// Parallelism and output for the bundle commands.
struct BundleRunOptions: ParsableArguments {
    @Option(help: "Worker threads (default: all cores).")
    var jobs: Int = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))

    @Flag(help: "Print one JSON object on stdout instead of text.")
    var json = false

    func validate() throws {
        guard jobs >= 1 && jobs <= 1024 else { throw ValidationError("--jobs must be between 1 and 1024") }
    }
}

/// The trusted signers of bundles and indexes: pinned certificates and/or CAs.
struct BundleTrustOptions: ParsableArguments {
    @Option(name: .customLong("cert"), help: ArgumentHelp("Trusted signing certificate (repeatable): the signer must be one of them.", valueName: "file"))
    var certs: [String] = []
    @Option(name: .customLong("ca"), help: ArgumentHelp("Trusted CA certificate (repeatable): the signer's certificate, carried in the bundle, must chain to one.", valueName: "file"))
    var cas: [String] = []

    func validate() throws {
        if certs.isEmpty && cas.isEmpty {
            throw ValidationError("give the trusted signer with --cert FILE or its CA with --ca FILE")
        }
    }

    func trust() throws -> BundleTrust {
        BundleTrust(certificates: try certs.flatMap { try Certificate.loadAll(path: $0) },
                    authorities: try cas.flatMap { try Certificate.loadAll(path: $0) })
    }
}

extension BundleCommand {
    /// The creation time written into bundles and indexes: SOURCE_DATE_EPOCH when set.
    static func created() -> String {
        Manifest.timestamp(getenv("SOURCE_DATE_EPOCH").flatMap { Int(String(cString: $0)) } ?? Int(time(nil)))
    }

    static func builder(_ signing: SigningKeyOptions, jobs: Int) throws -> BundleBuilder {
        let pipeline = try signing.makePipeline(jobs: jobs, selection: .all)
        return BundleBuilder(pipeline: pipeline, created: created(), tool: "signet \(Signet.version)", jobs: jobs)
    }

    /// A refusal (exit 1) or bad input (exit 2), one line on stderr.
    static func fail(_ error: BundleError) -> ExitCode {
        Console.error("\(error)")
        switch error.code {
        case .untrustedSigner, .badSignature, .badFileSignature, .packageMismatch, .debMismatch, .contentMismatch, .indexMismatch:
            return Exit.someFailed
        default:
            return Exit.badInput
        }
    }

    static func summary(_ built: [BuiltBundle], seconds: Double) -> (files: Int, bytes: Int64, line: String) {
        let files = built.reduce(0) { $0 + $1.bundle.files.count }
        let bytes = built.reduce(Int64(0)) { $0 + $1.scanned.summary.contentBytes }
        let s = max(seconds, 1e-6)
        return (files, bytes, "bundled \(built.count) package(s), \(files) files, \(bytes) bytes in \(fixed(seconds, 2)) s "
            + "(\(Int(Double(files) / s)) files/s, \(Int(Double(bytes) / s / 1e6)) MB/s)")
    }

    static func json(_ b: BuiltBundle, path: String?) -> String {
        JSON.object([
            ("deb", JSON.string(b.scanned.source)), ("package", JSON.string(b.bundle.package)),
            ("version", JSON.string(b.bundle.version)), ("architecture", JSON.string(b.bundle.architecture)),
            ("deb_sha256", JSON.string(Hex.encode(b.scanned.sha256))), ("files", String(b.bundle.files.count)),
            ("bundle", path.map(JSON.string) ?? "null"),
        ])
    }

    // MARK: - create

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make the signature bundle of each .deb.",
            discussion: """
                Reads each .deb once as a stream (its SHA-256, control fields, and the digest of \
                every regular file it installs; hard links get their target's content), signs \
                every digest with the key as 'signet sign' would, and writes \
                OUT/<pkg>_<ver>_<arch>.json and its detached signature .json.sig. The .debs \
                are read on all cores, largest first, then the digests are signed on all cores.

                Nothing is written unless every .deb could be bundled; each file is written \
                atomically. Exit 0 on success, 2 when a .deb is unreadable or invalid (the \
                error names the member, the offset and the entry) or a key/certificate is bad, \
                130 when interrupted.

                Examples:
                  signet bundle create --key ima.key.pem --cert ima.crt.pem \\
                      --out bundles/ hello_2.10-3_amd64.deb
                  signet bundle create --key ima.key.pem --cert ima.crt.pem \\
                      --jobs 8 --out bundles/ pool/main/*/*/*.deb
                """)

        @OptionGroup var signing: SigningKeyOptions
        @Option(help: ArgumentHelp("Directory to write the bundles into (created if missing).", valueName: "dir"))
        var out: String
        @OptionGroup var runOptions: BundleRunOptions
        @Argument(help: ArgumentHelp("The .deb files.", valueName: "deb")) var debs: [String]

        func validate() throws {
            if debs.isEmpty { throw ValidationError("give at least one .deb file") }
        }

        func run() throws {
            let started = Clock.now()
            let builder = try reportingErrors { try BundleCommand.builder(signing, jobs: runOptions.jobs) }
            let trap = SignalTrap()
            let results = builder.build(debs, interrupt: trap.flag)
            if trap.flag.isRaised {
                Console.err("interrupted: nothing was written")
                throw Exit.interrupted
            }
            var built = [BuiltBundle]()
            var failed = 0
            for r in results {
                switch r {
                case .success(let b): built.append(b)
                case .failure(let e):
                    failed += 1
                    Console.error("\(e)")
                }
            }
            if failed > 0 {
                Console.err("no bundle written: \(failed) of \(debs.count) .deb(s) failed")
                throw Exit.badInput
            }
            let written: [String]
            do { written = try BundleWriter.write(built, into: out) } catch { throw BundleCommand.fail(error) }
            let summary = BundleCommand.summary(built, seconds: Clock.now() - started)
            if runOptions.json {
                let pathFor = Dictionary(built.map { ($0.bundle.fileName, out + "/" + $0.bundle.fileName) }, uniquingKeysWith: { a, _ in a })
                Console.out(JSON.object([
                    ("bundles", JSON.array(built.map { BundleCommand.json($0, path: pathFor[$0.bundle.fileName]) })),
                    ("files", String(summary.files)), ("bytes", String(summary.bytes)),
                    ("seconds", String(Clock.now() - started)),
                ]))
                return
            }
            for b in built {
                Console.out("\(b.bundle.label): \(b.bundle.files.count) files → \(out)/\(b.bundle.fileName)")
            }
            Console.out(summary.line + "; \(written.count) bundle(s) written")
        }
    }

    // MARK: - repo

    struct Repo: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Publish bundles and the signed index inside an apt repository directory.",
            discussion: """
                Finds every *.deb under REPO (not through symlinks, not in hidden directories or \
                REPO/signet), makes the bundles that are missing or stale, and writes:

                  REPO/signet/bundles/<pkg>_<ver>_<arch>.json + .json.sig
                  REPO/signet/index.json + .json.sig

                The index lists, per .deb: package, version, architecture, the .deb's path, \
                SHA-256 and size, and the bundle's path and SHA-256. An epoch's ':' is written \
                '%3a' in file names, as apt does.

                Incremental: a .deb the current index (signed by this certificate) lists with the \
                same SHA-256, whose bundle file is intact, is not read again; --rebuild makes \
                every bundle anew. Bundles of .debs no longer in the repository are removed. \
                Every bundle is made before anything is written; files are written atomically, \
                bundles before the index. Two different .debs with the same package, version and \
                architecture are refused. Run it after adding .debs and before (or after) \
                apt-ftparchive; the index does not depend on Packages files.

                Examples:
                  signet bundle repo /srv/apt --key ima.key.pem --cert ima.crt.pem
                  signet bundle repo /srv/apt --key ima.key.pem --cert ima.crt.pem --json
                """)

        @Argument(help: ArgumentHelp("The apt repository's root directory.", valueName: "repo")) var repo: String
        @OptionGroup var signing: SigningKeyOptions
        @Flag(help: "Make every bundle again, even those that are current.") var rebuild = false
        @OptionGroup var runOptions: BundleRunOptions

        func run() throws {
            let started = Clock.now()
            let builder = try reportingErrors { try BundleCommand.builder(signing, jobs: runOptions.jobs) }
            let trap = SignalTrap()
            let result: BundleRepository.UpdateResult
            do {
                result = try BundleRepository(root: repo).update(builder: builder, rebuildAll: rebuild, interrupt: trap.flag)
            } catch {
                if trap.flag.isRaised {
                    Console.err("interrupted: nothing was written")
                    throw Exit.interrupted
                }
                throw BundleCommand.fail(error)
            }
            if trap.flag.isRaised && result.index == nil {
                Console.err("interrupted: nothing was written")
                throw Exit.interrupted
            }
            if !result.failures.isEmpty {
                for e in result.failures { Console.error("\(e)") }
                Console.err("nothing written: \(result.failures.count) .deb(s) could not be bundled")
                throw Exit.badInput
            }
            let summary = BundleCommand.summary(result.built, seconds: Clock.now() - started)
            let total = result.index?.entries.count ?? 0
            if runOptions.json {
                Console.out(JSON.object([
                    ("repository", JSON.string(repo)), ("debs", String(total)),
                    ("built", JSON.array(result.built.map { BundleCommand.json($0, path: $0.bundle.fileName) })),
                    ("current", String(result.current.count)), ("removed", JSON.array(result.removed.map(JSON.string))),
                    ("index_written", result.indexWritten ? "true" : "false"),
                    ("note", result.note.map(JSON.string) ?? "null"),
                    ("files", String(summary.files)), ("seconds", String(Clock.now() - started)),
                ]))
                return
            }
            if let note = result.note { Console.warning(note) }
            for b in result.built { Console.out("\(b.bundle.label): \(b.bundle.files.count) files → \(BundleRepository.bundleDirectory)/\(b.bundle.fileName)") }
            for r in result.removed { Console.out("removed \(r) (no .deb needs it)") }
            Console.out("repository \(repo): \(total) .deb(s); \(result.built.count) bundle(s) made, \(result.current.count) current, \(result.removed.count) file(s) removed; "
                + (result.indexWritten ? "index written to \(BundleRepository.indexPath)" : "index unchanged")
                + (result.built.isEmpty ? "" : "; " + summary.line))
        }
    }

    // MARK: - verify

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a bundle or a repository's bundles, and optionally .debs against them.",
            discussion: """
                A bundle file: its signer must be a --cert or chain to a --ca, its detached \
                signature (FILE.sig) must verify over its exact bytes, and every file's IMA \
                signature over its digest. A repository directory: the same for the index \
                (REPO/signet/index.json) and for every bundle it lists, whose SHA-256, package, \
                version, architecture and .deb SHA-256 must be those the index gives.

                With --deb: the .deb must be the one the bundle was made for (same package, \
                version and architecture, same SHA-256 and size), and every file it installs \
                must have the bundle's digest, no file missing or extra. In a repository the \
                bundle is found by the .deb's SHA-256.

                Exit 0 when everything verifies; 1 when a check fails (untrusted signer, bad \
                signature, a bundle for another package, version, architecture or .deb); 2 for \
                unreadable or malformed input.

                Examples:
                  signet bundle verify --cert ima.crt.pem bundles/hello_2.10-3_amd64.json \\
                      --deb hello_2.10-3_amd64.deb
                  signet bundle verify --ca ca.crt.pem /srv/apt
                  signet bundle verify --ca ca.crt.pem /srv/apt \\
                      --deb /var/cache/apt/archives/hello_2.10-3_amd64.deb
                """)

        @Argument(help: ArgumentHelp("A bundle (.json) or an apt repository directory.", valueName: "bundle|repo")) var target: String
        @OptionGroup var trustOptions: BundleTrustOptions
        @Option(help: ArgumentHelp("The bundle's signature (default: BUNDLE.sig).", valueName: "file")) var signature: String?
        @Option(name: .customLong("deb"), help: ArgumentHelp("Also check this .deb against its bundle (repeatable).", valueName: "file"))
        var debs: [String] = []

        func run() throws {
            let trust = try reportingErrors { try trustOptions.trust() }
            var st = stat()
            let isDirectory = stat(target, &st) == 0 && st.st_mode & S_IFMT == S_IFDIR
            do {
                if isDirectory { try verifyRepository(trust) } else { try verifyBundle(trust) }
            } catch {
                throw BundleCommand.fail(error)
            }
        }

        private func verifyBundle(_ trust: BundleTrust) throws(BundleError) {
            let bytes = try readFile(target)
            let sig = try readFile(signature ?? target + ".sig")
            let verified = try BundleVerifier.verifyBundle(bytes, signature: sig, trust: trust, source: target)
            let b = verified.bundle
            Console.out("bundle OK: \(b.label), \(b.files.count) files (\(b.hashAlgorithm.name)), .deb SHA-256 \(Hex.encode(b.debSHA256)), signed by '\(verified.signer.subject)' (keyid \(b.signer.keyid))")
            for deb in debs {
                try checkDeb(deb, against: b)
            }
        }

        private func verifyRepository(_ trust: BundleTrust) throws(BundleError) {
            let repo = BundleRepository(root: target)
            let (index, signer) = try repo.verifiedIndex(trust: trust)
            var files = 0
            for entry in index.entries {
                files += try repo.verifiedBundle(entry, trust: trust).bundle.files.count
            }
            let listed = Set(index.entries.map(\.deb))
            let unlisted = (try? repo.findDebs())?.filter { !listed.contains($0) } ?? []
            for deb in unlisted { Console.warning("\(repo.path(deb)) has no bundle in the index (its files would stay unsigned)") }
            Console.out("repository OK: index of \(index.entries.count) bundle(s), \(files) files, signed by '\(signer.subject)' (keyid \(index.signer.keyid)); every bundle verifies and matches the index"
                + (unlisted.isEmpty ? "" : "; \(unlisted.count) .deb(s) without a bundle"))
            for deb in debs {
                let (sha, _) = try DebScanner.sha256(of: deb)
                guard let entry = index.entries(forDebSHA256: Hex.encode(sha)).first else {
                    // Say what the .deb is, and whether the index has a bundle for another build of it.
                    let scanned = try DebScanner(hashAlgorithm: index.hashAlgorithm).scan(deb)
                    let c = scanned.control
                    if let other = index.entries.first(where: { $0.package == c.package && $0.version == c.version && $0.architecture == c.architecture }) {
                        throw BundleError(.debMismatch, source: deb, field: "deb_sha256",
                                          "the index's bundle for \(c.package) \(c.version) \(c.architecture) was made for the .deb with SHA-256 \(other.debSHA256); this .deb has SHA-256 \(Hex.encode(sha)): it was rebuilt or altered, refusing its bundle")
                    }
                    throw BundleError(.indexMismatch, source: deb, field: "deb_sha256",
                                      "no bundle in the index for \(c.package) \(c.version) \(c.architecture) (SHA-256 \(Hex.encode(sha))): its files would stay unsigned")
                }
                let verified = try repo.verifiedBundle(entry, trust: trust)
                try checkDeb(deb, against: verified.bundle)
            }
        }

        private func checkDeb(_ deb: String, against bundle: SignatureBundle) throws(BundleError) {
            let scanned = try DebScanner(hashAlgorithm: bundle.hashAlgorithm).scan(deb)
            try BundleVerifier.check(bundle, against: scanned)
            Console.out("deb OK: \(deb) is \(bundle.label) (SHA-256 \(Hex.encode(scanned.sha256))); all \(scanned.files.count) files match the bundle")
        }

        private func readFile(_ path: String) throws(BundleError) -> [UInt8] {
            do { return try FileBytes.read(path, limit: 256 << 20) } catch { throw BundleError(.io, source: path, "\(error)") }
        }
    }

    // MARK: - show

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a bundle's files, or an index's bundles (signatures are not checked: see 'bundle verify').",
            discussion: """
                Examples:
                  signet bundle show bundles/hello_2.10-3_amd64.json
                  signet bundle show /srv/apt/signet/index.json
                """)

        @Argument(help: ArgumentHelp("A bundle or an index (.json), or a repository directory (its index).", valueName: "file|repo"))
        var file: String
        @Flag(help: "Print the files (or bundles) as JSON lines with the security.ima value.") var json = false

        func run() throws {
            var path = file
            var st = stat()
            if stat(file, &st) == 0 && st.st_mode & S_IFMT == S_IFDIR { path = BundleRepository(root: file).path(BundleRepository.indexPath) }
            do { try show(path) } catch { throw BundleCommand.fail(error) }
        }

        private func show(_ path: String) throws(BundleError) {
            let bytes: [UInt8]
            do { bytes = try FileBytes.read(path, limit: 256 << 20) } catch { throw BundleError(.io, source: path, "\(error)") }
            if BundleJSON.format(of: bytes) == BundleIndex.format {
                show(try BundleIndex(parsing: bytes, source: path))
            } else {
                show(try SignatureBundle(parsing: bytes, source: path))
            }
        }

        private func show(_ b: SignatureBundle) {
            if !json {
                Console.out("\(b.label), .deb SHA-256 \(Hex.encode(b.debSHA256)) (\(b.debSize) bytes), \(b.files.count) files, \(b.hashAlgorithm.name), created \(b.created) by \(b.tool), signer '\(b.signer.subject)' keyid \(b.signer.keyid)")
            }
            for f in b.files {
                if json {
                    Console.out(JSON.object(JSON.pathPairs(f.path) + [
                        ("size", String(f.size)), ("mode", JSON.string(String(f.mode, radix: 8))),
                        ("digest", JSON.string("\(b.hashAlgorithm.name):\(Hex.encode(f.digest))")), ("ima", JSON.string(Hex.encode(f.ima))),
                    ]))
                } else {
                    Console.out("\(String(f.mode, radix: 8)) \(String(f.size).leftPad(10, " ")) \(b.hashAlgorithm.name):\(Hex.encode(f.digest)) \(f.path)")
                }
            }
        }

        private func show(_ index: BundleIndex) {
            if !json {
                Console.out("bundle index: \(index.entries.count) bundle(s), \(index.hashAlgorithm.name), created \(index.created) by \(index.tool), signer '\(index.signer.subject)' keyid \(index.signer.keyid)")
            }
            for e in index.entries {
                if json {
                    Console.out(JSON.object([
                        ("package", JSON.string(e.package)), ("version", JSON.string(e.version)), ("architecture", JSON.string(e.architecture)),
                        ("deb", JSON.string(e.deb)), ("deb_sha256", JSON.string(e.debSHA256)), ("deb_size", String(e.debSize)),
                        ("bundle", JSON.string(e.bundle)), ("bundle_sha256", JSON.string(e.bundleSHA256)),
                    ]))
                } else {
                    Console.out("\(e.package) \(e.version) \(e.architecture)  \(e.deb)  sha256:\(e.debSHA256)  → \(e.bundle)")
                }
            }
        }
    }
}
