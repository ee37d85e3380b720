#if canImport(Glibc)
import Glibc
#endif
import SignetCrypto

/// An image's initramfs: looking inside one (the host's lsinitramfs) and
/// rebuilding them with the image's own builder in a chroot.
public enum Initramfs {
    /// What a listing found.
    public enum Listing: Sendable {
        case paths([String])
        /// Why the initramfs could not be listed.
        case unavailable(String)
    }

    /// Lists the files in an initramfs (early cpio + compressed main cpio) with
    /// lsinitramfs from initramfs-tools-core on this machine.
    public static func list(_ hostPath: String) -> Listing {
        guard let tool = Subprocess.find("lsinitramfs") else {
            return .unavailable("lsinitramfs is not installed on this machine (package initramfs-tools-core)")
        }
        do {
            let r = try Subprocess.run([tool, hostPath], environment: Subprocess.hostEnvironment)
            guard r.status == 0 else {
                return .unavailable("lsinitramfs failed (exit \(r.status)): \(lastLines(r.output, 3))")
            }
            return .paths(r.output.split(separator: "\n").map(String.init))
        } catch {
            return .unavailable("\(error)")
        }
    }

    /// Why rebuilding failed; `output` is the builder's own.
    public struct RegenerationError: Error, CustomStringConvertible, Sendable {
        public let command: String
        public let status: Int32?
        public let output: String
        public let reason: String
        public var description: String {
            var text = reason
            if !output.isEmpty { text += "\n--- output of \(command) ---\n" + lastLines(output, 40) }
            return text
        }
    }

    /// Rebuilds every initramfs of the image with its builder, in a chroot with
    /// /proc, /sys and /dev mounted for the run (and unmounted after, also on failure):
    /// initramfs-tools `update-initramfs -u -k all`; dracut `dracut --force IMAGE VERSION`
    /// for each boot/initrd.img-VERSION (explicit names: Debian's, not dracut's default).
    /// Returns the builder's output.
    public static func regenerate(root: ImageRoot, builder: InitramfsBuilder, images: [String]) throws -> String {
        guard let chroot = Subprocess.find("chroot") else {
            throw RegenerationError(command: "chroot", status: nil, output: "", reason: "chroot is not installed on this machine (coreutils)")
        }
        let commands: [[String]]
        switch builder {
        case .initramfsTools:
            commands = [["update-initramfs", "-u", "-k", "all"]]
        case .dracut:
            commands = images.map { image in
                let version = String(image.split(separator: "/").last!.dropFirst("initrd.img-".count))
                return ["dracut", "--force", "/\(image)", version]
            }
        }
        var mounts = ChrootMounts(root: root)
        defer { mounts.unmountAll() }
        try mounts.mountAll()
        var output = ""
        for command in commands {
            let shown = "chroot \(root.path) \(command.joined(separator: " "))"
            let r: Subprocess.Result
            do {
                r = try Subprocess.run([chroot, root.path] + command)
            } catch {
                throw RegenerationError(command: shown, status: nil, output: "", reason: "cannot run \(shown): \(error)")
            }
            output += r.output
            guard r.status == 0 else {
                throw RegenerationError(command: shown, status: r.status, output: r.output,
                                        reason: "rebuilding the image's initramfs failed: \(shown) exited with \(r.status)")
            }
        }
        return output
    }

    static func lastLines(_ text: String, _ count: Int) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: true).suffix(count).joined(separator: "\n")
    }
}

/// proc, sysfs and the host's /dev, mounted into an image for a chroot and
/// unmounted (in reverse order) when done.
struct ChrootMounts {
    let root: ImageRoot
    private var mounted: [String] = []
    private var createdDirectories: [String] = []

    init(root: ImageRoot) { self.root = root }

    mutating func mountAll() throws {
        for (source, target, type, flags) in [("proc", "proc", "proc", UInt(0)), ("sysfs", "sys", "sysfs", UInt(0)),
                                              ("/dev", "dev", "", UInt(MS_BIND))] {
            if root.lstatInfo(target) == nil {
                guard mkdir(root.host(target), 0o755) == 0 else {
                    throw Initramfs.RegenerationError(command: "mkdir", status: nil, output: "",
                                                      reason: "cannot create \(root.host(target)): \(errnoDescription(errno))")
                }
                createdDirectories.append(target)
            }
            guard root.isDirectory(target) else {
                throw Initramfs.RegenerationError(command: "mount", status: nil, output: "",
                                                  reason: "\(root.host(target)) is not a directory: cannot mount \(type.isEmpty ? source : type) there for the chroot")
            }
            let rc = mount(source, root.host(target), type.isEmpty ? nil : type, flags, nil)
            guard rc == 0 else {
                let e = errno
                throw Initramfs.RegenerationError(command: "mount", status: nil, output: "",
                                                  reason: "cannot mount \(source) on \(root.host(target)) for the chroot: \(errnoDescription(e)) (needs root)")
            }
            mounted.append(target)
        }
    }

    mutating func unmountAll() {
        for target in mounted.reversed() where umount2(root.host(target), 0) != 0 {
            _ = umount2(root.host(target), Int32(MNT_DETACH))
        }
        mounted = []
        for dir in createdDirectories.reversed() { rmdir(root.host(dir)) }
        createdDirectories = []
    }
}
