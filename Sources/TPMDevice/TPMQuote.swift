import TPM
/// A quote as produced on the node: what the TPM signed, its signature, and
/// the PCR values read right after (checked to hash to the signed pcrDigest).
/// Ship all of it to a verifier, which checks it with `QuoteVerifier`.
public struct TPMQuote: Sendable {
    /// Marshaled TPMS_ATTEST (what `tpm2_quote -m` writes).
    public let attest: [UInt8]
    /// Marshaled TPMT_SIGNATURE (what `tpm2_quote -s` writes).
    public let signature: [UInt8]
    /// The values of the quoted PCRs, in selection order.
    public let pcrs: [PCRValue]
    /// The PCRs quoted.
    public let selection: PCRSelection
    /// The verifier's nonce, carried in TPMS_ATTEST.extraData.
    public let nonce: [UInt8]

    public init(attest: [UInt8], signature: [UInt8], pcrs: [PCRValue], selection: PCRSelection, nonce: [UInt8]) {
        self.attest = attest
        self.signature = signature
        self.pcrs = pcrs
        self.selection = selection
        self.nonce = nonce
    }

    /// The PCR values in the tpm2-tools PCR file format (`tpm2_quote -o`, `tpm2_checkquote -f`).
    public var tpm2ToolsPCRFile: [UInt8] { TPM2ToolsPCRFile.encode(selection: selection, values: pcrs) }
}
