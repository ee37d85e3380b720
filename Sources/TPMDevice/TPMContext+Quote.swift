import TPM
import CTSS2

extension TPMContext {
    /// TPM2B_DATA holds at most a SHA-512 digest here.
    public static let maxNonceSize = 64

    /// Quotes `selection` (default `sha256:0-10`) with `ak` and the verifier's
    /// `nonce` (1-64 bytes), and reads the quoted PCR values in the same
    /// session. If a PCR changed between the quote and the read (IMA extends
    /// PCR 10 all the time) the pair is retaken, up to `attempts` times, so
    /// the values returned always hash to the signed pcrDigest.
    public func quote(with ak: AttestationKey, nonce: [UInt8], selection: PCRSelection = .default,
                      attempts: Int = 5) throws(TPMError) -> TPMQuote {
        guard !nonce.isEmpty, nonce.count <= Self.maxNonceSize else {
            throw TPMError(.invalidArgument, operation: "quote", "the nonce must be 1-\(Self.maxNonceSize) bytes, not \(nonce.count)")
        }
        guard !selection.isEmpty else { throw TPMError(.invalidArgument, operation: "quote", "the PCR selection is empty") }
        var qualifyingData = try TSSMarshaling.unmarshal(TPM2B.encode(nonce), TPM2B_DATA(), Tss2_MU_TPM2B_DATA_Unmarshal, "TPM2B_DATA")
        var pcrSelect = try TSSMarshaling.unmarshal(selection.marshaled, TPML_PCR_SELECTION(),
                                                    Tss2_MU_TPML_PCR_SELECTION_Unmarshal, "TPML_PCR_SELECTION")
        var scheme = TPMT_SIG_SCHEME()
        scheme.scheme = TPMI_ALG_SIG_SCHEME(TPM2_ALG_NULL)  // the AK's own scheme

        return try withAttestationKey(ak) { (handle) throws(TPMError) in
            var last = ""
            for _ in 0..<max(1, attempts) {
                var quoted: UnsafeMutablePointer<TPM2B_ATTEST>?
                var signature: UnsafeMutablePointer<TPMT_SIGNATURE>?
                let rc = Esys_Quote(esys, handle, ESYS_TR(ESYS_TR_PASSWORD), ESYS_TR(ESYS_TR_NONE), ESYS_TR(ESYS_TR_NONE),
                                    &qualifyingData, &scheme, &pcrSelect, &quoted, &signature)
                defer { Esys_Free(quoted); Esys_Free(signature) }
                try check(rc, "Esys_Quote(\(selection))")
                let attest = Array(try TSSMarshaling.marshal(quoted, Tss2_MU_TPM2B_ATTEST_Marshal, "TPM2B_ATTEST").dropFirst(2))
                let signatureBytes = try TSSMarshaling.marshal(signature, Tss2_MU_TPMT_SIGNATURE_Marshal, "TPMT_SIGNATURE")
                let values = try readPCRs(selection)

                let parsedAttest: TPMSAttest
                let parsedSignature: TPMSignature
                do {
                    parsedAttest = try TPMSAttest(marshaled: attest, allowPCRsAbove23: true)
                    parsedSignature = try TPMSignature(marshaled: signatureBytes)
                } catch {
                    throw TPMError(.unexpectedResponse, operation: "Esys_Quote", "\(error)")
                }
                guard let hash = parsedSignature.hash.hashAlgorithm else {
                    throw TPMError(.unexpectedResponse, operation: "Esys_Quote", "signature hash \(parsedSignature.hash) is not supported")
                }
                if QuoteVerifier.pcrDigest(values, hash: hash) == parsedAttest.pcrDigest {
                    return TPMQuote(attest: attest, signature: signatureBytes, pcrs: values, selection: selection, nonce: nonce)
                }
                last = "the PCRs changed between the quote and the read"
            }
            throw TPMError(.unexpectedResponse, operation: "quote", "\(last) \(attempts) times in a row")
        }
    }
}
