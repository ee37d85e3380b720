/// How a stream is compressed: what the suffix of a .deb member (`data.tar.xz`) or a file names.
public enum CompressionFormat: String, Sendable, CaseIterable, CustomStringConvertible {
    /// Stored as is (`data.tar`).
    case none
    /// gzip (RFC 1952), one or more members (`.gz`).
    case gzip
    /// xz, one or more streams (`.xz`).
    case xz
    /// Zstandard, one or more frames (`.zst`).
    case zstd
    /// The legacy LZMA_Alone format (`.lzma`), one stream.
    case lzma

    /// The file-name suffix, dot included ("" for `none`).
    public var suffix: String {
        switch self {
        case .none: return ""
        case .gzip: return ".gz"
        case .xz: return ".xz"
        case .zstd: return ".zst"
        case .lzma: return ".lzma"
        }
    }

    /// The format a suffix names ("" → `none`, ".xz" → `xz`); nil for anything else
    /// (".bz2" included: bzip2 is not supported).
    public init?(suffix: some StringProtocol) {
        guard let match = Self.allCases.first(where: { $0.suffix == suffix }) else { return nil }
        self = match
    }

    public var description: String { self == .none ? "uncompressed" : rawValue }
}
