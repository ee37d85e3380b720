/// A filesystem identified by its superblock magic (statfs f_type), as
/// `fsmagic=` names it.
///
/// Values from include/uapi/linux/magic.h, except configfs (fs/configfs/mount.c,
/// CONFIGFS_MAGIC, not exported to userspace).
public struct IMAFilesystem: Hashable, Sendable {
    /// The filesystem type name, as in /proc/filesystems.
    public let name: String
    public let magic: UInt64

    /// A filesystem called `name` whose superblock magic is `magic`.
    public init(name: String, magic: UInt64) {
        self.name = name
        self.magic = magic
    }

    // Kernel pseudo filesystems, named as in /proc/filesystems.
    public static let proc = IMAFilesystem(name: "proc", magic: 0x9fa0)
    public static let sysfs = IMAFilesystem(name: "sysfs", magic: 0x6265_6572)
    public static let securityfs = IMAFilesystem(name: "securityfs", magic: 0x7363_6673)
    public static let debugfs = IMAFilesystem(name: "debugfs", magic: 0x6462_6720)
    public static let tracefs = IMAFilesystem(name: "tracefs", magic: 0x7472_6163)
    public static let devpts = IMAFilesystem(name: "devpts", magic: 0x1cd1)
    public static let cgroup = IMAFilesystem(name: "cgroup", magic: 0x27e0eb)
    public static let cgroup2 = IMAFilesystem(name: "cgroup2", magic: 0x6367_7270)
    public static let selinuxfs = IMAFilesystem(name: "selinuxfs", magic: 0xf97c_ff8c)
    public static let smackfs = IMAFilesystem(name: "smackfs", magic: 0x4341_5d53)
    public static let binfmtMisc = IMAFilesystem(name: "binfmt_misc", magic: 0x4249_4e4d)
    public static let efivarfs = IMAFilesystem(name: "efivarfs", magic: 0xde5e_81e4)
    public static let bpf = IMAFilesystem(name: "bpf", magic: 0xcafe_4a11)
    public static let pstore = IMAFilesystem(name: "pstore", magic: 0x6165_676c)
    public static let configfs = IMAFilesystem(name: "configfs", magic: 0x6265_6570)
    public static let nsfs = IMAFilesystem(name: "nsfs", magic: 0x6e73_6673)
    /// Also backs memfd_create() files, so excluding it lets fileless code run.
    public static let tmpfs = IMAFilesystem(name: "tmpfs", magic: 0x0102_1994)
    public static let ramfs = IMAFilesystem(name: "ramfs", magic: 0x8584_58f6)

    /// Kernel-generated pseudo filesystems with no files worth appraising or
    /// measuring. Deliberately without tmpfs and ramfs: users can write and
    /// run files there.
    public static let pseudo: [IMAFilesystem] = [
        proc, sysfs, securityfs, debugfs, tracefs, devpts, cgroup, cgroup2,
        selinuxfs, smackfs, binfmtMisc, efivarfs, bpf, pstore, configfs, nsfs,
    ]

    /// Writable in-memory filesystems where an attacker can drop and run code.
    public static let volatile: [IMAFilesystem] = [tmpfs, ramfs]

    /// The known filesystem with this magic, if any.
    public static func known(magic: UInt64) -> IMAFilesystem? {
        (pseudo + volatile).first { $0.magic == magic }
    }
}
