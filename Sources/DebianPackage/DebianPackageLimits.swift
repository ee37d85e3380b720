/// Bounds on what an archive may declare, so a hostile .deb costs bounded memory and time.
public struct DebianPackageLimits: Sendable {
    /// An ar member's size.
    public var maxMemberSize: Int64 = 64 << 30
    /// The decompressed control.tar.
    public var maxControlArchiveSize: Int64 = 64 << 20
    /// The `control` file inside it.
    public var maxControlFileSize: Int = 1 << 20
    /// The decompressed data.tar.
    public var maxDataArchiveSize: Int64 = 256 << 30
    /// One tar entry's content.
    public var maxEntrySize: Int64 = 64 << 30
    /// Tar entries in one archive.
    public var maxEntries: Int = 1_000_000
    /// An entry's name or link target, in bytes (PATH_MAX).
    public var maxPathLength: Int = 4096
    /// A GNU long name or long link ('L'/'K') record.
    public var maxLongNameSize: Int = 64 << 10
    /// A pax extended header ('x'/'g').
    public var maxPaxHeaderSize: Int = 1 << 20

    public init() {}
}
