import TPM
import CTSS2

extension TPMContext {
    /// Creates an attestation key of `type` (RSA-2048 RSASSA-SHA256 or ECC
    /// P-256 ECDSA-SHA256; fixedTPM|fixedParent|sensitiveDataOrigin|
    /// userWithAuth|restricted|sign, empty auth) under the storage root key
    /// `TPMTemplates.storageRootKey`, and returns its blobs. Nothing stays
    /// loaded in the TPM; save the key and pass it to `quote`.
    ///
    /// Why under the SRK and not the EK: loading a child of the EK needs a
    /// PolicySecret(endorsement) session every time, while the SRK takes
    /// empty password auth; credential activation authorizes the EK and the
    /// AK separately, so the AK's parent does not matter for it.
    public func createAttestationKey(_ type: TPMKeyType) throws(TPMError) -> AttestationKey {
        try withPrimary(ESYS_TR(ESYS_TR_RH_OWNER), TPMTemplates.storageRootKey) { (srk, _) throws(TPMError) in
            var inPublic = try TSSMarshaling.unmarshal(TPMTemplates.attestationKey(type).tpm2bMarshaled, TPM2B_PUBLIC(),
                                                       Tss2_MU_TPM2B_PUBLIC_Unmarshal, "TPM2B_PUBLIC template")
            var inSensitive = TPM2B_SENSITIVE_CREATE()
            var outsideInfo = TPM2B_DATA()
            var creationPCR = TPML_PCR_SELECTION()
            var outPrivate: UnsafeMutablePointer<TPM2B_PRIVATE>?
            var outPublic: UnsafeMutablePointer<TPM2B_PUBLIC>?
            var creationData: UnsafeMutablePointer<TPM2B_CREATION_DATA>?
            var creationHash: UnsafeMutablePointer<TPM2B_DIGEST>?
            var creationTicket: UnsafeMutablePointer<TPMT_TK_CREATION>?
            let rc = Esys_Create(esys, srk, ESYS_TR(ESYS_TR_PASSWORD), ESYS_TR(ESYS_TR_NONE), ESYS_TR(ESYS_TR_NONE),
                                 &inSensitive, &inPublic, &outsideInfo, &creationPCR,
                                 &outPrivate, &outPublic, &creationData, &creationHash, &creationTicket)
            defer {
                Esys_Free(outPrivate); Esys_Free(outPublic); Esys_Free(creationData)
                Esys_Free(creationHash); Esys_Free(creationTicket)
            }
            try check(rc, "Esys_Create(attestation key \(type))")
            let publicBlob = try TSSMarshaling.marshal(outPublic, Tss2_MU_TPM2B_PUBLIC_Marshal, "TPM2B_PUBLIC")
            let privateBlob = try TSSMarshaling.marshal(outPrivate, Tss2_MU_TPM2B_PRIVATE_Marshal, "TPM2B_PRIVATE")
            do {
                return try AttestationKey(publicBlob: publicBlob, privateBlob: privateBlob)
            } catch {
                throw TPMError(.unexpectedResponse, operation: "Esys_Create", "\(error)")
            }
        }
    }

    /// Loads `ak` under the re-created storage root key, runs `body` with its
    /// handle, then flushes the AK and the SRK.
    func withAttestationKey<T>(_ ak: AttestationKey, _ body: (ESYS_TR) throws(TPMError) -> T) throws(TPMError) -> T {
        try withPrimary(ESYS_TR(ESYS_TR_RH_OWNER), TPMTemplates.storageRootKey) { (srk, _) throws(TPMError) in
            var inPrivate = try TSSMarshaling.unmarshal(ak.privateBlob, TPM2B_PRIVATE(), Tss2_MU_TPM2B_PRIVATE_Unmarshal, "TPM2B_PRIVATE")
            var inPublic = try TSSMarshaling.unmarshal(ak.publicBlob, TPM2B_PUBLIC(), Tss2_MU_TPM2B_PUBLIC_Unmarshal, "TPM2B_PUBLIC")
            var handle = ESYS_TR(ESYS_TR_NONE)
            let rc = Esys_Load(esys, srk, ESYS_TR(ESYS_TR_PASSWORD), ESYS_TR(ESYS_TR_NONE), ESYS_TR(ESYS_TR_NONE),
                               &inPrivate, &inPublic, &handle)
            try check(rc, "Esys_Load(attestation key; was it created by this TPM under Signet's SRK?)")
            return try withTransient(handle, body)
        }
    }
}
