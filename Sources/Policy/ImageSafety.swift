import IMAFormat
import SignetCrypto
import Provenance
import Signing

/// The checks that decide whether an image boots under its policy, beyond
/// the per-file dry run: does something load the keys before the policy, and
/// would the files everything depends on (loader, libc, PID 1, systemd's
/// udevd and journald) be refused.
public enum ImageSafety {
    /// Where an image keeps its policy and its certificates.
    public static let policyPath = "etc/ima/ima-policy"
    public static let certificateDirectory = "etc/keys/ima"

    /// Whether a policy has any appraise rule.
    public static func appraises(_ policy: IMAPolicy) -> Bool {
        policy.rules.contains { $0.action == .appraise }
    }

    /// The DER certificates in the image's /etc/keys/ima (what the boot integration loads).
    public static func imageCertificatePaths(_ root: ImageRoot) -> [String] {
        root.list(certificateDirectory).filter { $0.hasSuffix(".der") }.map { root.host("\(certificateDirectory)/\($0)") }
    }

    /// Problems with what loads the keys before PID 1 loads an appraising policy:
    /// no boot integration and no initramfs carrying it (`no-key-loader`), an
    /// initramfs older than the integration or without it (`stale-initramfs`),
    /// an initramfs that could not be looked into (`initramfs-unreadable`, a warning).
    /// `list` lists an initramfs (the host's lsinitramfs by default).
    public static func keyLoaderProblems(root: ImageRoot, policyAppraises: Bool,
                                         list: (String) -> Initramfs.Listing = Initramfs.list) -> [ImageProblem] {
        var problems = [ImageProblem]()
        let builders = InitramfsBuilder.installed(in: root)
        let enabled = builders.filter { BootIntegration.isInstalled(for: $0, in: root) }
        let images = BootIntegration.initramfsImages(in: root)
        let newestHookFile = BootIntegration.newestFileTime(in: root)
        var carried = [String]()    // initramfs images that carry the integration
        for image in images {
            switch list(root.host(image)) {
            case .unavailable(let why):
                problems.append(ImageProblem(.initramfsUnreadable, .warning,
                    "could not look inside \(image): \(why); relying on the boot integration files"))
                if !enabled.isEmpty, let hooks = newestHookFile, let t = root.modificationTime(image), t < hooks {
                    problems.append(ImageProblem(.staleInitramfs, .failure,
                        "\(image) is older than Signet's boot integration files: regenerate the initramfs (update-initramfs -u -k all, or dracut --force) or run signet image prepare"))
                }
            case .paths(let paths):
                if BootIntegration.initramfsListingHasIntegration(paths, builder: enabled.first) {
                    carried.append(image)
                    if !enabled.isEmpty, let hooks = newestHookFile, let t = root.modificationTime(image), t < hooks {
                        problems.append(ImageProblem(.staleInitramfs, .failure,
                            "\(image) is older than Signet's boot integration files: regenerate the initramfs (update-initramfs -u -k all, or dracut --force) or run signet image prepare"))
                    }
                } else if !enabled.isEmpty {
                    let missing = enabled.first == .dracut ? "the signet dracut module" : BootIntegration.scriptInInitramfs
                    problems.append(ImageProblem(.staleInitramfs, policyAppraises ? .failure : .warning,
                        "\(image) does not contain \(missing): it was built before the boot integration was installed; regenerate the initramfs (update-initramfs -u -k all, or dracut --force) or run signet image prepare"))
                }
            }
        }
        guard policyAppraises else { return problems }
        if enabled.isEmpty && carried.isEmpty {
            let what = builders.isEmpty
                ? "the image has neither initramfs-tools nor dracut, and no initramfs with Signet's key loader"
                : "no Signet boot integration is installed (\(builders.map(\.rawValue).joined(separator: ", ")) without \(builders.flatMap(BootIntegration.requiredFiles).map { "/" + $0 }.joined(separator: ", "))\(builders.contains(.dracut) ? " enabled in dracut.conf.d" : "")) and no initramfs in /boot carries it"
            problems.append(ImageProblem(.noKeyLoader, .failure,
                "/\(policyPath) appraises, but nothing in the image loads the keys from /\(certificateDirectory) before PID 1 loads the policy: \(what). At boot the kernel would refuse every signed program (\"no _ima keyring\"). Run signet image prepare on the image, or install the signet package in it and regenerate its initramfs"))
        } else if enabled.isEmpty && !builders.isEmpty {
            problems.append(ImageProblem(.integrationNotInstalled, .warning,
                "\(carried.joined(separator: ", ")) carries Signet's key loader, but the image's \(builders.map(\.rawValue).joined(separator: ", ")) is not set up to add it: the next initramfs rebuild (e.g. a kernel update) drops it; run signet image prepare or install the signet package in the image"))
        } else if !enabled.isEmpty && images.isEmpty {
            problems.append(ImageProblem(.noInitramfs, .warning,
                "the boot integration is installed but the image has no initramfs in /boot: the initramfs the machine boots with must be built from this image"))
        }
        return problems
    }

    /// Failures for the files every boot needs, among the files the dry run refused:
    /// the loader (the PT_INTERP of the image's programs, whatever its file name, and
    /// any ld-linux*), libc (the DT_NEEDED libc.so.* of programs, and any libc.so*),
    /// PID 1 (the target of /sbin/init inside the image) and every library it needs
    /// (its DT_NEEDED, transitively), and systemd-udevd/journald.
    /// `programs` maps image paths of executable ELF files to what they need.
    public static func criticalFileProblems(root: ImageRoot, refused: [PolicyDryRun.Finding],
                                            programs: [String: ELFDependencies] = [:]) -> [ImageProblem] {
        var problems = [ImageProblem]()
        var refusedPaths = [String: PolicyDryRun.Finding]()
        for f in refused {
            guard let s = f.path.utf8String else { continue }
            refusedPaths[String(s.drop { $0 == "/" })] = f
        }
        var reported = Set<String>()
        func add(_ id: ImageProblem.ID, _ path: String, _ what: String, _ consequence: String) {
            guard !reported.contains(path), let f = refusedPaths[path] else { return }
            reported.insert(path)
            problems.append(ImageProblem(id, .failure, "\(what) would be refused (\(f.status.rawValue): \(f.detail)): \(consequence)", path: "/" + path))
        }
        func users(_ list: [String]) -> String {
            // Name a program rather than a library that happens to be executable (libc.so.6 is).
            let sorted = list.sorted { ($0.contains(".so") ? 1 : 0, $0) < ($1.contains(".so") ? 1 : 0, $1) }
            return "\(sorted.count) program\(sorted.count == 1 ? "" : "s"), e.g. /\(sorted[0])"
        }
        var resolver = LibraryResolver(root: root)
        // The loader: whatever the programs name in PT_INTERP, followed through symlinks in the image.
        var loaders = [String: [String]]()
        var libcs = [String: [String]]()
        for (program, deps) in programs {
            if let loader = resolver.interpreter(deps) { loaders[loader, default: []].append(program) }
            for name in deps.needed where name.hasPrefix("libc.so") {
                if let lib = resolver.library(name, neededBy: program, deps) { libcs[lib, default: []].append(program) }
            }
        }
        for (loader, list) in loaders.sorted(by: { ($0.value.count, $1.key) > ($1.value.count, $0.key) }) {
            add(.loaderRefused, loader, "the dynamic loader /\(loader)",
                "no dynamically linked program would start (PT_INTERP of \(users(list)))")
        }
        for (lib, list) in libcs.sorted(by: { ($0.value.count, $1.key) > ($1.value.count, $0.key) }) {
            add(.libcRefused, lib, "libc /\(lib)", "no dynamically linked program would start (DT_NEEDED of \(users(list)))")
        }
        // By name too, for loaders and libcs no program in the walk named.
        for path in refusedPaths.keys.sorted() {
            let name = path.split(separator: "/").last.map(String.init) ?? path
            if name.hasPrefix("ld-linux") {
                add(.loaderRefused, path, "the dynamic loader /\(path)", "no dynamically linked program would start")
            } else if name.hasPrefix("libc.so") {
                add(.libcRefused, path, "libc /\(path)", "no dynamically linked program would start")
            }
        }
        if let initTarget = root.resolve("sbin/init"), root.isRegularFile(initTarget) {
            add(.initRefused, initTarget, "PID 1 (/sbin/init -> /\(initTarget))", "the kernel cannot start init and panics")
            if let deps = programs[initTarget] ?? (try? ELFReader.dependencies(path: root.host(initTarget))) {
                if let loader = resolver.interpreter(deps) {
                    add(.loaderRefused, loader, "the dynamic loader /\(loader)",
                        "PID 1 and every dynamically linked program would not start (PT_INTERP of /\(initTarget))")
                }
                for (name, lib, by) in resolver.closure(of: initTarget, deps) {
                    if name.hasPrefix("libc.so") {
                        add(.libcRefused, lib, "libc /\(lib)", "no dynamically linked program would start (DT_NEEDED of /\(by))")
                    } else {
                        add(.initLibraryRefused, lib, "library /\(lib) (DT_NEEDED \(name) of /\(by)), needed by PID 1,",
                            "init cannot start and the kernel panics")
                    }
                }
            }
        } else if root.lstatInfo("sbin/init") != nil {
            problems.append(ImageProblem(.noInit, .warning, "/sbin/init does not lead to a file inside the image: PID 1 not checked"))
        }
        for name in ["systemd-udevd", "systemd-journald"] {
            for dir in ["usr/lib/systemd", "lib/systemd"] {
                guard let target = root.resolve("\(dir)/\(name)") else { continue }
                add(.systemdRefused, target, "/\(target)", "without \(name) the system does not come up")
            }
        }
        return problems
    }
}
