/// TPMT_SYM_DEF_OBJECT: the symmetric algorithm a storage key or EK protects
/// its children with; `.null` for signing keys.
public struct TPMSymmetricDefinition: Hashable, Sendable {
    public let algorithm: TPMAlgorithm
    /// Key size in bits; 0 when `algorithm` is null.
    public let keyBits: UInt16
    /// Block mode; `.null` when `algorithm` is null.
    public let mode: TPMAlgorithm

    public init(algorithm: TPMAlgorithm, keyBits: UInt16, mode: TPMAlgorithm) {
        self.algorithm = algorithm
        self.keyBits = algorithm == .null ? 0 : keyBits
        self.mode = algorithm == .null ? .null : mode
    }

    public static let null = TPMSymmetricDefinition(algorithm: .null, keyBits: 0, mode: .null)
    /// AES-128 in CFB mode, what TCG templates use for EKs and SRKs.
    public static let aes128CFB = TPMSymmetricDefinition(algorithm: .aes, keyBits: 128, mode: .cfb)

    static func read(_ r: inout TPMReader, field: String) throws(TPMStructureError) -> Self {
        let at = r.offset
        let algorithm = try r.algorithm("\(field).algorithm")
        switch algorithm {
        case .null:
            return .null
        case .aes, .sm4, .camellia:
            let keyBits = try r.u16("\(field).keyBits")
            let mode = try r.algorithm("\(field).mode")
            return TPMSymmetricDefinition(algorithm: algorithm, keyBits: keyBits, mode: mode)
        default:
            throw .unsupportedAlgorithm("\(field).algorithm", offset: at, found: algorithm.rawValue,
                                        expected: "null, aes, sm4 or camellia")
        }
    }

    func write(_ w: inout TPMWriter) {
        w.algorithm(algorithm)
        guard algorithm != .null else { return }
        w.u16(keyBits)
        w.algorithm(mode)
    }
}
