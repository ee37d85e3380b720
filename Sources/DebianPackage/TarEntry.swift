/// One entry of a tar archive, after GNU long names, pax extended headers and the ustar prefix
/// have been applied: what an extractor would create.
public struct TarEntry: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// '0' or NUL; content follows.
        case regular
        /// '1': another name for an earlier regular file (`linkName`).
        case hardlink
        /// '2': a symbolic link to `linkName`.
        case symlink
        case characterDevice
        case blockDevice
        /// '5', or a regular entry whose name ends in '/' (as dpkg reads pre-POSIX archives).
        case directory
        case fifo
    }

    public var kind: Kind
    /// The name as the archive gives it ("./usr/bin/hello"), a trailing '/' of a directory removed.
    public var name: [UInt8]
    /// The target of a hard or symbolic link; empty otherwise.
    public var linkName: [UInt8]
    /// Content bytes that follow (regular files only; 0 for every other kind).
    public var size: Int64
    /// Permission bits (mode & 0o7777).
    public var mode: UInt32
    public var uid: UInt64
    public var gid: UInt64
    /// Where the entry's first header (its GNU long name or pax header, if any) starts in the tar stream.
    public var headerOffset: Int64

    /// The name as text, for messages.
    public var displayName: String { printable(name) }
}

/// Receives the entries of a tar archive as `TarParser` reads them: for each entry `entry`, then
/// (regular files) its content in pieces, then `endOfEntry`.
public protocol TarSink {
    mutating func entry(_ entry: TarEntry) throws(DebianPackageError)
    /// The next bytes of the current regular file (a view valid during the call only).
    mutating func data(_ bytes: UnsafeRawBufferPointer) throws(DebianPackageError)
    mutating func endOfEntry() throws(DebianPackageError)
}
