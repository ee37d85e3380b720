import ArgumentParser
import IMAFormat
import Provenance
import Signing

extension EVMMiscLayout: ExpressibleByArgument {
    public init?(argument: String) {
        switch argument {
        case "64", "lp64": self = .lp64
        case "32", "ilp32": self = .ilp32
        default: return nil
        }
    }
    public static var allValueStrings: [String] { ["64", "32"] }
}

/// Portable EVM signatures (security.evm, type 0x05): whether to write/check
/// them and the metadata the files will have in the image. Shared by `sign`
/// and `verify`, so both compute the same input.
struct EVMOptions: ParsableArguments {
    @Flag(help: "Also sign the metadata: write a portable EVM signature (security.evm, type 0x05) after security.ima, byte-compatible with 'evmctl sign --portable'. With verify: check it.")
    var evm = false

    @Option(name: .customLong("evm-uid"), help: ArgumentHelp("Owner the files will have in the image (default: each file's own).", valueName: "uid"))
    var uid: UInt32?

    @Option(name: .customLong("evm-gid"), help: ArgumentHelp("Group the files will have in the image (default: each file's own).", valueName: "gid"))
    var gid: UInt32?

    @Option(name: .customLong("evm-selinux"), help: ArgumentHelp("The SELinux context the target gives every file (default: each file's own security.selinux; a tree where only some files have one is refused).", valueName: "label"))
    var selinux: String?

    @Option(name: .customLong("evm-caps"), help: ArgumentHelp("A security.capability value (hex, as 'getfattr -e hex' prints it) every file will carry (default: each file's own).", valueName: "hex"))
    var caps: String?

    // Optional so the help prints "64", not the enum's raw value "lp64", as the default.
    @Option(name: .customLong("evm-hmisc"), help: ArgumentHelp("The target's word size for the kernel's struct h_misc: 64 (x86_64, arm64: 24 bytes) or 32 (i386, armhf: 20 bytes). (default: 64)", valueName: "64|32"))
    var layoutOption: EVMMiscLayout?
    var layout: EVMMiscLayout { layoutOption ?? .lp64 }

    @Flag(name: .customLong("evm-smack"), help: "The target kernel has Smack: security.SMACK64 is hashed too (Debian's kernels do not).")
    var smack = false

    /// True when an EVM-only option was given without --evm.
    var anyDetail: Bool { uid != nil || gid != nil || selinux != nil || caps != nil || layoutOption != nil || smack }

    func validate() throws {
        if anyDetail && !evm { throw ValidationError("--evm-uid, --evm-gid, --evm-selinux, --evm-caps, --evm-hmisc and --evm-smack only apply with --evm") }
        if let selinux {
            do { _ = try EVMPortableInput.selinuxValue(selinux) } catch { throw ValidationError("--evm-selinux: \(error.reason)") }
        }
        if let caps {
            let text = caps.hasPrefix("0x") ? String(caps.dropFirst(2)) : caps
            guard let bytes = Hex.decode(text), !bytes.isEmpty else {
                throw ValidationError("--evm-caps: '\(caps)' is not a hex security.capability value (like 0x0100000200200000000000000000000000000000)")
            }
            guard [20, 24].contains(bytes.count) else {
                throw ValidationError("--evm-caps: a security.capability value is 20 bytes (v2) or 24 bytes (v3), not \(bytes.count)")
            }
        }
    }

    /// The options for the Signing module; nil without --evm.
    var options: EVMSigningOptions? {
        guard evm else { return nil }
        var o = EVMSigningOptions()
        o.uid = uid
        o.gid = gid
        o.selinuxLabel = selinux
        if let caps { o.capability = Hex.decode(caps.hasPrefix("0x") ? String(caps.dropFirst(2)) : caps) }
        o.layout = layout
        o.target = EVMTargetKernel(selinux: true, smack: smack, apparmor: true)
        return o
    }
}
