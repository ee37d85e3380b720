import TPM
import CTSS2

extension TPMContext {
    /// Answers a verifier's credential challenge (TPM2_ActivateCredential):
    /// loads `attestationKey`, re-creates the TCG default EK of
    /// `endorsementKeyType`, authorizes the EK with its policy
    /// (PolicySecret(TPM_RH_ENDORSEMENT), empty endorsement auth) and the AK
    /// with its empty password, and returns the credential. The TPM releases
    /// it only if the challenge was made for this EK and for this AK's Name,
    /// which is how the verifier learns that the AK lives in the EK's TPM.
    /// Everything loaded or started here is flushed, on errors too.
    ///
    /// Throws `.invalidArgument` when the challenge does not unmarshal and
    /// `.commandFailed` when the TPM refuses it (e.g. TPM_RC_INTEGRITY for a
    /// challenge made for another Name or altered on the way).
    public func activateCredential(attestationKey: AttestationKey, endorsementKeyType: TPMKeyType,
                                   challenge: CredentialChallenge) throws(TPMError) -> [UInt8] {
        var credentialBlob = try TSSMarshaling.unmarshal(challenge.credentialBlob, TPM2B_ID_OBJECT(),
                                                         Tss2_MU_TPM2B_ID_OBJECT_Unmarshal, "TPM2B_ID_OBJECT")
        var secret = try TSSMarshaling.unmarshal(challenge.encryptedSecret, TPM2B_ENCRYPTED_SECRET(),
                                                 Tss2_MU_TPM2B_ENCRYPTED_SECRET_Unmarshal, "TPM2B_ENCRYPTED_SECRET")
        return try withAttestationKey(attestationKey) { (ak) throws(TPMError) in
            try withPrimary(ESYS_TR(ESYS_TR_RH_ENDORSEMENT), TPMTemplates.endorsementKey(endorsementKeyType)) {
                (ek, _) throws(TPMError) in
                try withEndorsementPolicySession { (session) throws(TPMError) in
                    var certInfo: UnsafeMutablePointer<TPM2B_DIGEST>?
                    let rc = Esys_ActivateCredential(esys, ak, ek, ESYS_TR(ESYS_TR_PASSWORD), session, ESYS_TR(ESYS_TR_NONE),
                                                     &credentialBlob, &secret, &certInfo)
                    defer { Esys_Free(certInfo) }
                    try check(rc, "Esys_ActivateCredential(\(endorsementKeyType) EK)")
                    return Array(try TSSMarshaling.marshal(certInfo, Tss2_MU_TPM2B_DIGEST_Marshal, "TPM2B_DIGEST").dropFirst(2))
                }
            }
        }
    }

    /// Starts a SHA-256 policy session satisfying the TCG EK authPolicy
    /// (PolicySecret(TPM_RH_ENDORSEMENT) with the empty endorsement auth),
    /// runs `body` with it and flushes it.
    func withEndorsementPolicySession<T>(_ body: (ESYS_TR) throws(TPMError) -> T) throws(TPMError) -> T {
        var symmetric = TPMT_SYM_DEF()
        symmetric.algorithm = TPMI_ALG_SYM(TPM2_ALG_NULL)
        var session = ESYS_TR(ESYS_TR_NONE)
        let rc = Esys_StartAuthSession(esys, ESYS_TR(ESYS_TR_NONE), ESYS_TR(ESYS_TR_NONE), ESYS_TR(ESYS_TR_NONE),
                                       ESYS_TR(ESYS_TR_NONE), ESYS_TR(ESYS_TR_NONE), nil, TPM2_SE(TPM2_SE_POLICY),
                                       &symmetric, TPMI_ALG_HASH(TPM2_ALG_SHA256), &session)
        try check(rc, "Esys_StartAuthSession(policy, sha256)")
        defer { _ = Esys_FlushContext(esys, session) }
        var timeout: UnsafeMutablePointer<TPM2B_TIMEOUT>?
        var ticket: UnsafeMutablePointer<TPMT_TK_AUTH>?
        let prc = Esys_PolicySecret(esys, ESYS_TR(ESYS_TR_RH_ENDORSEMENT), session, ESYS_TR(ESYS_TR_PASSWORD),
                                    ESYS_TR(ESYS_TR_NONE), ESYS_TR(ESYS_TR_NONE), nil, nil, nil, 0, &timeout, &ticket)
        Esys_Free(timeout)
        Esys_Free(ticket)
        try check(prc, "Esys_PolicySecret(TPM_RH_ENDORSEMENT)")
        return try body(session)
    }
}
