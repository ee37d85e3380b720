import IMAFormat

/// Key templates (TPMT_PUBLIC with an empty or zero `unique`) for the keys
/// Signet creates. A primary key is derived from the hierarchy's seed and its
/// template, so the same template always gives the same key on one TPM.
public enum TPMTemplates {
    /// PolicySecret(TPM_RH_ENDORSEMENT): the authPolicy of the TCG default EKs.
    public static let ekAuthPolicy: [UInt8] = Hex.decode("837197674484b3f81a90cc8d46a5d724fd52d76e06520b64f2a1da1b331469aa")!

    /// fixedTPM|fixedParent|sensitiveDataOrigin|adminWithPolicy|restricted|decrypt (0x000300b2).
    public static let ekAttributes: TPMObjectAttributes =
        [.fixedTPM, .fixedParent, .sensitiveDataOrigin, .adminWithPolicy, .restricted, .decrypt]

    /// fixedTPM|fixedParent|sensitiveDataOrigin|userWithAuth|noDA|restricted|decrypt (0x00030472).
    public static let storageAttributes: TPMObjectAttributes =
        [.fixedTPM, .fixedParent, .sensitiveDataOrigin, .userWithAuth, .noDA, .restricted, .decrypt]

    /// fixedTPM|fixedParent|sensitiveDataOrigin|userWithAuth|restricted|sign (0x00050072).
    public static let attestationKeyAttributes: TPMObjectAttributes =
        [.fixedTPM, .fixedParent, .sensitiveDataOrigin, .userWithAuth, .restricted, .sign]

    /// The TCG default EK template for `type`: RSA 2048 (template L-1) or ECC
    /// NIST P-256 (template L-2) of the TCG EK Credential Profile, the keys
    /// EK certificates in NV are issued for.
    public static func endorsementKey(_ type: TPMKeyType) -> TPMPublic {
        switch type {
        case .rsa2048:
            return TPMPublic(nameAlg: .sha256, attributes: ekAttributes, authPolicy: ekAuthPolicy,
                             parameters: .rsa(TPMRSAParameters(symmetric: .aes128CFB, scheme: .null, keyBits: 2048, exponent: 0)),
                             unique: .rsa(modulus: [UInt8](repeating: 0, count: 256)))
        case .eccP256:
            return TPMPublic(nameAlg: .sha256, attributes: ekAttributes, authPolicy: ekAuthPolicy,
                             parameters: .ecc(TPMECCParameters(symmetric: .aes128CFB, scheme: .null, curve: .nistP256, kdf: .null)),
                             unique: .ecc(x: [UInt8](repeating: 0, count: 32), y: [UInt8](repeating: 0, count: 32)))
        }
    }

    /// The storage root key Signet's attestation keys live under: the ECC
    /// NIST P-256 SRK template of the TCG TPM v2.0 Provisioning Guidance
    /// (owner hierarchy, AES-128-CFB, noDA, empty auth). It is re-created
    /// (same key) whenever an AK is loaded, so nothing needs to be persisted
    /// in the TPM.
    public static let storageRootKey = TPMPublic(
        nameAlg: .sha256, attributes: storageAttributes,
        parameters: .ecc(TPMECCParameters(symmetric: .aes128CFB, scheme: .null, curve: .nistP256, kdf: .null)),
        unique: .ecc(x: [UInt8](repeating: 0, count: 32), y: [UInt8](repeating: 0, count: 32)))

    /// An attestation key template: a restricted signing key that never
    /// leaves the TPM, RSA-2048 RSASSA-SHA256 or ECC P-256 ECDSA-SHA256.
    public static func attestationKey(_ type: TPMKeyType) -> TPMPublic {
        switch type {
        case .rsa2048:
            return TPMPublic(nameAlg: .sha256, attributes: attestationKeyAttributes,
                             parameters: .rsa(TPMRSAParameters(symmetric: .null, scheme: TPMScheme(.rsassa, hash: .sha256),
                                                               keyBits: 2048, exponent: 0)),
                             unique: .rsa(modulus: []))
        case .eccP256:
            return TPMPublic(nameAlg: .sha256, attributes: attestationKeyAttributes,
                             parameters: .ecc(TPMECCParameters(symmetric: .null, scheme: TPMScheme(.ecdsa, hash: .sha256),
                                                               curve: .nistP256, kdf: .null)),
                             unique: .ecc(x: [], y: []))
        }
    }
}
