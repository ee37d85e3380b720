/// A filesystem UUID as an `fsuuid=` condition takes it (the superblock's s_uuid).
public struct IMAFilesystemUUID: Hashable, Sendable, CustomStringConvertible {
    /// The 16 bytes, in text order.
    public let bytes: [UInt8]

    /// Parses the 36-character form `8bcbe394-4f13-4144-be8e-5aa9ea2ce2f6`
    /// (upper or lower case), the only form the kernel's uuid_parse accepts.
    public init?(_ text: String) {
        let chars = Array(text.utf8)
        guard chars.count == 36 else { return nil }
        var hex = [UInt8]()
        for (i, c) in chars.enumerated() {
            if [8, 13, 18, 23].contains(i) {
                guard c == UInt8(ascii: "-") else { return nil }
            } else {
                hex.append(c)
            }
        }
        guard let decoded = Hex.decode(String(decoding: hex, as: UTF8.self)) else { return nil }
        bytes = decoded
    }

    /// Lower-case 8-4-4-4-12 form, as the kernel prints it.
    public var description: String {
        let h = Array(Hex.encode(bytes))
        return [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { String(h[$0]) }.joined(separator: "-")
    }

    static let expected = "a UUID like 8bcbe394-4f13-4144-be8e-5aa9ea2ce2f6"
}
