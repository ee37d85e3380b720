/// What a verifier sends a node to prove that its attestation key lives in
/// the same TPM as its endorsement key: the two inputs of
/// TPM2_ActivateCredential. Only the TPM holding the EK can unwrap the seed,
/// and it releases the credential only for an object with the given Name.
public struct CredentialChallenge: Hashable, Sendable {
    /// Marshaled TPM2B_ID_OBJECT: size ‖ TPM2B_DIGEST(outerHMAC) ‖ encIdentity.
    public let credentialBlob: [UInt8]
    /// Marshaled TPM2B_ENCRYPTED_SECRET: the seed, RSA-OAEP encrypted to the
    /// EK, or for an ECC EK the ephemeral public point (TPMS_ECC_POINT).
    public let encryptedSecret: [UInt8]

    public init(credentialBlob: [UInt8], encryptedSecret: [UInt8]) {
        self.credentialBlob = credentialBlob
        self.encryptedSecret = encryptedSecret
    }

    /// The magic number tpm2-tools puts at the start of its files.
    static let tpm2ToolsMagic: UInt32 = 0xBADC_C0DE

    /// The file `tpm2_makecredential -o` writes and `tpm2_activatecredential -i`
    /// reads: magic 0xBADCC0DE and version 1 (32-bit big-endian each), then
    /// TPM2B_ID_OBJECT, then TPM2B_ENCRYPTED_SECRET.
    public var tpm2ToolsFile: [UInt8] {
        var w = TPMWriter()
        w.u32(Self.tpm2ToolsMagic)
        w.u32(1)
        w.raw(credentialBlob)
        w.raw(encryptedSecret)
        return w.bytes
    }

    /// Parses a tpm2-tools credential file (see `tpm2ToolsFile`).
    public init(tpm2ToolsFile bytes: [UInt8]) throws(CredentialError) {
        var r = TPMReader(bytes)
        do {
            let magic = try r.u32("header.magic")
            guard magic == Self.tpm2ToolsMagic else {
                throw CredentialError(.malformedChallenge, field: "header.magic",
                                      "0x\(hex(magic, width: 8)) is not the tpm2-tools magic 0xbadcc0de")
            }
            let version = try r.u32("header.version")
            guard version == 1 else {
                throw CredentialError(.malformedChallenge, field: "header.version", "version \(version), expected 1")
            }
            let blob = try r.sized("TPM2B_ID_OBJECT", max: MakeCredential.maxIDObjectSize)
            let secret = try r.sized("TPM2B_ENCRYPTED_SECRET", max: MakeCredential.maxEncryptedSecretSize)
            try r.finish("credential file")
            self.init(credentialBlob: TPM2B.encode(blob), encryptedSecret: TPM2B.encode(secret))
        } catch let error as TPMStructureError {
            throw CredentialError(.malformedChallenge, field: error.field, error.description)
        } catch let error as CredentialError {
            throw error
        } catch {
            throw CredentialError(.malformedChallenge, field: "credential file", "\(error)")
        }
    }
}
