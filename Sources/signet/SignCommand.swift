#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import SignetCLI
import IMAFormat
import SignetCrypto
import Provenance
import Signing

extension HashAlgorithm: ExpressibleByArgument {
    public init?(argument: String) { self.init(name: argument) }
    public static var allValueStrings: [String] { ["sha256", "sha384", "sha512", "sha1", "sha224"] }
    public var defaultValueDescription: String { name }
    // By name: the protocol's default for a CaseIterable enum would key them by raw value (4, 5, …).
    public static var allValueDescriptions: [String: String] {
        ["sha256": "SHA-256", "sha384": "SHA-384", "sha512": "SHA-512",
         "sha1": "SHA-1 (broken for collisions: for kernels that know no other)", "sha224": "SHA-224"]
    }
}

struct Sign: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write IMA signatures (security.ima, v2) over files or whole trees.",
        discussion: """
            Hashes each selected file and writes a signature v2 into its security.ima \
            xattr, byte-compatible with 'evmctl ima_sign'. Symlinks are never followed, \
            each hard-linked inode is signed once, other filesystems are not entered unless \
            --cross-filesystems. A file whose signature already verifies with this key is \
            skipped, so a rerun after an interruption finishes the job.

            With --manifest, a provenance manifest (JSON Lines) and its detached signature \
            (MANIFEST.sig, same key) are written when every file succeeded. --detached \
            writes signatures only into the manifest; 'signet apply' sets them later.

            With --evm, each file also gets a portable EVM signature (security.evm, type \
            0x05) over its security.ima, SELinux label, capabilities, uid, gid and mode as \
            they will be in the image (--evm-uid/--evm-gid/--evm-selinux/--evm-caps), \
            computed after security.ima is written, in the same pass.

            The key passphrase comes from SIGNET_KEY_PASSPHRASE or --passphrase-file.

            Key rotation: --resign-from OLDKEYID re-signs with the new --key/--cert only \
            the files whose security.ima is a signature by the old keyid; files signed by \
            other keys, unsigned or with a hash are left untouched and counted as \
            'not signed by the old key'. A rerun skips what was already re-signed.

            Examples:
              signet sign --key ima.key.pem --cert ima.crt.pem rootfs/
              signet sign --key new.key.pem --cert new.crt.pem --resign-from 3fa2c810 rootfs/
              signet sign --key ima.key.pem --cert ima.crt.pem --select code --manifest m.jsonl rootfs/
              signet sign --key ima.key.pem --cert ima.crt.pem --detached --manifest m.jsonl build/
              signet sign --key ima.key.pem --cert ima.crt.pem --evm --evm-uid 0 --evm-gid 0 rootfs/
            """)

    @OptionGroup var signing: SigningKeyOptions
    @Option(help: ArgumentHelp("Write the provenance manifest here (and its signature to FILE.sig).", valueName: "file"))
    var manifest: String?
    @Option(help: "Build identifier for the manifest header (default: $SIGNET_BUILD_ID or 'unspecified').")
    var buildID: String?
    @Flag(help: "Compute everything, change nothing.") var dryRun = false
    @Flag(help: "Put signatures only into the manifest, not into xattrs (see 'signet apply').") var detached = false
    @Flag(help: "Replace a malformed existing security.ima.") var force = false
    @Flag(help: "Sign again even files whose signature already verifies with this key.") var resign = false
    @Option(name: .customLong("resign-from"),
            help: ArgumentHelp("Key rotation: re-sign only files whose security.ima is a signature by this old keyid (8 hex digits, as 'signet keys show' and evmctl print; 0x optional); leave every other file untouched.", valueName: "keyid"))
    var resignFrom: String?
    @OptionGroup var selection: SelectionOptions
    @OptionGroup(title: "EVM (metadata) signatures") var evm: EVMOptions
    @OptionGroup var output: RunOptions
    @Argument(help: ArgumentHelp("Files or directories to sign.", valueName: "path")) var paths: [String]

    func validate() throws {
        if detached && manifest == nil {
            throw ValidationError("--detached keeps signatures only in the manifest: give --manifest FILE")
        }
        if paths.isEmpty { throw ValidationError("give at least one file or directory to sign") }
        if evm.evm && detached { throw ValidationError("--evm writes security.evm into the tree: not with --detached") }
        if let resignFrom {
            if resign { throw ValidationError("--resign re-signs every file, --resign-from only those signed by one old key: give one of them") }
            if Sign.parseKeyID(resignFrom) == nil {
                throw ValidationError("--resign-from '\(resignFrom)' is not a keyid: give the old key's 8 hex digits as 'signet keys show' prints them (e.g. 3fa2c810 or 0x3fa2c810)")
            }
        }
    }

    /// `3FA2C810`, `0x3fa2c810` → 0x3fa2c810; nil unless exactly 8 hex digits.
    static func parseKeyID(_ text: String) -> UInt32? {
        var t = text.lowercased()
        if t.hasPrefix("0x") { t.removeFirst(2) }
        guard t.utf8.count == 8, t.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) else { return nil }
        return KeyID.parse(t)
    }

    func run() throws {
        let pipeline = try signing.makePipeline(jobs: output.jobs, selection: selection.select) { options in
            options.dryRun = dryRun
            options.detached = detached
            options.force = force
            options.resignAll = resign
            options.resignFrom = resignFrom.flatMap(Sign.parseKeyID)
            options.evm = evm.options
        }
        try SignJob(pipeline: pipeline, selection: selection.selection, output: output,
                    manifest: manifest, buildID: buildID).run(paths: paths)
    }
}

/// One signing run as the CLI does it: walk, sign with a progress bar,
/// write the manifest when everything succeeded, report, set the exit code.
/// Shared by `signet sign` and `signet image prepare`.
struct SignJob {
    var pipeline: SigningPipeline
    var selection: FileSelection
    var output: RunOptions
    var manifest: String?
    var buildID: String?

    var dryRun: Bool { pipeline.options.dryRun }
    var detached: Bool { pipeline.options.detached }
    var hashAlgorithm: HashAlgorithm { pipeline.options.hashAlgorithm }

    func run(paths: [String]) throws {
        let started = Clock.now()
        let trap = SignalTrap()
        let walk = TreeWalker(selection: selection).walk(paths.map(FilePath.init))
        // --evm: the labels the tree carries must say what the target will see; refuse before touching a file.
        try reportingErrors { try pipeline.checkEVMLabels(walk.files) }
        let progress = ProgressCounter(totalFiles: walk.files.count,
                                       totalBytes: walk.files.reduce(0) { $0 + Int($1.size) })
        let bar = (Console.stderrIsTerminal && !output.json && !output.noProgress) ? ProgressBar(progress, label: "signing") : nil
        let results = pipeline.run(walk.files, interrupt: trap.flag, progress: progress)
        bar?.finish()
        let interrupted = results.contains { $0 == nil }
        let done = results.compactMap { $0 }
        let summary = SignSummary(results: done, walk: walk, seconds: Clock.now() - started)

        var manifestNote: String?
        if let manifest, !interrupted {
            if summary.failed > 0 || !walk.failures.isEmpty {
                manifestNote = "manifest not written: \(summary.failed + walk.failures.count) file(s) failed; fix them and run again"
            } else if dryRun {
                manifestNote = "manifest not written (dry run)"
            } else {
                try reportingErrors {
                    try writeManifest(done, to: manifest)
                }
                manifestNote = "manifest written to \(manifest) (signature \(manifest).sig)"
            }
        }
        report(summary: summary, walk: walk, manifestNote: manifestNote, interrupted: interrupted)
        if interrupted { throw Exit.interrupted }
        if summary.failed > 0 || !walk.failures.isEmpty { throw Exit.someFailed }
    }

    private func writeManifest(_ results: [SignedFile], to path: String) throws {
        let epoch = getenv("SOURCE_DATE_EPOCH").flatMap { Int(String(cString: $0)) } ?? Int(time(nil))
        let build = buildID ?? getenv("SIGNET_BUILD_ID").map { String(cString: $0) } ?? "unspecified"
        let header = Manifest.Header(buildID: build, created: Manifest.timestamp(epoch), tool: "signet \(Signet.version)",
                                     hashAlgorithm: hashAlgorithm, signer: .init(certificate: pipeline.certificate),
                                     detached: detached)
        let bytes = Manifest(header: header, signed: results).encoded()
        let signature = try ManifestSignature.sign(bytes, with: pipeline.key)
        // Signature first: a manifest never appears without the signature that covers it.
        try FileBytes.writeAtomically(signature, to: path + ".sig", mode: 0o644)
        try FileBytes.writeAtomically(bytes, to: path, mode: 0o644)
    }

    private func report(summary: SignSummary, walk: WalkResult, manifestNote: String?, interrupted: Bool) {
        if output.json {
            var files = [String]()
            for r in summary.results {
                let outcome: String
                var extra = [(String, String)]()
                switch r.outcome {
                case .signed: outcome = dryRun ? "would-sign" : "signed"
                case .alreadySigned: outcome = "already-signed"
                case .notSelected: continue
                case .otherKey:
                    outcome = "not-by-old-key"
                    if case .signature(let sig)? = try? IMAXattr(bytes: r.xattr) { extra = [("keyid", JSON.string(sig.keyIDHex))] }
                case .failed(let p):
                    outcome = "failed"
                    extra = [("error", JSON.string(p.code)), ("message", JSON.string(p.description))]
                }
                var pairs = JSON.pathPairs(r.file.paths[0]) + [("outcome", JSON.string(outcome))]
                if !r.digest.isEmpty { pairs.append(("digest", JSON.string("\(hashAlgorithm.name):\(Hex.encode(r.digest))"))) }
                if r.file.paths.count > 1 { pairs.append(("links", String(r.file.paths.count))) }
                if !r.evm.isEmpty { pairs.append(("evm", JSON.string(Hex.encode(r.evm)))) }
                files.append(JSON.object(pairs + extra))
            }
            for f in walk.failures {
                files.append(JSON.object(JSON.pathPairs(f.path) + [("outcome", JSON.string("failed")),
                                                                    ("error", JSON.string("walk")), ("message", JSON.string(f.reason))]))
            }
            let skipped = walk.skipped.map { JSON.object(JSON.pathPairs($0.path) + [("reason", JSON.string($0.reason.rawValue))]) }
            Console.out(JSON.object([
                ("summary", summary.json(walk: walk)),
                ("interrupted", interrupted ? "true" : "false"),
                ("manifest", manifestNote.map(JSON.string) ?? "null"),
                ("files", JSON.array(files)),
                ("skipped_special", JSON.array(skipped)),
            ]))
            return
        }
        for r in summary.results {
            if case .failed(let p) = r.outcome { Console.err("FAILED \(r.file.paths[0]): \(p)") }
        }
        for f in walk.failures { Console.err("FAILED \(f.path): \(f.reason)") }
        for s in walk.skipped { Console.err("skipped \(s.path): \(s.reason.rawValue)") }
        if let manifestNote { Console.err(manifestNote) }
        if interrupted {
            Console.err("interrupted: every file is either untouched or completely signed; run the same command again to finish")
        }
        Console.out(summary.line(dryRun: dryRun, walk: walk))
    }
}

/// Totals of a signing run.
struct SignSummary {
    var results: [SignedFile]
    var signed = 0, alreadySigned = 0, failed = 0, notSelected = 0, otherKey = 0
    var bytes: Int64 = 0
    var seconds: Double

    init(results: [SignedFile], walk: WalkResult, seconds: Double) {
        self.results = results
        self.seconds = seconds
        for r in results {
            bytes += r.bytesRead
            switch r.outcome {
            case .signed: signed += 1
            case .alreadySigned: alreadySigned += 1
            case .notSelected: notSelected += 1
            case .otherKey: otherKey += 1
            case .failed: failed += 1
            }
        }
    }

    /// Files signed per second (an incremental run's skipped files do not count: they are only
    /// checked), files signed or checked per second, and MB hashed per second.
    var rate: (files: Double, checked: Double, mbps: Double) {
        let s = max(seconds, 1e-6)
        return (Double(signed) / s, Double(signed + alreadySigned) / s, Double(bytes) / s / 1e6)
    }

    func line(dryRun: Bool, walk: WalkResult) -> String {
        let r = rate
        let checked = alreadySigned > 0 ? ", \(Int(r.checked)) files/s checked" : ""
        return "\(dryRun ? "would sign" : "signed") \(signed) files, \(bytes) bytes in \(fixed(seconds, 2)) s "
            + "(\(Int(r.files)) files/s, \(Int(r.mbps)) MB/s\(checked)); skipped \(alreadySigned) already signed, "
            + (otherKey > 0 ? "\(otherKey) not signed by the old key, " : "")
            + "\(walk.skipped.count) special; failed \(failed + walk.failures.count)"
    }

    func json(walk: WalkResult) -> String {
        let r = rate
        return JSON.object([
            ("signed", String(signed)), ("already_signed", String(alreadySigned)),
            ("failed", String(failed + walk.failures.count)), ("skipped_special", String(walk.skipped.count)),
            ("not_selected", String(notSelected)), ("not_by_old_key", String(otherKey)), ("excluded", String(walk.excluded)), ("symlinks", String(walk.symlinks)),
            ("bytes", String(bytes)), ("seconds", String(seconds)),
            ("files_per_second", String(Int(r.files))), ("files_checked_per_second", String(Int(r.checked))),
            ("mb_per_second", String(Int(r.mbps))),
        ])
    }
}
