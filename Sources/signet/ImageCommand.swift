#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import SignetCLI
import IMAFormat
import Policy
import SignetCrypto
import Provenance
import Signing

struct Image: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Prepare an image tree for enforcement in one step.",
        subcommands: [Prepare.self])
}

extension Image {
    struct Prepare: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a root filesystem ready to boot under enforcement: policy, certificates, boot integration, initramfs, signatures, manifest.",
            discussion: """
                Steps, in order (before step 2 it refuses, exit 2 and nothing written, an
                image that could not boot):
                 1. check the certificates (--cert and every --trust) against each kernel
                    in ROOTFS/boot/config-*: ECDSA needs CONFIG_CRYPTO_ECDSA, RSA needs
                    CONFIG_CRYPTO_RSA; the image must have initramfs-tools or dracut when
                    the policy appraises (else --no-boot-integration);
                 2. install the certificates (DER) in ROOTFS/etc/keys/ima/;
                 3. install Signet's boot integration, which loads those keys into the
                    kernel keyring in the initramfs, before PID 1 loads the policy: the
                    initramfs-tools hook and init-bottom script, the dracut module 98signet
                    (enabled in etc/dracut.conf.d/signet.conf), usr/lib/signet/. Left alone
                    when the image has them from its own signet package; else copied from
                    --boot-files DIR, $SIGNET_DATA_DIR/image-boot,
                    <exe dir>/../share/signet/image-boot, or a checkout's dist/signet-root;
                 4. rebuild the image's initramfs (boot/initrd.img-*) in a chroot with its
                    own builder (update-initramfs -u -k all, or dracut --force per image),
                    /proc, /sys and /dev mounted for the run; skipped when each is newer
                    than the boot files and carries them. If it fails, steps 2-3 are
                    undone and nothing is signed;
                 5. install the policy at ROOTFS/etc/ima/ima-policy (systemd, PID 1, loads
                    it at boot) and the kernel parameters enforcement depends on
                    (bdev_allow_write_mounted=0 for an appraising policy, module.sig_enforce=1
                    when it appraises MODULE_CHECK) in etc/default/grub.d/signet.cfg (and
                    etc/kernel/cmdline when the image has one; --no-kernel-parameters skips
                    this); sign the whole tree as 'signet sign' does (the new initramfs
                    included), write the manifest.
                Refused in step 1 as well: an image whose boot configuration (etc/default/grub,
                etc/default/grub.d/*.cfg, etc/kernel/cmdline) sets ima_appraise=log|fix|off,
                lsm= without integrity, or a parameter against the ones above.

                Example:
                  signet image prepare --key ima.key.pem --cert ima.crt.pem --policy exec-signed.policy --manifest m.jsonl rootfs/
                  signet policy check rootfs/
                """)


        @Argument(help: ArgumentHelp("The root filesystem tree.", valueName: "rootfs")) var rootfs: String
        @OptionGroup var signing: SigningKeyOptions
        @Option(name: .customLong("trust"), help: ArgumentHelp("More certificates for the image's keyring (repeatable), e.g. a rotation's next key.", valueName: "file"))
        var trusted: [String] = []
        @Option(help: ArgumentHelp("The IMA policy file to install.", valueName: "file")) var policy: String
        @Option(help: ArgumentHelp("Write the provenance manifest here.", valueName: "file")) var manifest: String?
        @Option(help: "Build identifier for the manifest header.") var buildID: String?
        @Option(help: ArgumentHelp("Take the boot integration files from this tree (same relative paths as in the image, e.g. usr/share/initramfs-tools/hooks/signet).", valueName: "dir"))
        var bootFiles: String?
        @Flag(help: "Install no boot integration and regenerate no initramfs: the image's boot loads the keys into the kernel keyring another way, before the policy.")
        var noBootIntegration = false
        @Flag(help: "Write no kernel parameters into the image's boot configuration (the machine's boot sets bdev_allow_write_mounted=0 and module.sig_enforce=1 another way; signet posture checks).")
        var noKernelParameters = false
        @OptionGroup var selection: SelectionOptions
        @OptionGroup var output: RunOptions

        /// What the checks decided, before anything is written.
        private struct Plan {
            var policyBytes: [UInt8]
            var certificates: [Certificate]
            var builders: [InitramfsBuilder]
            /// Copy boot files from here (nil: the image has them from its package, or none wanted).
            var installer: BootFilesInstaller?
            var regenerate: Bool
            /// Kernel parameters to write into the image's boot configuration.
            var kernelParameters: [KernelParameters.Requirement] = []
        }

        func run() throws {
            let pipeline = try signing.makePipeline(jobs: output.jobs, selection: selection.select)
            let root = ImageRoot(rootfs)
            let plan = try reportingErrors { try makePlan(root: root, signingCertificate: pipeline.certificate) }

            var createdCerts = [String]()
            var installation: BootFilesInstaller.Installation?
            // Ctrl-C stops the initramfs builder, not this process: it unmounts and undoes its work first.
            let trap = SignalTrap()
            do {
                try reportingErrors {
                    createdCerts = try install(certificates: plan.certificates, root: root)
                    if let installer = plan.installer {
                        installation = try installer.install(for: plan.builders)
                        note("installed Signet's boot integration from \(installer.source.path): \(installation!.written.isEmpty ? "already up to date" : installation!.written.map { "/" + $0 }.joined(separator: ", "))")
                    }
                    if plan.regenerate, let builder = plan.builders.first {
                        if installation?.written.isEmpty ?? true, Self.initramfsIsCurrent(root: root, builder: builder) {
                            note("the image's initramfs already carries the boot integration: not regenerated")
                        } else {
                            try regenerate(root: root, builder: builder)
                        }
                    }
                }
                if trap.flag.isRaised { throw Exit.interrupted }
            } catch {
                if let installation, let installer = plan.installer { installer.rollback(installation) }
                for path in createdCerts { unlink(path) }
                if !output.json { Console.err("nothing signed; the image was left as it was (the initramfs builder may have rewritten its initramfs)") }
                throw trap.flag.isRaised ? Exit.interrupted : error
            }
            try reportingErrors {
                try makeDirectories(root.host("etc/ima"))
                try FileBytes.writeAtomically(plan.policyBytes, to: root.host(ImageSafety.policyPath), mode: 0o644)
                note("installed /\(ImageSafety.policyPath)")
                try install(kernelParameters: plan.kernelParameters, root: root)
            }
            try SignJob(pipeline: pipeline, selection: selection.selection, output: output,
                        manifest: manifest, buildID: buildID).run(paths: [rootfs])
        }

        /// Every check, nothing written: refuses an image that could not boot.
        private func makePlan(root: ImageRoot, signingCertificate: Certificate) throws -> Plan {
            guard root.isDirectory(".") else { throw UsageError("\(rootfs) is not a directory") }
            let extra = try trusted.flatMap { try Certificate.loadAll(path: $0) }
            // A policy that does not parse would stop the image from booting: refuse it here.
            let parsed = try readPolicy(policy)
            let policyBytes = try FileBytes.read(policy, limit: 1 << 20)
            let appraises = ImageSafety.appraises(parsed)
            let certificates = [signingCertificate] + extra

            // The kernel gets these and the ones the image already has in /etc/keys/ima.
            let existing = try ImageSafety.imageCertificatePaths(root).flatMap { try Certificate.loadAll(path: $0) }
            var seen = Set<[UInt8]>()
            let loaded = (certificates + existing).filter { seen.insert($0.fingerprintSHA256).inserted }
            let problems = CertificateSupport.problems(certificates: loaded, kernels: KernelConfig.inImage(root), appraises: appraises)
            let failures = problems.filter { $0.severity == .failure }
            if !failures.isEmpty {
                throw UsageError("the image's kernel cannot use its certificates; nothing was written:\n" + failures.map { "  " + $0.description }.joined(separator: "\n"))
            }
            for p in problems { Console.warning(p.description) }

            let parameters = noKernelParameters ? [] : KernelParameters.required(for: parsed)
            let conflicts = KernelParameters.conflicts(in: root, requirements: KernelParameters.required(for: parsed))
            if appraises && !conflicts.isEmpty {
                throw UsageError("the image's boot configuration would stop the kernel from enforcing \(policy); nothing was written:\n" + conflicts.map { "  " + $0.description }.joined(separator: "\n"))
            }
            var plan = try makeBootPlan(root: root, parsed: parsed, policyBytes: policyBytes, certificates: certificates, appraises: appraises)
            plan.kernelParameters = parameters
            return plan
        }

        /// The boot integration part of the plan.
        private func makeBootPlan(root: ImageRoot, parsed: IMAPolicy, policyBytes: [UInt8], certificates: [Certificate],
                                  appraises: Bool) throws -> Plan {
            let builders = InitramfsBuilder.installed(in: root)
            if noBootIntegration {
                if appraises {
                    Console.warning("--no-boot-integration: the keys in /\(ImageSafety.certificateDirectory) must be loaded into the kernel keyring (.ima or _ima) before the policy is loaded, or every signed program is refused at boot")
                }
                return Plan(policyBytes: policyBytes, certificates: certificates, builders: builders, installer: nil, regenerate: false)
            }
            guard !builders.isEmpty else {
                if appraises {
                    throw UsageError("\(policy) appraises, but \(rootfs) has neither initramfs-tools nor dracut (no usr/sbin/update-initramfs, usr/sbin/mkinitramfs or dracut): nothing could load the keys before PID 1 loads the policy, and every signed program would be refused at boot. Install initramfs-tools or dracut in the image, or pass --no-boot-integration if its boot loads the keys another way; nothing was written")
                }
                note("no initramfs builder in the image: boot integration not installed (the policy does not appraise)")
                return Plan(policyBytes: policyBytes, certificates: certificates, builders: [], installer: nil, regenerate: false)
            }
            var installer: BootFilesInstaller?
            if BootIntegration.installedByPackage(in: root) {
                for builder in builders where !BootIntegration.requiredFiles(for: builder).allSatisfy({ root.isRegularFile($0) }) {
                    throw UsageError("the image's signet package is installed but its \(builder.rawValue) integration is missing (\(BootIntegration.requiredFiles(for: builder).map { "/" + $0 }.joined(separator: ", "))): reinstall the package in the image; nothing was written")
                }
                note("the image has Signet's boot integration from its signet package")
                if builders.contains(.dracut) && !BootIntegration.dracutModuleEnabled(in: root) {
                    // Enable the packaged module: the installer then writes only the dracut configuration.
                    installer = BootFilesInstaller(source: root, image: root)
                }
            } else {
                let source = try BootFilesSource.resolve(option: bootFiles, dataDirectory: getenv("SIGNET_DATA_DIR").map { String(cString: $0) },
                                                         executable: Self.executablePath())
                let candidate = BootFilesInstaller(source: ImageRoot(source.directory), image: root)
                do {
                    _ = try candidate.plan(for: builders)
                } catch {
                    throw UsageError("\(error) (found through \(source.origin)); nothing was written")
                }
                installer = candidate
            }
            let images = BootIntegration.initramfsImages(in: root)
            if images.isEmpty {
                note("the image has no initramfs (boot/initrd.img-*): none regenerated; build the one the machine boots with from this image")
            }
            return Plan(policyBytes: policyBytes, certificates: certificates, builders: builders, installer: installer, regenerate: !images.isEmpty)
        }

        /// Writes the certificates; returns the paths that did not exist before.
        private func install(certificates: [Certificate], root: ImageRoot) throws -> [String] {
            try makeDirectories(root.host(ImageSafety.certificateDirectory))
            var created = [String]()
            for c in certificates {
                let path = root.host("\(ImageSafety.certificateDirectory)/ima-\(KeyID.hex(c.imaKeyID)).der")
                if root.lstatInfo("\(ImageSafety.certificateDirectory)/ima-\(KeyID.hex(c.imaKeyID)).der") == nil { created.append(path) }
                try FileBytes.writeAtomically(c.der, to: path, mode: 0o644)
            }
            note("installed \(certificates.count) certificate(s) in /\(ImageSafety.certificateDirectory)/")
            return created
        }

        /// Writes the kernel parameters into the GRUB snippet and, when the image has
        /// one, etc/kernel/cmdline. Nothing to write for a policy that appraises nothing.
        private func install(kernelParameters: [KernelParameters.Requirement], root: ImageRoot) throws {
            guard !kernelParameters.isEmpty else { return }
            try makeDirectories(root.host("etc/default/grub.d"))
            try FileBytes.writeAtomically(Array(KernelParameters.grubSnippetText(kernelParameters).utf8),
                                          to: root.host(KernelParameters.grubSnippet), mode: 0o644)
            let list = kernelParameters.map(\.text).joined(separator: " ")
            var written = ["/" + KernelParameters.grubSnippet]
            if root.isRegularFile(KernelParameters.kernelCmdline), let existing = root.readText(KernelParameters.kernelCmdline) {
                if let updated = KernelParameters.updatedKernelCmdline(existing, kernelParameters) {
                    try FileBytes.writeAtomically(Array(updated.utf8), to: root.host(KernelParameters.kernelCmdline), mode: 0o644)
                }
                written.append("/" + KernelParameters.kernelCmdline)
            }
            let grub = root.exists("usr/sbin/grub-mkconfig") || root.exists("usr/sbin/update-grub")
            note("kernel parameters \(list) set in \(written.joined(separator: " and "))"
                 + (grub ? " (update-grub in the image applies them)" : "; the image has no GRUB: whatever boots it must pass them (signet posture on the node checks)"))
        }

        private func regenerate(root: ImageRoot, builder: InitramfsBuilder) throws {
            let images = BootIntegration.initramfsImages(in: root)
            note("regenerating \(images.joined(separator: ", ")) with \(builder.rawValue) in a chroot…")
            _ = try Initramfs.regenerate(root: root, builder: builder, images: images)
            for image in images {
                switch Initramfs.list(root.host(image)) {
                case .paths(let paths):
                    guard BootIntegration.initramfsListingHasIntegration(paths, builder: builder) else {
                        throw UsageError("the regenerated /\(image) does not contain Signet's key loader (\(builder == .dracut ? "the signet dracut module" : BootIntegration.scriptInInitramfs)): check the image's \(builder.rawValue) configuration")
                    }
                case .unavailable(let why):
                    Console.warning("could not look inside /\(image) to confirm it carries the key loader: \(why)")
                }
            }
            note("regenerated \(images.map { "/" + $0 }.joined(separator: ", "))")
        }

        /// Every initramfs of the image is newer than the boot integration files and
        /// (looked into with lsinitramfs) carries it: rebuilding would change nothing.
        static func initramfsIsCurrent(root: ImageRoot, builder: InitramfsBuilder) -> Bool {
            let images = BootIntegration.initramfsImages(in: root)
            guard !images.isEmpty, let newest = BootIntegration.newestFileTime(in: root) else { return false }
            return images.allSatisfy { image in
                guard let t = root.modificationTime(image), t >= newest,
                      case .paths(let paths) = Initramfs.list(root.host(image)) else { return false }
                return BootIntegration.initramfsListingHasIntegration(paths, builder: builder)
            }
        }

        private func note(_ text: String) {
            if !output.json { Console.err(text) }
        }

        /// This executable's path (to find the boot files installed next to it).
        static func executablePath() -> String? {
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
            guard n > 0 else { return nil }
            return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }

        private func makeDirectories(_ path: String) throws {
            var prefix = path.hasPrefix("/") ? "/" : ""
            for part in path.split(separator: "/") {
                prefix += (prefix.isEmpty || prefix == "/" ? "" : "/") + part
                if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
                    throw UsageError("cannot create \(prefix): \(errnoDescription(errno))")
                }
            }
        }
    }
}
