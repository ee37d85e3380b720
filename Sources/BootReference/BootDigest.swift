import IMAFormat

/// A SHA-256 digest in a boot reference: 32 bytes, written in JSON as 64
/// lowercase hex digits. Decoding refuses anything else, so a reference
/// that exists holds only well-formed digests.
public struct BootDigest: Hashable, Sendable, Codable, Comparable, CustomStringConvertible {
    public let bytes: [UInt8]

    /// nil unless `bytes` has 32 bytes.
    public init?(_ bytes: [UInt8]) {
        guard bytes.count == 32 else { return nil }
        self.bytes = bytes
    }

    /// From 64 hex digits (either case); nil otherwise.
    public init?(hex: String) {
        guard hex.utf8.count == 64, let bytes = Hex.decode(hex.lowercased()) else { return nil }
        self.init(bytes)
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let digest = BootDigest(hex: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                                                    debugDescription: "\"\(text)\" is not a SHA-256 digest (64 hex digits)"))
        }
        self = digest
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(Hex.encode(bytes))
    }

    public var description: String { "sha256:" + Hex.encode(bytes) }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.bytes.lexicographicallyPrecedes(rhs.bytes) }
}
