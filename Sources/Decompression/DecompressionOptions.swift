/// Limits a decoder works within, so a hostile stream costs bounded memory.
public struct DecompressionOptions: Sendable {
    /// The most memory liblzma may use for one xz or lzma stream (xz -9 needs 65 MiB).
    public var xzMemoryLimit: UInt64 = 256 << 20
    /// The largest zstd window accepted, as a power of two (27 = 128 MiB, zstd's own default limit).
    public var zstdWindowLogMax: Int32 = 27
    /// Decoder threads for xz (multi-block streams, as `xz -T` and dpkg-deb write them); 1 decodes inline.
    public var threads: Int = 1
    /// Streams smaller than this (when the caller knows the size) are decoded inline whatever
    /// `threads` says: threads pay off only for big members.
    public var threadsMinimumInput: Int64 = 8 << 20
    /// Decompressed bytes allowed in all (a bound on expansion bombs).
    public var maxOutput: Int64 = 1 << 40
    /// Size of the output buffer each call fills.
    public var bufferSize: Int = 256 << 10

    public init() {}
}
