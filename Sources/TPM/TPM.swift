/// TPM 2.0 for attestation: ESAPI access (PCR read, EK/AK, quote, credential
/// activation) over tpm2-tss, and the TPM structures (TPMS_ATTEST,
/// TPMT_SIGNATURE, TPM2B_PUBLIC) parsed in pure Swift.
public enum TPM {}
