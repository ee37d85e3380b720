/// TPMA_OBJECT (TPM 2.0 Part 2, 8.3): what an object may be used for and how
/// it is protected.
public struct TPMObjectAttributes: OptionSet, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// The hierarchy cannot change: the key cannot be duplicated.
    public static let fixedTPM = TPMObjectAttributes(rawValue: 0x0000_0002)
    public static let stClear = TPMObjectAttributes(rawValue: 0x0000_0004)
    /// The parent cannot change.
    public static let fixedParent = TPMObjectAttributes(rawValue: 0x0000_0010)
    /// The TPM generated the sensitive part.
    public static let sensitiveDataOrigin = TPMObjectAttributes(rawValue: 0x0000_0020)
    public static let userWithAuth = TPMObjectAttributes(rawValue: 0x0000_0040)
    public static let adminWithPolicy = TPMObjectAttributes(rawValue: 0x0000_0080)
    public static let noDA = TPMObjectAttributes(rawValue: 0x0000_0400)
    public static let encryptedDuplication = TPMObjectAttributes(rawValue: 0x0000_0800)
    /// The key only signs/decrypts TPM-generated structures (an AK, an EK, a storage key).
    public static let restricted = TPMObjectAttributes(rawValue: 0x0001_0000)
    public static let decrypt = TPMObjectAttributes(rawValue: 0x0002_0000)
    public static let sign = TPMObjectAttributes(rawValue: 0x0004_0000)
    public static let x509sign = TPMObjectAttributes(rawValue: 0x0008_0000)

    /// What an attestation key must have: it signs only TPM-made data and never leaves this TPM.
    public static let attestationKeyRequired: TPMObjectAttributes = [.restricted, .sign, .fixedTPM, .fixedParent]

    private static let names: [(TPMObjectAttributes, String)] = [
        (.fixedTPM, "fixedtpm"), (.stClear, "stclear"), (.fixedParent, "fixedparent"),
        (.sensitiveDataOrigin, "sensitivedataorigin"), (.userWithAuth, "userwithauth"),
        (.adminWithPolicy, "adminwithpolicy"), (.noDA, "noda"), (.encryptedDuplication, "encryptedduplication"),
        (.restricted, "restricted"), (.decrypt, "decrypt"), (.sign, "sign"), (.x509sign, "x509sign"),
    ]

    /// tpm2-tools style: "fixedtpm|fixedparent|…".
    public var description: String {
        var parts = Self.names.filter { contains($0.0) }.map(\.1)
        let known = Self.names.reduce(TPMObjectAttributes()) { $0.union($1.0) }
        let unknown = rawValue & ~known.rawValue
        if unknown != 0 { parts.append("0x\(hex(unknown, width: 8))") }
        return parts.isEmpty ? "none" : parts.joined(separator: "|")
    }
}
