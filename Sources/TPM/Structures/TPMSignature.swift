/// A TPM signature, TPMT_SIGNATURE (TPM 2.0 Part 2, 11.3.4): the scheme, the
/// hash the TPM signed with, and the signature value. Parsing checks the
/// scheme, that the hash is a hash algorithm, and the sizes (an RSA signature
/// of 1-512 bytes, ECDSA r and s of 1-128 bytes each).
public enum TPMSignature: Equatable, Sendable {
    /// RSASSA-PKCS1-v1_5.
    case rsassa(hash: TPMAlgorithm, signature: [UInt8])
    /// RSASSA-PSS.
    case rsapss(hash: TPMAlgorithm, signature: [UInt8])
    /// ECDSA as the two integers r and s, big-endian.
    case ecdsa(hash: TPMAlgorithm, r: [UInt8], s: [UInt8])

    /// TPM2_MAX_RSA_KEY_BYTES.
    static let maxRSASignatureSize = 512
    /// TPM2_MAX_ECC_KEY_BYTES.
    static let maxECCParameterSize = 128

    /// Parses a marshaled TPMT_SIGNATURE that fills `bytes` exactly (what
    /// `tpm2_quote -s` writes in its default "tss" format).
    public init(marshaled bytes: [UInt8]) throws(TPMStructureError) {
        var r = TPMReader(bytes)
        let schemeAt = r.offset
        let scheme = try r.algorithm("TPMT_SIGNATURE.sigAlg")
        let hashAt = r.offset
        switch scheme {
        case .rsassa, .rsapss:
            let hash = try r.algorithm("TPMS_SIGNATURE_RSA.hash")
            try Self.checkHash(hash, field: "TPMS_SIGNATURE_RSA.hash", offset: hashAt)
            let sigAt = r.offset
            let sig = try r.sized("TPMS_SIGNATURE_RSA.sig", max: Self.maxRSASignatureSize)
            guard !sig.isEmpty else { throw .invalidValue("TPMS_SIGNATURE_RSA.sig.size", offset: sigAt, "empty RSA signature") }
            self = scheme == .rsassa ? .rsassa(hash: hash, signature: sig) : .rsapss(hash: hash, signature: sig)
        case .ecdsa:
            let hash = try r.algorithm("TPMS_SIGNATURE_ECC.hash")
            try Self.checkHash(hash, field: "TPMS_SIGNATURE_ECC.hash", offset: hashAt)
            let rAt = r.offset
            let sigR = try r.sized("TPMS_SIGNATURE_ECC.signatureR", max: Self.maxECCParameterSize)
            guard !sigR.isEmpty else { throw .invalidValue("TPMS_SIGNATURE_ECC.signatureR.size", offset: rAt, "empty r") }
            let sAt = r.offset
            let sigS = try r.sized("TPMS_SIGNATURE_ECC.signatureS", max: Self.maxECCParameterSize)
            guard !sigS.isEmpty else { throw .invalidValue("TPMS_SIGNATURE_ECC.signatureS.size", offset: sAt, "empty s") }
            self = .ecdsa(hash: hash, r: sigR, s: sigS)
        default:
            throw .unsupportedAlgorithm("TPMT_SIGNATURE.sigAlg", offset: schemeAt, found: scheme.rawValue,
                                        expected: "rsassa, rsapss or ecdsa")
        }
        try r.finish("TPMT_SIGNATURE")
    }

    private static func checkHash(_ hash: TPMAlgorithm, field: String, offset: Int) throws(TPMStructureError) {
        guard hash.isHash else {
            throw .unsupportedAlgorithm(field, offset: offset, found: hash.rawValue, expected: "a hash algorithm")
        }
    }

    /// TPMT_SIGNATURE.sigAlg: rsassa, rsapss or ecdsa.
    public var scheme: TPMAlgorithm {
        switch self {
        case .rsassa: return .rsassa
        case .rsapss: return .rsapss
        case .ecdsa: return .ecdsa
        }
    }

    /// The hash algorithm the TPM signed the digest of.
    public var hash: TPMAlgorithm {
        switch self {
        case .rsassa(let h, _), .rsapss(let h, _), .ecdsa(let h, _, _): return h
        }
    }

    /// The marshaled TPMT_SIGNATURE.
    public var marshaled: [UInt8] {
        var w = TPMWriter()
        w.algorithm(scheme)
        w.algorithm(hash)
        switch self {
        case .rsassa(_, let sig), .rsapss(_, let sig):
            w.sized(sig)
        case .ecdsa(_, let sigR, let sigS):
            w.sized(sigR)
            w.sized(sigS)
        }
        return w.bytes
    }
}
