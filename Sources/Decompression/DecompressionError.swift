/// Why a compressed stream could not be decoded: the format, the byte offset in the
/// compressed input where the decoder stopped, and the library's reason.
public struct DecompressionError: Error, Equatable, CustomStringConvertible, Sendable {
    /// What kind of failure; tests compare on this.
    public enum Code: Equatable, Sendable {
        /// The input ended before the stream did.
        case truncated
        /// The bytes are not a valid stream of the format (bad header, bad checksum, bad data).
        case corrupt
        /// The stream uses a feature the decoder does not support (an xz filter, a check type).
        case unsupported
        /// Decoding would need more memory than allowed (an xz dictionary, a zstd window).
        case memoryLimit
        /// The stream expands to more bytes than allowed.
        case outputLimit
        /// Bytes follow the end of the stream that are not another stream.
        case trailingData
        /// The library could not allocate memory.
        case outOfMemory
    }

    public let code: Code
    public let format: CompressionFormat
    /// Compressed bytes consumed when the error was seen (an offset into the compressed input).
    public let offset: Int64
    public let reason: String

    public init(_ code: Code, format: CompressionFormat, offset: Int64, _ reason: String) {
        self.code = code
        self.format = format
        self.offset = offset
        self.reason = reason
    }

    public var description: String { "\(format) stream, compressed byte \(offset): \(reason)" }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }
}
