import SignetCrypto

extension TPMPublic {
    /// The object's TPM Name (TPM 2.0 Part 1, 16): nameAlg (2 bytes, big-endian)
    /// followed by H_nameAlg(marshaled TPMT_PUBLIC). This is what the TPM puts
    /// in TPMS_ATTEST.qualifiedSigner chains and what credential activation
    /// binds a credential to; `tpm2_createak -n` writes it.
    /// Throws `.unsupportedAlgorithm` when nameAlg is not SHA-1/256/384/512.
    public func name() throws(TPMStructureError) -> [UInt8] {
        guard let hash = nameAlg.hashAlgorithm else {
            throw .unsupportedAlgorithm("TPMT_PUBLIC.nameAlg", offset: 2, found: nameAlg.rawValue,
                                        expected: "sha1, sha256, sha384 or sha512 to compute a name")
        }
        return [UInt8(nameAlg.rawValue >> 8), UInt8(nameAlg.rawValue & 0xff)] + Digester.hash(marshaled, hash)
    }
}
