import ArgumentParser
import SignetCLI
import IMAFormat
import Policy
import SignetCrypto
import Provenance
import Signing
#if canImport(Glibc)
import Glibc
#endif

struct PolicyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Generate, lint, dry-run and load IMA policies.",
        subcommands: [Generate.self, Lint.self, Check.self, Load.self])
}

extension PolicyCommand {
    struct Load: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a policy to the kernel (securityfs), one rule per write.",
            discussion: """
                Rules are sent one per write so a rejection names the rule; the kernel then \
                discards the whole update, so a refused policy never stays half-loaded. Load \
                the certificates first (signet keyring load): an appraise policy without its \
                keys refuses every program. Kernels without CONFIG_IMA_WRITE_POLICY take one \
                policy per boot.

                A policy that appraises is only enforced when the kernel enforces appraisal: \
                with ima_appraise=log, fix or off on the kernel command line (/proc/cmdline) \
                and Secure Boot off, every unsigned program still runs. The policy is still \
                written then (its measure rules work, and in log mode the audit log names \
                every file that would be refused), but the command says why it will not be \
                enforced and exits 1. When the command line cannot be read it warns and \
                exits 0. signet posture checks the rest of what enforcement depends on.

                Example: signet policy load /etc/ima/ima-policy
                """)

        @Argument(help: ArgumentHelp("The policy file.", valueName: "file")) var file: String
        @Option(help: ArgumentHelp("The kernel's policy file (default: DIR/sys/kernel/security/ima/policy under --root).", valueName: "path"))
        var securityfs: String?
        @Option(help: ArgumentHelp("Read /proc, /sys, /boot and /etc under DIR instead of / to judge enforcement (as signet posture --root); the policy file is read as given.", valueName: "dir"))
        var root = "/"

        func run() throws {
            let reader = PostureReader(root: root)
            let target = securityfs ?? reader.path(PosturePaths.kernelPolicy)
            let (count, appraises) = try reportingErrors {
                // Validate locally first: a malformed policy never reaches the kernel.
                let text = String(decoding: try FileBytes.read(file, limit: 1 << 20), as: UTF8.self)
                let policy = try readPolicy(file)
                let count = try PolicyLoader(path: target).load(text)
                return (count, policy.rules.contains { $0.action == .appraise })
            }
            // Judged after the write: the same evaluator as signet posture.
            let mode = PostureEvaluator.appraiseMode(reader.read())
            guard appraises else {
                Console.out("loaded \(count) rules from \(file) into \(target) (measurement only: nothing is appraised)")
                return
            }
            switch mode.state {
            case .enforced:
                Console.out("loaded \(count) rules from \(file) into \(target)")
            case .unknown:
                Console.out("loaded \(count) rules from \(file) into \(target)")
                Console.warning("cannot tell whether the kernel enforces them: \(mode.message)")
            case .open:
                Console.error("loaded \(count) rules from \(file) into \(target), but the kernel will not enforce them: \(mode.message) — \(mode.fix)")
                throw Exit.someFailed
            }
        }
    }
}

extension PolicyProfile: ExpressibleByArgument {
    public init?(argument: String) { self.init(rawValue: argument) }
}

/// Reads and parses a policy file; parse errors carry line and column.
func readPolicy(_ path: String) throws -> IMAPolicy {
    let text = String(decoding: try FileBytes.read(path, limit: 1 << 20), as: UTF8.self)
    do {
        return try IMAPolicy(parsing: text)
    } catch {
        throw UsageError("\(path): \(error)")
    }
}

extension PolicyCommand {
    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a policy from the profiles in ima-policy/.",
            discussion: """
                Profiles: exec-signed (appraise exec and mmap(PROT_EXEC) with imasig everywhere, \
                tmpfs included, so fileless exec is refused; also kernel modules, firmware, kexec \
                images and policy updates: boot with module.sig_enforce=1 where modules are \
                loaded with init_module(2), e.g. Debian's kmod and .ko.xz), measure-tcb \
                (measurement for attestation, keys and policy included). exec-signed+modules is \
                a deprecated alias that renders exactly exec-signed. Several --profile options \
                combine. Output is deterministic and commented.

                Examples:
                  signet policy generate --profile exec-signed --profile measure-tcb -o rootfs/etc/ima/ima-policy
                  signet policy generate --profile exec-signed --fsuuid-from disk.img --appraise-algos sha256
                """)

        @Option(name: .customLong("profile"), help: ArgumentHelp("exec-signed or measure-tcb (repeatable; exec-signed+modules: deprecated alias of exec-signed).", valueName: "name"))
        var profiles: [PolicyProfile]
        @Option(name: .customLong("fsuuid"), help: ArgumentHelp("Restrict every rule to this filesystem UUID (repeatable). Leaves tmpfs/memfd unappraised: the linter says so.", valueName: "uuid"))
        var fsuuids: [String] = []
        @Option(help: ArgumentHelp("Restrict to the filesystem of this ext4 image (reads its UUID).", valueName: "image"))
        var fsuuidFrom: String?
        @Option(name: .customLong("exempt-fsmagic"), help: ArgumentHelp("Another filesystem magic to dont_appraise (hex, repeatable).", valueName: "hex"))
        var exemptMagics: [String] = []
        @Option(help: ArgumentHelp("Hash algorithms security.ima may use, comma-separated (appraise_algos=).", valueName: "list"))
        var appraiseAlgos: String?
        @Option(help: ArgumentHelp("Template for measure rules (ima-ng, ima-sig, …).", valueName: "name"))
        var template: String?
        @Option(name: [.customShort("o"), .long], help: ArgumentHelp("Write here instead of stdout.", valueName: "file"))
        var output: String?

        func run() throws {
            try reportingErrors {
                var options = PolicyGeneratorOptions()
                for text in fsuuids {
                    guard let uuid = IMAFilesystemUUID(text) else { throw UsageError("--fsuuid '\(text)' is not a UUID like 8bcbe394-4f13-4144-be8e-5aa9ea2ce2f6") }
                    options.filesystemUUIDs.append(uuid)
                }
                if let fsuuidFrom { options.filesystemUUIDs.append(try FilesystemImage.ext4UUID(of: fsuuidFrom)) }
                for text in exemptMagics {
                    let digits = text.hasPrefix("0x") ? String(text.dropFirst(2)) : text
                    guard let magic = UInt64(digits, radix: 16) else { throw UsageError("--exempt-fsmagic '\(text)' is not a hex number") }
                    options.extraExemptFilesystemMagics.append(magic)
                }
                if let appraiseAlgos {
                    for name in appraiseAlgos.split(separator: ",") {
                        guard let a = HashAlgorithm(name: String(name)) else { throw UsageError("--appraise-algos: unknown hash algorithm '\(name)'") }
                        options.appraiseAlgorithms.insert(a)
                    }
                }
                if let template {
                    guard let t = IMATemplate(rawValue: template) else { throw UsageError("--template: unknown template '\(template)'") }
                    options.measurementTemplate = t
                }
                let policy = try PolicyGenerator.generate(profiles, options: options)
                let text = policy.render()
                if let output {
                    try FileBytes.writeAtomically(Array(text.utf8), to: output, mode: 0o644)
                } else {
                    Console.write(1, text)
                }
            }
        }
    }

    struct Lint: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a policy for syntax errors and security holes.",
            discussion: """
                Syntax errors name line and column. Findings have a severity and a stable id \
                (see ima-policy/README.md). Errors: exec without mmap coverage, any dont_appraise \
                that lets programs or executable mappings run unappraised whatever its condition \
                (LSM subject or object label, fowner/fgroup, uid/euid/gid/egid, fsuuid, a \
                filesystem that holds programs such as ext4, xfs or tmpfs: only kernel pseudo \
                filesystems like proc and sysfs are safe to exempt), kernel code left unappraised \
                (kernel-code-unappraised: MODULE_CHECK, KEXEC_KERNEL_CHECK; FIRMWARE_CHECK and \
                KEXEC_INITRAMFS_CHECK are warnings), rules this kernel version lacks. Warnings: \
                measurement only (the kernel refuses nothing), appraisal restricted to some \
                owners, filesystems or labels, dont_ rules after the rules they should precede, \
                appraisal without imasig, no POLICY_CHECK, …
                Exit code: 2 for an error (or a syntax error), 1 for a warning, 0 otherwise.

                Example: signet policy lint --kernel 6.1 /etc/ima/ima-policy
                """)

        @Argument(help: ArgumentHelp("The policy file.", valueName: "file")) var file: String
        @Option(help: ArgumentHelp("Check support by this kernel version (e.g. 6.1, or `uname -r`).", valueName: "version"))
        var kernel: String?
        @Flag(help: "The kernel enforces module signatures itself (module.sig_enforce=1 or lockdown): a missing MODULE_CHECK appraisal is then info, not an error.")
        var moduleSigEnforced = false
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let (policy, version): (IMAPolicy, KernelVersion?) = try reportingErrors {
                var version: KernelVersion?
                if let kernel {
                    guard let v = KernelVersion(kernel) else { throw UsageError("--kernel '\(kernel)' is not a version like 6.1 or 6.12.5") }
                    version = v
                }
                return (try readPolicy(file), version)
            }
            let findings = PolicyLinter.lint(policy, kernel: version,
                                             context: PolicyLintContext(moduleSignaturesEnforced: moduleSigEnforced ? true : nil))
            if json {
                Console.out(JSON.array(findings.map { f in
                    JSON.object([("id", JSON.string(f.id.rawValue)), ("severity", JSON.string(f.severity.description)),
                                 ("line", f.line.map(String.init) ?? "null"), ("message", JSON.string(f.message)),
                                 ("fix", JSON.string(f.fix))])
                }))
            } else {
                for f in findings { Console.out(f.description) }
                let counts = PolicyFinding.Severity.allCases.reversed().map { s in "\(findings.filter { $0.severity == s }.count) \(s)" }
                Console.out("\(file): \(policy.rules.count) rules; " + counts.joined(separator: ", "))
            }
            let code = PolicyLinter.exitCode(for: findings)
            if code != 0 { throw ExitCode(code) }
        }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Dry run: will an image boot under a policy? Lists every file the kernel would refuse, and what would brick it.",
            discussion: """
                Walks ROOTFS as the kernel would appraise it once the policy is loaded: every \
                file with an exec bit (execve, BPRM_CHECK) and every ELF file (mmap PROT_EXEC, \
                MMAP_CHECK) is matched against the policy's appraise rules (first match wins) \
                and its security.ima checked against the certificates. Lists what would be \
                refused and why (unsigned, bad signature, unknown key, hash only).

                Then what would brick the image, one FAIL line per reason, by stable id:
                  no-key-loader      the image's /etc/ima/ima-policy appraises, but no
                                     Signet boot integration (initramfs-tools hook and
                                     init-bottom script, or the dracut module enabled) and
                                     no initramfs in /boot loads /etc/keys/ima first
                  stale-initramfs    an initramfs older than the integration, or without it
                  appraises-nothing  the policy appraises programs (BPRM_CHECK/MMAP_CHECK
                                     rules) but more than half of the image's executable
                                     files are exempt (dont_appraise) or match no appraise
                                     rule on this filesystem: the rules are named
                  loader-refused     the loader the programs name in PT_INTERP (followed
                                     through symlinks in the image, whatever its name)
                  libc-refused       the libc.so.* programs need (DT_NEEDED)
                  init-refused       /sbin/init's target
                  init-library-refused
                                     a library PID 1 needs (DT_NEEDED, transitively,
                                     searched like ld.so: RUNPATH, /etc/ld.so.conf, lib dirs)
                  systemd-refused    systemd-udevd or systemd-journald
                  no-certificates    none in the image's /etc/keys/ima and no --cert
                  kernel-lacks-key-type
                                     a certificate whose key type a kernel in /boot lacks
                                     (ECDSA without CONFIG_CRYPTO_ECDSA in boot/config-*)
                  kernel-lacks-signatures
                                     a kernel without IMA appraisal or asymmetric keys
                WARNING lines (exit code unchanged): initramfs-unreadable (lsinitramfs from
                initramfs-tools-core looks inside), no-initramfs, integration-not-installed
                (only an initramfs carries the loader: the next rebuild drops it),
                no-kernel-config, trusted-keyring, no-init.
                Exit 0 only when nothing would be refused and no FAIL line was printed, 1
                otherwise, 2 for bad input. A policy without appraise rules for programs
                (measurement only) refuses nothing: the summary says so instead of calling the
                image safe, and the exit code is 0.

                The filesystem the image will be mounted as decides fsname=/fsmagic= rules:
                --fs-type ext4 (default), ext2, ext3, xfs, btrfs, vfat, squashfs, erofs, f2fs,
                overlay, tmpfs, … sets both; --fsmagic sets the magic alone.

                Without --policy the image's own /etc/ima/ima-policy is checked; without --cert \
                the image's /etc/keys/ima/*.der (what its boot integration loads).

                Examples:
                  signet policy check rootfs/
                  signet policy check rootfs/ --policy exec-signed.policy --cert ima.crt.pem
                """)

        @Argument(help: ArgumentHelp("The root filesystem tree.", valueName: "rootfs")) var rootfs: String
        @Option(help: ArgumentHelp("The policy file (default: the image's /etc/ima/ima-policy).", valueName: "file")) var policy: String?
        @Option(name: [.customLong("cert"), .customLong("certs")], help: ArgumentHelp("Certificate the kernel will have in its keyring (repeatable; default: the image's /etc/keys/ima/*.der).", valueName: "file"))
        var certs: [String] = []
        @Option(help: ArgumentHelp("Filesystem type the image will be mounted as (default ext4): sets fsname= and fsmagic=.", valueName: "name"))
        var fsType: String?
        @Option(help: ArgumentHelp("Its magic instead (hex, e.g. 0xef53); fsname= follows when the magic is a known type.", valueName: "hex"))
        var fsmagic: String?
        @Option(help: ArgumentHelp("Its UUID (for fsuuid= rules).", valueName: "uuid")) var fsuuid: String?
        @Option(help: ArgumentHelp("Its UUID, read from an ext4 image.", valueName: "image")) var fsuuidFrom: String?
        @Option(help: "The uid programs run as (for uid= rules).") var uid: UInt32 = 0
        @OptionGroup var output: RunOptions

        func run() throws {
            let root = ImageRoot(rootfs)
            let (dryRun, imageProblems): (PolicyDryRun, [ImageProblem]) = try reportingErrors {
                guard root.isDirectory(".") else {
                    throw UsageError("\(rootfs) is not a directory")
                }
                let imagePolicyPath = root.host(ImageSafety.policyPath)
                let policyPath: String
                if let policy {
                    policyPath = policy
                } else {
                    guard root.exists(ImageSafety.policyPath) else {
                        throw UsageError("\(rootfs) has no /\(ImageSafety.policyPath): give the policy to check with --policy")
                    }
                    policyPath = imagePolicyPath
                }
                let parsed = try readPolicy(policyPath)
                // The policy PID 1 will load at boot: the image's own, when it has one.
                let imagePolicy: IMAPolicy? = root.exists(ImageSafety.policyPath)
                    ? (policyPath == imagePolicyPath ? parsed : try readPolicy(imagePolicyPath)) : nil
                let appraises = ImageSafety.appraises(parsed)

                let imageCertPaths = ImageSafety.imageCertificatePaths(root)
                let given = try certs.flatMap { try Certificate.loadAll(path: $0) }
                let inImage = try imageCertPaths.flatMap { try Certificate.loadAll(path: $0) }
                let trust = TrustStore(certs.isEmpty ? inImage : given)
                var seen = Set<[UInt8]>()
                let loaded = (given + inImage).filter { seen.insert($0.fingerprintSHA256).inserted }

                var problems = [ImageProblem]()
                if let imagePolicy {
                    problems += ImageSafety.keyLoaderProblems(root: root, policyAppraises: ImageSafety.appraises(imagePolicy))
                }
                problems += CertificateSupport.problems(certificates: loaded, kernels: KernelConfig.inImage(root), appraises: appraises)
                if !certs.isEmpty && inImage.isEmpty && appraises && imagePolicy != nil {
                    problems.append(ImageProblem(.noCertificates, .warning,
                        "the image has no certificates in /\(ImageSafety.certificateDirectory): its boot integration loads none, so the --cert keys must reach the kernel's keyring another way"))
                }

                var target = try checkTarget()
                if let fsuuid {
                    guard let u = IMAFilesystemUUID(fsuuid) else { throw UsageError("--fsuuid '\(fsuuid)' is not a UUID") }
                    target.fsuuid = u
                }
                if let fsuuidFrom { target.fsuuid = try FilesystemImage.ext4UUID(of: fsuuidFrom) }
                return (PolicyDryRun(policy: parsed, trust: trust, target: target, jobs: output.jobs), problems)
            }
            try report(dryRun.run(root: FilePath(rootfs)), imageProblems: imageProblems)
        }

        /// The filesystem from --fs-type and --fsmagic: the type's name and magic from
        /// the table (fsname= and fsmagic= rules both match), or a bare magic.
        func checkTarget() throws -> PolicyDryRun.Target {
            var magic: UInt64?
            if let fsmagic {
                let digits = fsmagic.hasPrefix("0x") ? String(fsmagic.dropFirst(2)) : fsmagic
                guard let m = UInt64(digits, radix: 16) else { throw UsageError("--fsmagic '\(fsmagic)' is not hex") }
                magic = m
            }
            if let fsType {
                guard let known = IMAFilesystem.known(name: fsType), !IMAFilesystem.pseudo.contains(known) else {
                    let names = (["ext2", "ext3"] + IMAFilesystem.holdingPrograms.map(\.name)).sorted().joined(separator: ", ")
                    throw UsageError("--fs-type '\(fsType)' is not a filesystem type Signet knows (one of \(names)); give --fsmagic instead")
                }
                if let magic, magic != known.magic {
                    throw UsageError("--fsmagic 0x\(String(magic, radix: 16)) is not the magic of --fs-type \(fsType) (0x\(String(known.magic, radix: 16)))")
                }
                return PolicyDryRun.Target(fsmagic: known.magic, fsname: known.name, uid: uid)
            }
            let m = magic ?? IMAFilesystem.ext4.magic
            return PolicyDryRun.Target(fsmagic: m, fsname: IMAFilesystem.known(magic: m)?.name, uid: uid)
        }

        func report(_ report: PolicyDryRun.Report, imageProblems: [ImageProblem]) throws {
            let refused = report.refused
            let problems = report.problems + imageProblems
            let failures = problems.filter { $0.severity == .failure }
            let pass = refused.isEmpty && failures.isEmpty
            if output.json {
                Console.out(JSON.object([
                    ("verdict", JSON.string(pass ? (report.enforcing ? "pass" : "measurement-only") : "fail")),
                    ("enforcing", report.enforcing ? "true" : "false"),
                    ("not_appraised", String(report.notAppraised)),
                    ("code_files", String(report.codeFiles)), ("appraised", String(report.appraised)),
                    ("refused_files", String(report.refusedFiles)),
                    ("refused", JSON.array(refused.map { f in
                        JSON.object(JSON.pathPairs(f.path) + [("hooks", JSON.array(f.hooks.map { JSON.string($0.name) })),
                                                             ("status", JSON.string(f.status.rawValue)), ("detail", JSON.string(f.detail)),
                                                             ("rule_line", String(f.ruleLine))])
                    })),
                    ("undecided", JSON.array(report.findings.compactMap { f in
                        guard case .undecided(let why) = f.verdict else { return nil }
                        return JSON.object(JSON.pathPairs(f.path) + [("depends_on", JSON.string(why)), ("rule_line", String(f.ruleLine))])
                    })),
                    ("problems", JSON.array(problems.map { p in
                        JSON.object([("id", JSON.string(p.id.rawValue)), ("severity", JSON.string(p.severity == .failure ? "fail" : "warning")),
                                     ("message", JSON.string(p.message))] + (p.path.map { [("path", JSON.string($0))] } ?? []))
                    })),
                ]))
            } else {
                // A file every boot needs is reported once, by its FAIL line.
                let critical = Set(problems.compactMap(\.path))
                for f in refused where !critical.contains(f.path.utf8String ?? "") {
                    Console.out("refused \(f.path) at \(f.hooks.map(\.name).joined(separator: "+")) (policy line \(f.ruleLine)): \(f.status.rawValue): \(f.detail)")
                }
                for f in report.findings {
                    if case .undecided(let why) = f.verdict { Console.out("undecided \(f.path): policy line \(f.ruleLine) depends on \(why)") }
                }
                for p in problems.sorted(by: { $0.severity == .warning && $1.severity == .failure }) { Console.out(p.description) }
                let verdict = !pass ? "FIX BEFORE ENFORCING"
                    : report.enforcing ? "the image will run under this policy"
                    : "measurement only: the kernel will refuse nothing (the policy appraises no program)"
                Console.out("\(report.codeFiles) executable files, \(report.appraised) appraised, \(report.refusedFiles) would be refused, \(failures.count) boot problem(s) — \(verdict)")
            }
            if !pass { throw Exit.someFailed }
        }
    }
}
