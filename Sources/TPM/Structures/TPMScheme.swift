/// A signing, encryption or key-derivation scheme with its hash (TPMT_RSA_SCHEME,
/// TPMT_ECC_SCHEME, TPMT_KDF_SCHEME): `.null` means "chosen at use".
public struct TPMScheme: Hashable, Sendable, CustomStringConvertible {
    public let scheme: TPMAlgorithm
    /// The scheme's hash; nil for null and RSAES.
    public let hash: TPMAlgorithm?
    /// ECDAA's commit count; nil otherwise.
    public let count: UInt16?

    public init(_ scheme: TPMAlgorithm, hash: TPMAlgorithm? = nil, count: UInt16? = nil) {
        self.scheme = scheme
        self.hash = hash
        self.count = count
    }

    public static let null = TPMScheme(.null)

    public var description: String { hash.map { "\(scheme)-\($0)" } ?? "\(scheme)" }

    enum Kind { case rsa, ecc, kdf }

    static func read(_ r: inout TPMReader, field: String, kind: Kind) throws(TPMStructureError) -> Self {
        let at = r.offset
        let scheme = try r.algorithm("\(field).scheme")
        let withHash: Set<TPMAlgorithm>
        let withoutHash: Set<TPMAlgorithm>
        let expected: String
        switch kind {
        case .rsa:
            withHash = [.rsassa, .rsapss, .oaep]; withoutHash = [.null, .rsaes]
            expected = "null, rsassa, rsapss, oaep or rsaes"
        case .ecc:
            withHash = [.ecdsa, .ecdh, .sm2, .ecschnorr, .ecmqv, .ecdaa]; withoutHash = [.null]
            expected = "null, ecdsa, ecdh, ecdaa, sm2, ecschnorr or ecmqv"
        case .kdf:
            withHash = [.mgf1, .kdf1SP800_56A, .kdf2, .kdf1SP800_108]; withoutHash = [.null]
            expected = "null, mgf1, kdf1_sp800_56a, kdf2 or kdf1_sp800_108"
        }
        if withoutHash.contains(scheme) { return TPMScheme(scheme) }
        guard withHash.contains(scheme) else {
            throw .unsupportedAlgorithm("\(field).scheme", offset: at, found: scheme.rawValue, expected: expected)
        }
        let hashAt = r.offset
        let hash = try r.algorithm("\(field).details.hashAlg")
        guard hash.isHash else {
            throw .unsupportedAlgorithm("\(field).details.hashAlg", offset: hashAt, found: hash.rawValue, expected: "a hash algorithm")
        }
        let count = scheme == .ecdaa ? try r.u16("\(field).details.count") : nil
        return TPMScheme(scheme, hash: hash, count: count)
    }

    func write(_ w: inout TPMWriter) {
        w.algorithm(scheme)
        if let hash { w.algorithm(hash) }
        if let count { w.u16(count) }
    }
}
