import IMAFormat

/// A digest algorithm as an event log names it: a TPM_ALG_ID (16 bits,
/// TCG Algorithm Registry). Open: a Spec ID event may list an algorithm this
/// code has no name for; its digests are kept, its bank is not replayed.
public struct TCGAlgorithm: RawRepresentable, Hashable, Sendable, Comparable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let sha1 = TCGAlgorithm(rawValue: 0x0004)
    public static let sha256 = TCGAlgorithm(rawValue: 0x000B)
    public static let sha384 = TCGAlgorithm(rawValue: 0x000C)
    public static let sha512 = TCGAlgorithm(rawValue: 0x000D)
    public static let sm3_256 = TCGAlgorithm(rawValue: 0x0012)
    public static let sha3_256 = TCGAlgorithm(rawValue: 0x0027)
    public static let sha3_384 = TCGAlgorithm(rawValue: 0x0028)
    public static let sha3_512 = TCGAlgorithm(rawValue: 0x0029)

    /// The known hash algorithms, in TPM_ALG_ID order.
    public static let known: [TCGAlgorithm] = [.sha1, .sha256, .sha384, .sha512, .sm3_256, .sha3_256, .sha3_384, .sha3_512]

    /// The digest size the algorithm defines; nil for an algorithm this code does not know.
    public var digestSize: Int? {
        switch self {
        case .sha1: return 20
        case .sha256, .sm3_256, .sha3_256: return 32
        case .sha384, .sha3_384: return 48
        case .sha512, .sha3_512: return 64
        default: return nil
        }
    }

    /// The name tpm2-tools prints (`sha256`), or `0x0042` for an unknown id.
    public var name: String {
        switch self {
        case .sha1: return "sha1"
        case .sha256: return "sha256"
        case .sha384: return "sha384"
        case .sha512: return "sha512"
        case .sm3_256: return "sm3_256"
        case .sha3_256: return "sha3_256"
        case .sha3_384: return "sha3_384"
        case .sha3_512: return "sha3_512"
        default:
            let hex = String(rawValue, radix: 16)
            return "0x" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
        }
    }

    /// The kernel/OpenSSL algorithm with the same function, for hashing; nil for SM3, SHA-3 and unknown ids.
    public var hashAlgorithm: HashAlgorithm? {
        switch self {
        case .sha1: return .sha1
        case .sha256: return .sha256
        case .sha384: return .sha384
        case .sha512: return .sha512
        default: return nil
        }
    }

    public init(_ algorithm: HashAlgorithm) {
        switch algorithm {
        case .sha1: self = .sha1
        case .sha256: self = .sha256
        case .sha384: self = .sha384
        case .sha512: self = .sha512
        case .sha224: self = TCGAlgorithm(rawValue: 0x0008)  // not a TPM hash; never in a log
        }
    }

    public var description: String { name }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// One digest of an event: the algorithm and its bytes.
public struct TCGDigest: Hashable, Sendable, CustomStringConvertible {
    public var algorithm: TCGAlgorithm
    public var bytes: [UInt8]

    public init(_ algorithm: TCGAlgorithm, _ bytes: [UInt8]) {
        self.algorithm = algorithm
        self.bytes = bytes
    }

    public var description: String { "\(algorithm.name):\(Hex.encode(bytes))" }
}
