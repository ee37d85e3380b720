/// The public area of a TPM object, TPMT_PUBLIC (TPM 2.0 Part 2, 12.2.4), for
/// RSA and ECC keys: type, name algorithm, attributes, policy, parameters and
/// the public key itself (`unique`). Parses TPMT_PUBLIC and its sized wrapper
/// TPM2B_PUBLIC (what `tpm2_createak -u` and `tpm2_readpublic -o` write), and
/// encodes both, so it also serves as a key template.
public struct TPMPublic: Hashable, Sendable {
    /// TPMU_PUBLIC_PARMS for the two asymmetric types.
    public enum Parameters: Hashable, Sendable {
        case rsa(TPMRSAParameters)
        case ecc(TPMECCParameters)
    }

    /// TPMU_PUBLIC_ID: the public key, or zeros/empty in a template.
    public enum Unique: Hashable, Sendable {
        /// TPM2B_PUBLIC_KEY_RSA: the modulus, big-endian.
        case rsa(modulus: [UInt8])
        /// TPMS_ECC_POINT.
        case ecc(x: [UInt8], y: [UInt8])
    }

    public let nameAlg: TPMAlgorithm
    public let attributes: TPMObjectAttributes
    /// TPM2B_DIGEST authPolicy; empty when the object has no policy.
    public let authPolicy: [UInt8]
    public let parameters: Parameters
    public let unique: Unique
    /// The marshaled TPMT_PUBLIC: the bytes parsed, or the encoding of the fields.
    public let marshaled: [UInt8]

    /// TPM2_MAX_RSA_KEY_BYTES.
    static let maxRSAKeyBytes = 512
    /// TPM2_MAX_ECC_KEY_BYTES.
    static let maxECCKeyBytes = 128
    /// Largest TPM2B_PUBLIC size accepted.
    static let maxPublicSize = 2048

    /// TPMT_PUBLIC.type: `.rsa` or `.ecc`.
    public var type: TPMAlgorithm {
        switch parameters {
        case .rsa: return .rsa
        case .ecc: return .ecc
        }
    }

    /// The key's signing or decryption scheme (`.null` when chosen at use).
    public var scheme: TPMScheme {
        switch parameters {
        case .rsa(let p): return p.scheme
        case .ecc(let p): return p.scheme
        }
    }

    /// Builds a public area or template; `parameters` and `unique` must be of the same type.
    public init(nameAlg: TPMAlgorithm, attributes: TPMObjectAttributes, authPolicy: [UInt8] = [],
                parameters: Parameters, unique: Unique) {
        switch (parameters, unique) {
        case (.rsa, .rsa), (.ecc, .ecc): break
        default: preconditionFailure("TPMPublic: parameters and unique of different key types")
        }
        self.nameAlg = nameAlg
        self.attributes = attributes
        self.authPolicy = authPolicy
        self.parameters = parameters
        self.unique = unique
        var w = TPMWriter()
        Self.write(&w, nameAlg: nameAlg, attributes: attributes, authPolicy: authPolicy, parameters: parameters, unique: unique)
        marshaled = w.bytes
    }

    /// Parses a marshaled TPMT_PUBLIC that fills `bytes` exactly.
    public init(marshaled bytes: [UInt8]) throws(TPMStructureError) {
        var r = TPMReader(bytes)
        self = try Self.read(&r)
        try r.finish("TPMT_PUBLIC")
    }

    /// Parses a marshaled TPM2B_PUBLIC (16-bit size, then TPMT_PUBLIC) that fills `bytes` exactly.
    public init(tpm2bPublic bytes: [UInt8]) throws(TPMStructureError) {
        var r = TPMReader(bytes)
        self = try r.nested("TPM2B_PUBLIC", max: Self.maxPublicSize) { (inner: inout TPMReader) throws(TPMStructureError) in
            try Self.read(&inner)
        }
        try r.finish("TPM2B_PUBLIC")
    }

    /// The marshaled TPM2B_PUBLIC.
    public var tpm2bMarshaled: [UInt8] { TPM2B.encode(marshaled) }

    static func read(_ r: inout TPMReader) throws(TPMStructureError) -> TPMPublic {
        let start = r.offset
        let typeAt = r.offset
        let type = try r.algorithm("TPMT_PUBLIC.type")
        let nameAlgAt = r.offset
        let nameAlg = try r.algorithm("TPMT_PUBLIC.nameAlg")
        guard nameAlg.isHash || nameAlg == .null else {
            throw .unsupportedAlgorithm("TPMT_PUBLIC.nameAlg", offset: nameAlgAt, found: nameAlg.rawValue, expected: "a hash algorithm")
        }
        let attributes = TPMObjectAttributes(rawValue: try r.u32("TPMT_PUBLIC.objectAttributes"))
        let authPolicy = try r.sized("TPMT_PUBLIC.authPolicy", max: TPMSAttest.maxDigestSize)
        let parameters: Parameters
        let unique: Unique
        switch type {
        case .rsa:
            let symmetric = try TPMSymmetricDefinition.read(&r, field: "TPMS_RSA_PARMS.symmetric")
            let scheme = try TPMScheme.read(&r, field: "TPMS_RSA_PARMS.scheme", kind: .rsa)
            let bitsAt = r.offset
            let keyBits = try r.u16("TPMS_RSA_PARMS.keyBits")
            guard keyBits >= 512, keyBits <= 8 * UInt16(maxRSAKeyBytes), keyBits % 8 == 0 else {
                throw .invalidValue("TPMS_RSA_PARMS.keyBits", offset: bitsAt, "\(keyBits) is not an RSA key size")
            }
            let exponent = try r.u32("TPMS_RSA_PARMS.exponent")
            parameters = .rsa(TPMRSAParameters(symmetric: symmetric, scheme: scheme, keyBits: keyBits, exponent: exponent))
            let modulusAt = r.offset
            let modulus = try r.sized("TPMT_PUBLIC.unique.rsa", max: maxRSAKeyBytes)
            guard modulus.isEmpty || modulus.count == Int(keyBits) / 8 else {
                throw .invalidValue("TPMT_PUBLIC.unique.rsa.size", offset: modulusAt,
                                    "modulus of \(modulus.count) byte(s) for a \(keyBits)-bit key")
            }
            unique = .rsa(modulus: modulus)
        case .ecc:
            let symmetric = try TPMSymmetricDefinition.read(&r, field: "TPMS_ECC_PARMS.symmetric")
            let scheme = try TPMScheme.read(&r, field: "TPMS_ECC_PARMS.scheme", kind: .ecc)
            let curve = TPMECCCurve(rawValue: try r.u16("TPMS_ECC_PARMS.curveID"))
            let kdf = try TPMScheme.read(&r, field: "TPMS_ECC_PARMS.kdf", kind: .kdf)
            parameters = .ecc(TPMECCParameters(symmetric: symmetric, scheme: scheme, curve: curve, kdf: kdf))
            let x = try r.sized("TPMS_ECC_POINT.x", max: maxECCKeyBytes)
            let y = try r.sized("TPMS_ECC_POINT.y", max: maxECCKeyBytes)
            unique = .ecc(x: x, y: y)
        default:
            throw .unsupportedAlgorithm("TPMT_PUBLIC.type", offset: typeAt, found: type.rawValue, expected: "rsa or ecc")
        }
        return TPMPublic(nameAlg: nameAlg, attributes: attributes, authPolicy: authPolicy, parameters: parameters,
                         unique: unique, marshaled: r.consumed(from: start))
    }

    /// A parsed public area, keeping the exact bytes read (what its Name is computed over).
    private init(nameAlg: TPMAlgorithm, attributes: TPMObjectAttributes, authPolicy: [UInt8],
                 parameters: Parameters, unique: Unique, marshaled: [UInt8]) {
        self.nameAlg = nameAlg
        self.attributes = attributes
        self.authPolicy = authPolicy
        self.parameters = parameters
        self.unique = unique
        self.marshaled = marshaled
    }

    private static func write(_ w: inout TPMWriter, nameAlg: TPMAlgorithm, attributes: TPMObjectAttributes,
                              authPolicy: [UInt8], parameters: Parameters, unique: Unique) {
        switch parameters {
        case .rsa: w.algorithm(.rsa)
        case .ecc: w.algorithm(.ecc)
        }
        w.algorithm(nameAlg)
        w.u32(attributes.rawValue)
        w.sized(authPolicy)
        switch parameters {
        case .rsa(let p):
            p.symmetric.write(&w)
            p.scheme.write(&w)
            w.u16(p.keyBits)
            w.u32(p.exponent)
        case .ecc(let p):
            p.symmetric.write(&w)
            p.scheme.write(&w)
            w.u16(p.curve.rawValue)
            p.kdf.write(&w)
        }
        switch unique {
        case .rsa(let modulus):
            w.sized(modulus)
        case .ecc(let x, let y):
            w.sized(x)
            w.sized(y)
        }
    }
}
