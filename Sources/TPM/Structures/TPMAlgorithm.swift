import IMAFormat

/// A TPM_ALG_ID (TPM 2.0 Part 2, table 9): hash, key, scheme, mode and KDF
/// algorithms share one 16-bit numbering. Unknown values are kept, so a
/// parser can say which one it found.
public struct TPMAlgorithm: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let rsa = TPMAlgorithm(rawValue: 0x0001)
    public static let sha1 = TPMAlgorithm(rawValue: 0x0004)
    public static let hmac = TPMAlgorithm(rawValue: 0x0005)
    public static let aes = TPMAlgorithm(rawValue: 0x0006)
    public static let mgf1 = TPMAlgorithm(rawValue: 0x0007)
    public static let keyedHash = TPMAlgorithm(rawValue: 0x0008)
    public static let xor = TPMAlgorithm(rawValue: 0x000A)
    public static let sha256 = TPMAlgorithm(rawValue: 0x000B)
    public static let sha384 = TPMAlgorithm(rawValue: 0x000C)
    public static let sha512 = TPMAlgorithm(rawValue: 0x000D)
    public static let null = TPMAlgorithm(rawValue: 0x0010)
    public static let sm3_256 = TPMAlgorithm(rawValue: 0x0012)
    public static let sm4 = TPMAlgorithm(rawValue: 0x0013)
    public static let rsassa = TPMAlgorithm(rawValue: 0x0014)
    public static let rsaes = TPMAlgorithm(rawValue: 0x0015)
    public static let rsapss = TPMAlgorithm(rawValue: 0x0016)
    public static let oaep = TPMAlgorithm(rawValue: 0x0017)
    public static let ecdsa = TPMAlgorithm(rawValue: 0x0018)
    public static let ecdh = TPMAlgorithm(rawValue: 0x0019)
    public static let ecdaa = TPMAlgorithm(rawValue: 0x001A)
    public static let sm2 = TPMAlgorithm(rawValue: 0x001B)
    public static let ecschnorr = TPMAlgorithm(rawValue: 0x001C)
    public static let ecmqv = TPMAlgorithm(rawValue: 0x001D)
    public static let kdf1SP800_56A = TPMAlgorithm(rawValue: 0x0020)
    public static let kdf2 = TPMAlgorithm(rawValue: 0x0021)
    public static let kdf1SP800_108 = TPMAlgorithm(rawValue: 0x0022)
    public static let ecc = TPMAlgorithm(rawValue: 0x0023)
    public static let symCipher = TPMAlgorithm(rawValue: 0x0025)
    public static let camellia = TPMAlgorithm(rawValue: 0x0026)
    public static let sha3_256 = TPMAlgorithm(rawValue: 0x0027)
    public static let sha3_384 = TPMAlgorithm(rawValue: 0x0028)
    public static let sha3_512 = TPMAlgorithm(rawValue: 0x0029)
    public static let ctr = TPMAlgorithm(rawValue: 0x0040)
    public static let ofb = TPMAlgorithm(rawValue: 0x0041)
    public static let cbc = TPMAlgorithm(rawValue: 0x0042)
    public static let cfb = TPMAlgorithm(rawValue: 0x0043)
    public static let ecb = TPMAlgorithm(rawValue: 0x0044)

    /// The TPM algorithm of a kernel hash algorithm; nil for SHA-224, which TPM 2.0 lacks.
    public init?(_ hash: HashAlgorithm) {
        switch hash {
        case .sha1: self = .sha1
        case .sha256: self = .sha256
        case .sha384: self = .sha384
        case .sha512: self = .sha512
        case .sha224: return nil
        }
    }

    /// The hash algorithm Signet can compute for this ID, or nil.
    public var hashAlgorithm: HashAlgorithm? {
        switch self {
        case .sha1: return .sha1
        case .sha256: return .sha256
        case .sha384: return .sha384
        case .sha512: return .sha512
        default: return nil
        }
    }

    /// Digest size for the hash algorithms TPMs implement (also SM3 and SHA-3), else nil.
    public var digestLength: Int? {
        switch self {
        case .sha1: return 20
        case .sha256, .sm3_256, .sha3_256: return 32
        case .sha384, .sha3_384: return 48
        case .sha512, .sha3_512: return 64
        default: return nil
        }
    }

    /// True for hash algorithms (those with a digest length).
    public var isHash: Bool { digestLength != nil }

    private static let names: [UInt16: String] = [
        0x0001: "rsa", 0x0004: "sha1", 0x0005: "hmac", 0x0006: "aes", 0x0007: "mgf1", 0x0008: "keyedhash",
        0x000A: "xor", 0x000B: "sha256", 0x000C: "sha384", 0x000D: "sha512", 0x0010: "null", 0x0012: "sm3_256",
        0x0013: "sm4", 0x0014: "rsassa", 0x0015: "rsaes", 0x0016: "rsapss", 0x0017: "oaep", 0x0018: "ecdsa",
        0x0019: "ecdh", 0x001A: "ecdaa", 0x001B: "sm2", 0x001C: "ecschnorr", 0x001D: "ecmqv",
        0x0020: "kdf1_sp800_56a", 0x0021: "kdf2", 0x0022: "kdf1_sp800_108", 0x0023: "ecc", 0x0025: "symcipher",
        0x0026: "camellia", 0x0027: "sha3_256", 0x0028: "sha3_384", 0x0029: "sha3_512", 0x0040: "ctr",
        0x0041: "ofb", 0x0042: "cbc", 0x0043: "cfb", 0x0044: "ecb",
    ]

    /// tpm2-tools' name ("sha256", "rsassa"), or "0x…" for an unknown ID.
    public var description: String { Self.names[rawValue] ?? "0x\(hex(rawValue, width: 4))" }

    /// Looks up a name as tpm2-tools spells it ("sha256", "ecc").
    public init?(name: String) {
        guard let raw = Self.names.first(where: { $0.value == name.lowercased() })?.key else { return nil }
        self.init(rawValue: raw)
    }
}
