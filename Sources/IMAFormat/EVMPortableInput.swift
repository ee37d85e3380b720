/// The xattrs EVM protects, in the order the kernel hashes them
/// (`evm_config_default_xattrnames` in security/integrity/evm/evm_main.c,
/// unchanged from 5.x through 6.12). Each is hashed only when the target kernel
/// was built with it (`.enabled = IS_ENABLED(CONFIG_…)`) and the file has it.
public enum EVMProtectedXattr: String, CaseIterable, Sendable {
    case selinux = "security.selinux"
    case smack = "security.SMACK64"
    case smackExec = "security.SMACK64EXEC"
    case smackTransmute = "security.SMACK64TRANSMUTE"
    case smackMmap = "security.SMACK64MMAP"
    case apparmor = "security.apparmor"
    case ima = "security.ima"
    case capability = "security.capability"

    /// The xattr name.
    public var name: String { rawValue }
}

/// Which protected xattrs a target kernel hashes: its build configuration.
public struct EVMTargetKernel: Equatable, Sendable {
    /// The enabled xattrs, always in kernel order.
    public let protected: [EVMProtectedXattr]

    /// A kernel with these LSMs built in. security.ima (CONFIG_IMA_APPRAISE) and
    /// security.capability (always) are included.
    public init(selinux: Bool, smack: Bool, extraSmackXattrs: Bool = false, apparmor: Bool) {
        var set = Set<EVMProtectedXattr>([.ima, .capability])
        if selinux { set.insert(.selinux) }
        if smack { set.insert(.smack) }
        if smack && extraSmackXattrs { set.formUnion([.smackExec, .smackTransmute, .smackMmap]) }
        if apparmor { set.insert(.apparmor) }
        protected = EVMProtectedXattr.allCases.filter(set.contains)
    }

    /// Debian 12's 6.1 and 6.12 kernels: SELinux and AppArmor built in, no Smack
    /// (`CONFIG_SECURITY_SMACK` is not set) → selinux, apparmor, ima, capability.
    public static let debian = EVMTargetKernel(selinux: true, smack: false, apparmor: true)

    /// What `evmctl sign --portable` hashes without `--smack`: selinux, SMACK64,
    /// apparmor, ima, capability.
    public static let evmctlDefault = EVMTargetKernel(selinux: true, smack: true, apparmor: true)
}

/// The layout of the kernel's `struct h_misc` on the target:
/// `{ unsigned long ino; u32 generation; uid_t uid; gid_t gid; umode_t mode; }`,
/// native byte order, zero-filled padding (the kernel memsets it).
public enum EVMMiscLayout: String, CaseIterable, Sendable {
    /// x86_64, arm64, riscv64, ppc64le, s390x: ino is 8 bytes; 24 bytes in all.
    case lp64
    /// i386, armhf: ino is 4 bytes; 20 bytes in all.
    case ilp32

    /// sizeof(struct h_misc).
    public var size: Int { self == .lp64 ? 24 : 20 }
    var inodeSize: Int { self == .lp64 ? 8 : 4 }
}

/// Byte order of the target CPU (h_misc is hashed in native order).
public enum EVMByteOrder: String, Sendable {
    case little, big
}

/// Exactly what the kernel hashes to check a portable EVM signature (type 0x05):
/// the raw values of the protected xattrs the file has, in kernel order, then
/// `struct h_misc` with ino = 0 and generation = 0, and — unlike HMACs and
/// type 0x03 signatures — no filesystem UUID (`evm_calc_hmac_or_hash`,
/// `hmac_add_misc` in security/integrity/evm/evm_crypto.c).
///
/// Build it with the values the file will have *in the image*: uid/gid as the
/// target's init user namespace sees them, the full `i_mode` (file type bits
/// included), the label the target's policy gives it.
public struct EVMPortableInput: Equatable, Sendable {
    /// The kernel's XATTR_SIZE_MAX.
    public static let maximumXattrLength = 65536

    /// (name, value) pairs in kernel order, only those present and enabled.
    public let xattrs: [(name: EVMProtectedXattr, value: [UInt8])]
    public let uid: UInt32
    public let gid: UInt32
    /// The full st_mode (`0o100755` for an executable regular file).
    public let mode: UInt16
    public let layout: EVMMiscLayout
    public let byteOrder: EVMByteOrder

    /// Collects the input from the values a file has (or will have). Values of
    /// xattrs the target does not protect are ignored, as the kernel ignores them.
    /// Throws `EVMError.imaMissing` without security.ima: the kernel returns
    /// -EPERM for such a portable signature.
    public init(values: [EVMProtectedXattr: [UInt8]], uid: UInt32, gid: UInt32, mode: UInt32,
                target: EVMTargetKernel = .debian, layout: EVMMiscLayout = .lp64,
                byteOrder: EVMByteOrder = .little) throws(EVMError) {
        guard let ima = values[.ima], !ima.isEmpty else { throw EVMError.imaMissing() }
        _ = ima
        var list = [(name: EVMProtectedXattr, value: [UInt8])]()
        for name in target.protected {
            guard let value = values[name] else { continue }
            guard value.count <= Self.maximumXattrLength else {
                throw EVMError.valueTooLong(name.name, length: value.count)
            }
            list.append((name, value))
        }
        guard mode <= UInt32(UInt16.max) else {
            throw EVMError.invalidOption("h_misc.mode", "mode 0o\(String(mode, radix: 8)) does not fit umode_t (16 bits)")
        }
        self.xattrs = list
        self.uid = uid
        self.gid = gid
        self.mode = UInt16(mode)
        self.layout = layout
        self.byteOrder = byteOrder
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.xattrs.map(\.name) == rhs.xattrs.map(\.name) && lhs.xattrs.map(\.value) == rhs.xattrs.map(\.value)
            && lhs.uid == rhs.uid && lhs.gid == rhs.gid && lhs.mode == rhs.mode
            && lhs.layout == rhs.layout && lhs.byteOrder == rhs.byteOrder
    }

    /// `struct h_misc` as the target lays it out: ino 0, generation 0, uid, gid,
    /// mode, zero padding.
    public func miscBytes() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: layout.size)
        let base = layout.inodeSize + 4  // after ino and generation (both zero for portable signatures)
        put(uid, 4, at: base, into: &out)
        put(gid, 4, at: base + 4, into: &out)
        put(UInt32(mode), 2, at: base + 8, into: &out)
        return out
    }

    /// The exact bytes fed to the hash, in order.
    public func hashedBytes() -> [UInt8] {
        var out = [UInt8]()
        for (_, value) in xattrs { out += value }
        return out + miscBytes()
    }

    /// The parts in order (each xattr value, then h_misc), for streaming hashes.
    public var parts: [[UInt8]] { xattrs.map(\.value) + [miscBytes()] }

    private func put(_ value: UInt32, _ width: Int, at offset: Int, into out: inout [UInt8]) {
        for i in 0..<width {
            let shift = byteOrder == .little ? 8 * i : 8 * (width - 1 - i)
            out[offset + i] = UInt8(truncatingIfNeeded: value >> UInt32(shift))
        }
    }
}

extension EVMPortableInput {
    /// The value security.selinux holds for `label`: the context string and a
    /// terminating NUL, as SELinux stores it and `evmctl --selinux` hashes it.
    public static func selinuxValue(_ label: String) throws(EVMError) -> [UInt8] {
        let bytes = Array(label.utf8)
        guard !bytes.isEmpty, !bytes.contains(0) else {
            throw EVMError.invalidOption("security.selinux", "an SELinux label is a non-empty context without NUL bytes (like system_u:object_r:bin_t:s0)")
        }
        guard bytes.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false).count >= 3 else {
            throw EVMError.invalidOption("security.selinux", "'\(label)' is not an SELinux context (user:role:type[:level])")
        }
        return bytes + [0]
    }

    /// The label as text: the stored value without its trailing NUL.
    public static func selinuxLabel(_ value: [UInt8]) -> String {
        String(decoding: value.last == 0 ? Array(value.dropLast()) : value, as: UTF8.self)
    }
}
