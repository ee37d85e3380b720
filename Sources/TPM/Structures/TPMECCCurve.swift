/// A TPM_ECC_CURVE (TPM 2.0 Part 2, table 10).
public struct TPMECCCurve: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let nistP192 = TPMECCCurve(rawValue: 0x0001)
    public static let nistP224 = TPMECCCurve(rawValue: 0x0002)
    public static let nistP256 = TPMECCCurve(rawValue: 0x0003)
    public static let nistP384 = TPMECCCurve(rawValue: 0x0004)
    public static let nistP521 = TPMECCCurve(rawValue: 0x0005)
    public static let bnP256 = TPMECCCurve(rawValue: 0x0010)
    public static let bnP638 = TPMECCCurve(rawValue: 0x0011)
    public static let sm2P256 = TPMECCCurve(rawValue: 0x0020)

    public var description: String {
        switch self {
        case .nistP192: return "NIST P-192"
        case .nistP224: return "NIST P-224"
        case .nistP256: return "NIST P-256"
        case .nistP384: return "NIST P-384"
        case .nistP521: return "NIST P-521"
        case .bnP256: return "BN P-256"
        case .bnP638: return "BN P-638"
        case .sm2P256: return "SM2 P-256"
        default: return "curve 0x\(hex(rawValue, width: 4))"
        }
    }
}
