/// An EFI_GUID as stored in firmware structures: 16 bytes, the first three
/// groups little-endian (`8be4df61-93ca-11d2-aa0d-00e098032b8c` is
/// `61 df e4 8b ca 93 d2 11 aa 0d 00 e0 98 03 2b 8c`).
public struct EFIGUID: Hashable, Sendable, CustomStringConvertible {
    /// The 16 bytes as stored.
    public let bytes: [UInt8]

    /// From the stored bytes; nil unless there are exactly 16.
    public init?(bytes: [UInt8]) {
        guard bytes.count == 16 else { return nil }
        self.bytes = bytes
    }

    /// From the registry text form; nil if it is not `8-4-4-4-12` hex digits.
    public init?(_ text: String) {
        let groups = text.split(separator: "-", omittingEmptySubsequences: false)
        guard groups.map(\.count) == [8, 4, 4, 4, 12] else { return nil }
        var raw = [UInt8]()
        for group in groups {
            var i = group.startIndex
            while i < group.endIndex {
                let j = group.index(i, offsetBy: 2)
                guard let b = UInt8(group[i..<j], radix: 16) else { return nil }
                raw.append(b)
                i = j
            }
        }
        // data1 (4), data2 (2), data3 (2) are little-endian in memory.
        bytes = Array(raw[0..<4].reversed()) + Array(raw[4..<6].reversed()) + Array(raw[6..<8].reversed()) + Array(raw[8...])
    }

    public var description: String {
        func hex(_ s: [UInt8]) -> String { s.map { String($0 >> 4, radix: 16) + String($0 & 0xf, radix: 16) }.joined() }
        return hex(bytes[0..<4].reversed()) + "-" + hex(bytes[4..<6].reversed()) + "-" + hex(bytes[6..<8].reversed())
            + "-" + hex(Array(bytes[8..<10])) + "-" + hex(Array(bytes[10..<16]))
    }

    /// EFI_GLOBAL_VARIABLE: SecureBoot, PK, KEK, Boot####, BootOrder.
    public static let globalVariable = EFIGUID("8be4df61-93ca-11d2-aa0d-00e098032b8c")!
    /// EFI_IMAGE_SECURITY_DATABASE_GUID: db, dbx, dbt, dbr.
    public static let imageSecurityDatabase = EFIGUID("d719b2cb-3d3a-4596-a3bc-dad00e67656f")!
    /// Shim's variables: MokList, MokListX, SbatLevel, MokListTrusted.
    public static let shimLock = EFIGUID("605dab50-e046-4300-abb6-3dd810dd8b23")!
    /// EFI_CERT_X509_GUID: a DER certificate per signature.
    public static let certX509 = EFIGUID("a5c059a1-94e4-4aa7-87b5-ab155c2bf072")!
    /// EFI_CERT_SHA256_GUID: a SHA-256 image digest per signature.
    public static let certSHA256 = EFIGUID("c1c41626-504c-4092-aca9-41f936934328")!
}
