import SignetCrypto

extension TPMPublic {
    /// The public key in `unique` as an OpenSSL key: RSA (any size the TPM
    /// allows) or ECC NIST P-256/P-384. Throws `.unsupportedAlgorithm` for
    /// other curves and `.invalidValue` for an empty key or a point that is
    /// not on the curve.
    public func publicKey() throws(TPMStructureError) -> PublicKey {
        let uniqueSize: Int
        switch unique {
        case .rsa(let modulus): uniqueSize = 2 + modulus.count
        case .ecc(let x, let y): uniqueSize = 4 + x.count + y.count
        }
        let uniqueAt = marshaled.count - uniqueSize  // unique is the last field of TPMT_PUBLIC
        switch (parameters, unique) {
        case (.rsa(let p), .rsa(let modulus)):
            guard modulus.count == Int(p.keyBits) / 8 else {
                throw .invalidValue("TPMT_PUBLIC.unique.rsa", offset: uniqueAt,
                                    "modulus of \(modulus.count) byte(s) for a \(p.keyBits)-bit key (a template, not a key?)")
            }
            do {
                return try PublicKey.rsa(modulus: modulus, exponent: p.effectiveExponent)
            } catch {
                throw .invalidValue("TPMT_PUBLIC.unique.rsa", offset: uniqueAt, "not a usable RSA key: \(error)")
            }
        case (.ecc(let p), .ecc(let x, let y)):
            let curve: KeyAlgorithm.Curve
            switch p.curve {
            case .nistP256: curve = .p256
            case .nistP384: curve = .p384
            default:
                throw .unsupportedAlgorithm("TPMS_ECC_PARMS.curveID", offset: uniqueAt, found: p.curve.rawValue,
                                            expected: "NIST P-256 or P-384")
            }
            do {
                return try PublicKey.ec(curve: curve, x: x, y: y)
            } catch {
                throw .invalidValue("TPMT_PUBLIC.unique.ecc", offset: uniqueAt, "not a point on \(p.curve): \(error)")
            }
        default:
            preconditionFailure("TPMPublic holds parameters and unique of one type")
        }
    }
}
