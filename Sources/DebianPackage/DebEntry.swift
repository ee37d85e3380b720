/// One entry of a package's data archive, at the path dpkg installs it.
public struct DebEntry: Sendable, Equatable {
    public var kind: TarEntry.Kind
    /// The installed path ("/usr/bin/hello"; "/" for the root directory).
    public var path: [UInt8]
    /// Hard links: the installed path of the earlier regular file whose content this path shares.
    /// Symbolic links: the target as written. Empty otherwise.
    public var linkTarget: [UInt8]
    /// Content bytes (regular files; 0 otherwise).
    public var size: Int64
    /// Permission bits.
    public var mode: UInt32
    /// Where the entry's header starts in the decompressed data.tar.
    public var tarOffset: Int64

    /// The path as text, for messages.
    public var displayPath: String { printable(path) }
}

/// Receives what a .deb installs, as `DebArchiveReader` streams it: the control fields first, then
/// every data.tar entry (each followed, for regular files, by its content in pieces) in archive order.
public protocol DebContentHandler {
    /// The package's identity, from control.tar (before any data entry).
    mutating func control(_ control: DebControl)
    /// A data entry; for a regular file its content follows through `data`, then `endOfEntry`.
    mutating func entry(_ entry: DebEntry)
    /// The next bytes of the current regular file (a view valid during the call only).
    mutating func data(_ bytes: UnsafeRawBufferPointer)
    /// The current entry is complete.
    mutating func endOfEntry()
}
