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

    // Filesystems that hold programs: disks, images, overlays, network.
    public static let ext4 = IMAFilesystem(name: "ext4", magic: 0xef53)
    public static let xfs = IMAFilesystem(name: "xfs", magic: 0x5846_5342)
    public static let btrfs = IMAFilesystem(name: "btrfs", magic: 0x9123_683e)
    public static let vfat = IMAFilesystem(name: "vfat", magic: 0x4d44)
    public static let squashfs = IMAFilesystem(name: "squashfs", magic: 0x7371_7368)
    public static let erofs = IMAFilesystem(name: "erofs", magic: 0xe0f5_e1e2)
    public static let f2fs = IMAFilesystem(name: "f2fs", magic: 0xf2f5_2010)
    public static let overlay = IMAFilesystem(name: "overlay", magic: 0x794c_7630)
    public static let nfs = IMAFilesystem(name: "nfs", magic: 0x6969)
    public static let fuse = IMAFilesystem(name: "fuse", magic: 0x6573_5546)
    public static let iso9660 = IMAFilesystem(name: "iso9660", magic: 0x9660)
    public static let ntfs3 = IMAFilesystem(name: "ntfs3", magic: 0x5346_544e)
    public static let exfat = IMAFilesystem(name: "exfat", magic: 0x2011_bab0)

    /// Filesystems where programs live or can be put: a `dont_appraise` for one
    /// of them lets code run unsigned. ext2 and ext3 share ext4's magic.
    public static let holdingPrograms: [IMAFilesystem] = [
        ext4, xfs, btrfs, vfat, squashfs, erofs, f2fs, overlay, nfs, fuse, iso9660, ntfs3, exfat, tmpfs, ramfs,
    ]

    /// The filesystem a `fsname=` names (ext2 and ext3 are ext4's magic).
    public static func known(name: String) -> IMAFilesystem? {
        if name == "ext2" || name == "ext3" { return IMAFilesystem(name: name, magic: ext4.magic) }
        return (pseudo + holdingPrograms).first { $0.name == name }
    }

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
        (pseudo + holdingPrograms).first { $0.magic == magic }
    }
}
