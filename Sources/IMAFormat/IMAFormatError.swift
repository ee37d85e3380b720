/// Why bytes could not be read as an IMA/EVM structure. Carries the byte
/// offset and the field, so a user can find the problem in a hex dump.
public struct IMAFormatError: Error, Equatable, CustomStringConvertible, Sendable {
    /// What kind of failure; tests compare on this.
    public enum Code: Equatable, Sendable {
        case truncated
        case unknownType
        case unsupportedVersion
        case unknownHashAlgorithm
        case lengthMismatch
        case invalidValue
    }

    public let code: Code
    /// Byte offset of the offending field within the structure.
    public let offset: Int
    /// Name of the field, as in the kernel's struct.
    public let field: String
    public let reason: String

    public var description: String { "\(field) at byte \(offset): \(reason)" }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }

    static func truncated(field: String, offset: Int, need: Int, have: Int) -> Self {
        .init(code: .truncated, offset: offset, field: field,
              reason: "truncated: needs \(need) byte(s), only \(have) left")
    }
    static func unknownType(_ type: UInt8) -> Self {
        .init(code: .unknownType, offset: 0, field: "type",
              reason: "unknown xattr type 0x\(hex2(type)) (expected 0x01-0x06)")
    }
    static func unsupportedVersion(_ version: UInt8, offset: Int) -> Self {
        .init(code: .unsupportedVersion, offset: offset, field: "version",
              reason: "signature version \(version) is not supported (expected 2)")
    }
    static func unknownHashAlgorithm(_ value: UInt8, offset: Int) -> Self {
        .init(code: .unknownHashAlgorithm, offset: offset, field: "hash_algo",
              reason: "hash algorithm \(value) is not supported (sha1=2, sha256=4, sha384=5, sha512=6, sha224=7)")
    }
    static func lengthMismatch(field: String, offset: Int, declared: Int, actual: Int) -> Self {
        .init(code: .lengthMismatch, offset: offset, field: field,
              reason: "declares \(declared) byte(s) but \(actual) follow")
    }
}

func hex2(_ byte: UInt8) -> String {
    let digits = Array("0123456789abcdef")
    return String([digits[Int(byte >> 4)], digits[Int(byte & 0xf)]])
}
