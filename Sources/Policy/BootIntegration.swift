#if canImport(Glibc)
import Glibc
#endif
import SignetCrypto

/// The tools that build an image's initramfs, as Debian packages them.
public enum InitramfsBuilder: String, Sendable, CaseIterable {
    case initramfsTools = "initramfs-tools"
    case dracut

    /// The builders installed in an image. dracut first: Debian's dracut replaces initramfs-tools.
    public static func installed(in root: ImageRoot) -> [InitramfsBuilder] {
        var found = [InitramfsBuilder]()
        if root.exists("usr/bin/dracut") || root.exists("usr/sbin/dracut") { found.append(.dracut) }
        if root.exists("usr/sbin/update-initramfs") || root.exists("usr/sbin/mkinitramfs") { found.append(.initramfsTools) }
        return found
    }
}

/// Signet's boot integration in an image: the files that load the certificates
/// from /etc/keys/ima into the kernel keyring before switch_root, and how to
/// tell whether an image has them and whether its initramfs carries them.
public enum BootIntegration {
    /// The initramfs-tools hook (copies the loader and keyctl into the initramfs).
    public static let initramfsHook = "usr/share/initramfs-tools/hooks/signet"
    /// The initramfs-tools boot script (runs the loader before switch_root).
    public static let initramfsScript = "usr/share/initramfs-tools/scripts/init-bottom/signet"
    /// The dracut module directory and its one required file.
    public static let dracutModule = "usr/lib/dracut/modules.d/98signet"
    public static let dracutModuleSetup = "usr/lib/dracut/modules.d/98signet/module-setup.sh"
    /// The shared key loader and the fallback policy loader live here.
    public static let libexecDirectory = "usr/lib/signet"
    /// Where `image prepare` enables the dracut module.
    public static let dracutConfig = "etc/dracut.conf.d/signet.conf"
    public static let dracutConfigText = "# Written by signet image prepare: load the IMA/EVM certificates before switch_root.\nadd_dracutmodules+=\" signet \"\n"
    /// The path the initramfs-tools boot script has inside an initramfs.
    public static let scriptInInitramfs = "scripts/init-bottom/signet"

    /// The files of the integration a source tree (or an image) holds, as paths
    /// relative to its root: the hook and boot script, everything in the dracut
    /// module and in usr/lib/signet.
    public static func files(in root: ImageRoot) -> [String] {
        var files = [String]()
        for f in [initramfsHook, initramfsScript] where root.isRegularFile(f) { files.append(f) }
        for dir in [dracutModule, libexecDirectory] {
            files += regularFiles(under: dir, in: root)
        }
        return files
    }

    private static func regularFiles(under dir: String, in root: ImageRoot) -> [String] {
        guard root.isDirectory(dir) else { return [] }
        return root.list(dir).flatMap { name -> [String] in
            let p = "\(dir)/\(name)"
            if root.isDirectory(p) { return regularFiles(under: p, in: root) }
            return root.isRegularFile(p) ? [p] : []
        }
    }

    /// The files a builder cannot do without.
    public static func requiredFiles(for builder: InitramfsBuilder) -> [String] {
        switch builder {
        case .initramfsTools: return [initramfsHook, initramfsScript]
        case .dracut: return [dracutModuleSetup]
        }
    }

    /// Whether the image's dracut configuration asks for the signet module.
    public static func dracutModuleEnabled(in root: ImageRoot) -> Bool {
        for dir in ["etc/dracut.conf.d", "usr/lib/dracut/dracut.conf.d"] {
            for name in root.list(dir) where name.hasSuffix(".conf") {
                guard let text = root.readText("\(dir)/\(name)") else { continue }
                for line in text.split(separator: "\n") {
                    let l = line.drop { $0 == " " || $0 == "\t" }
                    if l.hasPrefix("#") { continue }
                    if (l.hasPrefix("add_dracutmodules") || l.hasPrefix("dracutmodules")),
                       l.split(whereSeparator: { $0 == " " || $0 == "\"" || $0 == "=" || $0 == "+" }).contains("signet") {
                        return true
                    }
                }
            }
            if root.readText("etc/dracut.conf")?.contains("signet") == true { return true }
        }
        return false
    }

    /// Whether the integration for `builder` is installed and enabled in the image.
    public static func isInstalled(for builder: InitramfsBuilder, in root: ImageRoot) -> Bool {
        guard requiredFiles(for: builder).allSatisfy({ root.isRegularFile($0) }) else { return false }
        return builder == .initramfsTools || dracutModuleEnabled(in: root)
    }

    /// Whether the image's own dpkg database says the signet package installed the
    /// integration (then `image prepare` leaves those files alone).
    public static func installedByPackage(in root: ImageRoot) -> Bool {
        guard let list = root.readText("var/lib/dpkg/info/signet.list") else { return false }
        let lines = Set(list.split(separator: "\n").map(String.init))
        return lines.contains("/" + initramfsHook) || lines.contains("/" + dracutModuleSetup)
    }

    /// The image's initramfs files (`boot/initrd.img-<version>`), sorted.
    public static func initramfsImages(in root: ImageRoot) -> [String] {
        root.list("boot").filter { $0.hasPrefix("initrd.img-") }.map { "boot/\($0)" }
    }

    /// The newest modification time of the integration files the initramfs is built from.
    public static func newestFileTime(in root: ImageRoot) -> Int? {
        files(in: root).compactMap { root.modificationTime($0) }.max()
    }

    /// Whether a listing of an initramfs (lsinitramfs) shows the integration.
    public static func initramfsListingHasIntegration(_ paths: [String], builder: InitramfsBuilder?) -> Bool {
        let normalized = paths.map { p -> String in
            var s = Substring(p)
            while s.hasPrefix("./") || s.hasPrefix("/") { s = s.hasPrefix("./") ? s.dropFirst(2) : s.dropFirst() }
            return String(s)
        }
        let initramfsTools = normalized.contains(scriptInInitramfs)
        // dracut installs the module's hook under its own name; any "signet" file of ours counts.
        let dracut = normalized.contains { p in
            let name = p.split(separator: "/").last.map(String.init) ?? p
            return name.contains("signet") && (p.contains("dracut") || p.hasPrefix("usr/lib/signet/") || p.hasPrefix("lib/signet/"))
        }
        switch builder {
        case .initramfsTools?: return initramfsTools
        case .dracut?: return dracut
        case nil: return initramfsTools || dracut
        }
    }
}

/// Where `image prepare` finds the boot integration files to copy into an image
/// that does not have them from the signet package.
public struct BootFilesSource: Sendable {
    /// The directory whose relative paths mirror the image (`usr/share/initramfs-tools/hooks/signet`, …).
    public var directory: String
    /// How it was found, for messages.
    public var origin: String

    /// The candidates, in order: `--boot-files DIR`, `$SIGNET_DATA_DIR/image-boot`,
    /// `<exe dir>/../share/signet/image-boot`, then a checkout's `dist/signet-root`
    /// found by walking up from the executable's directory.
    public static func candidates(option: String?, dataDirectory: String?, executable: String?) -> [BootFilesSource] {
        var list = [BootFilesSource]()
        if let option { list.append(BootFilesSource(directory: option, origin: "--boot-files")) }
        if let dataDirectory, !dataDirectory.isEmpty {
            list.append(BootFilesSource(directory: "\(dataDirectory)/image-boot", origin: "$SIGNET_DATA_DIR"))
        }
        if let executable {
            var dir = parent(executable)
            list.append(BootFilesSource(directory: "\(parent(dir))/share/signet/image-boot", origin: "the installed data next to \(executable)"))
            while dir != "/" && !dir.isEmpty {
                list.append(BootFilesSource(directory: "\(dir)/dist/signet-root", origin: "the checkout holding \(executable)"))
                dir = parent(dir)
            }
        }
        return list
    }

    /// The first candidate that exists (an explicit `--boot-files` is taken even
    /// when it does not exist, so the error names it). Throws when none does.
    public static func resolve(option: String?, dataDirectory: String?, executable: String?) throws -> BootFilesSource {
        let all = candidates(option: option, dataDirectory: dataDirectory, executable: executable)
        if option != nil, let first = all.first {
            guard isDirectory(first.directory) else {
                throw BootIntegrationError("--boot-files \(first.directory) is not a directory")
            }
            return first
        }
        if let found = all.first(where: { isDirectory($0.directory) }) { return found }
        throw BootIntegrationError("cannot find Signet's boot files (the initramfs hook and dracut module): give --boot-files DIR, set SIGNET_DATA_DIR, or install the signet package (it ships them in /usr/share/signet/image-boot)")
    }

    private static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && st.st_mode & S_IFMT == S_IFDIR
    }

    private static func parent(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}

/// Why the boot integration could not be installed.
public struct BootIntegrationError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
