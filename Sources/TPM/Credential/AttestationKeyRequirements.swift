/// What a verifier requires of a key before it accepts it as a node's
/// attestation key and issues it a credential challenge: a restricted
/// signing key (it signs only TPM-made structures, so a quote cannot be
/// forged with it) that was generated in the TPM and can never leave it.
public enum AttestationKeyRequirements {
    /// Attributes an AK must have, with their tpm2-tools names.
    static let required: [(TPMObjectAttributes, String)] = [
        (.restricted, "restricted"), (.sign, "sign"), (.fixedTPM, "fixedTPM"),
        (.fixedParent, "fixedParent"), (.sensitiveDataOrigin, "sensitiveDataOrigin"),
    ]
    /// Signing schemes an AK may have.
    static let schemes: Set<TPMAlgorithm> = [.rsassa, .rsapss, .ecdsa]

    /// Throws `CredentialError.invalidAttestationKey` naming the first
    /// attribute that is missing (restricted, sign, fixedTPM, fixedParent,
    /// sensitiveDataOrigin) or wrongly set (decrypt), a scheme other than
    /// RSASSA, RSAPSS or ECDSA, or a nameAlg a Name cannot be computed with.
    public static func check(_ ak: TPMPublic) throws(CredentialError) {
        for (flag, name) in required where !ak.attributes.contains(flag) {
            throw CredentialError(.invalidAttestationKey, field: "TPMT_PUBLIC.objectAttributes.\(name)",
                                  "must be set for an attestation key (attributes \(ak.attributes))")
        }
        if ak.attributes.contains(.decrypt) {
            throw CredentialError(.invalidAttestationKey, field: "TPMT_PUBLIC.objectAttributes.decrypt",
                                  "must be clear for an attestation key (attributes \(ak.attributes))")
        }
        guard schemes.contains(ak.scheme.scheme) else {
            throw CredentialError(.invalidAttestationKey, field: "TPMT_PUBLIC.parameters.scheme",
                                  "\(ak.scheme); an attestation key signs with rsassa, rsapss or ecdsa")
        }
        guard ak.nameAlg.hashAlgorithm != nil else {
            throw CredentialError(.invalidAttestationKey, field: "TPMT_PUBLIC.nameAlg",
                                  "\(ak.nameAlg) is not sha1, sha256, sha384 or sha512")
        }
    }
}
