import Decompression

/// What a .deb consisted of, once `DebArchiveReader.finish` has checked it whole.
public struct DebArchiveSummary: Sendable, Equatable {
    public var control: DebControl
    /// "control.tar.xz", "data.tar.zst", …
    public var controlMember: String
    public var dataMember: String
    public var dataCompression: CompressionFormat
    /// Size of the decompressed data.tar.
    public var dataTarSize: Int64
    public var regularFiles = 0
    public var hardlinks = 0
    public var symlinks = 0
    public var directories = 0
    public var others = 0
    /// Sum of the regular files' sizes.
    public var contentBytes: Int64 = 0
}

/// A streaming reader of a Debian binary package (deb(5)): the ar container with `debian-binary`
/// (format 2.x), optional `_…` members, `control.tar[.gz|.xz|.zst]` and
/// `data.tar[.gz|.xz|.zst|.lzma]`; control.tar is read for the package's identity, data.tar is
/// decompressed and parsed as a stream and every entry handed to `handler` with its installed path.
///
/// Pure: no I/O, no unpacking, no privileges. Feed the .deb's bytes in any chunking with `consume`
/// and call `finish`. It checks what dpkg checks (member order, one control member, format 2.x) and
/// more: paths must be safe (`DebPath`), unique, hard links must name an earlier regular file, the
/// compressed streams must be complete, and every size is bounded by `limits`. Errors are
/// `DebianPackageError`s naming the member, the offset, the entry and the field.
public struct DebArchiveReader<Handler: DebContentHandler> {
    private var ar: ArParser
    private var router: MemberRouter<Handler>

    /// `totalSize`, when known (the file's size), lets the ar reader refuse a member that claims
    /// more bytes than the file has before reading it. `threads` decodes xz members of several
    /// blocks on that many threads.
    public init(handler: Handler, limits: DebianPackageLimits = .init(), totalSize: Int64? = nil,
                decompression: DecompressionOptions = .init()) {
        ar = ArParser(limits: limits, totalSize: totalSize)
        router = MemberRouter(handler: handler, limits: limits, decompression: decompression)
    }

    /// The handler, with everything it was given so far.
    public var handler: Handler { router.data.handler }

    /// Reads the next bytes of the .deb.
    public mutating func consume(_ chunk: UnsafeRawBufferPointer) throws(DebianPackageError) {
        try ar.consume(chunk, into: &router)
    }

    /// The .deb has ended: checks that it was complete and returns what it held.
    public mutating func finish() throws(DebianPackageError) -> DebArchiveSummary {
        try ar.finish()
        return try router.finish(at: ar.offset)
    }
}
