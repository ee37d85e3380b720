import TPM
import SignetCrypto
#if canImport(Glibc)
import Glibc
#endif

/// An attestation key as the TPM exported it: the public area and the
/// private part wrapped (encrypted) by the storage root key, so only this
/// TPM can load it again. This is what survives a reboot: save it to a
/// directory and load it into the TPM before quoting.
///
/// Directory layout, in tpm2-tools formats:
/// `ak.pub` (TPM2B_PUBLIC, like `tpm2_createak -u`), `ak.priv` (TPM2B_PRIVATE,
/// `-r`), `ak.name` (the binary TPM Name, `-n`), `ak.pem` (the public key as
/// SubjectPublicKeyInfo PEM, for `tpm2_checkquote -u` and verifiers).
public struct AttestationKey: Sendable {
    public static let publicFile = "ak.pub"
    public static let privateFile = "ak.priv"
    public static let nameFile = "ak.name"
    public static let pemFile = "ak.pem"

    /// The AK's public area.
    public let publicArea: TPMPublic
    /// Marshaled TPM2B_PUBLIC.
    public let publicBlob: [UInt8]
    /// Marshaled TPM2B_PRIVATE, encrypted to the storage root key.
    public let privateBlob: [UInt8]
    /// The TPM Name: nameAlg || H(TPMT_PUBLIC).
    public let name: [UInt8]

    /// An AK from its marshaled TPM2B_PUBLIC and TPM2B_PRIVATE. Throws
    /// `.keyFiles` when either does not parse or the key is not a restricted
    /// signing key of a TPM.
    public init(publicBlob: [UInt8], privateBlob: [UInt8]) throws(TPMError) {
        do {
            publicArea = try TPMPublic(tpm2bPublic: publicBlob)
            _ = try TPM2B.decode(privateBlob, field: "TPM2B_PRIVATE")
            name = try publicArea.name()
        } catch {
            throw TPMError(.keyFiles, operation: "attestation key", "\(error)")
        }
        guard publicArea.attributes.isSuperset(of: .attestationKeyRequired) else {
            throw TPMError(.keyFiles, operation: "attestation key",
                           "not a restricted signing key of a TPM (attributes \(publicArea.attributes))")
        }
        self.publicBlob = publicBlob
        self.privateBlob = privateBlob
    }

    /// The AK's public key (what a verifier stores at enrollment).
    public func publicKey() throws(TPMError) -> PublicKey {
        do {
            return try publicArea.publicKey()
        } catch {
            throw TPMError(.keyFiles, operation: "attestation key", "\(error)")
        }
    }

    /// Writes ak.pub, ak.priv, ak.name and ak.pem into `directory` (created
    /// with mode 0700 if missing; files replaced atomically).
    public func save(to directory: String) throws(TPMError) {
        if mkdir(directory, 0o700) != 0 && errno != EEXIST {
            throw TPMError(.keyFiles, operation: "save attestation key",
                           "\(directory): cannot create: \(String(cString: strerror(errno)))")
        }
        let pem = try publicKey().spkiPEM
        let files: [(String, [UInt8], mode_t)] = [
            (Self.publicFile, publicBlob, 0o644), (Self.privateFile, privateBlob, 0o600),
            (Self.nameFile, name, 0o644), (Self.pemFile, pem, 0o644),
        ]
        for (file, bytes, mode) in files {
            do {
                try FileBytes.writeAtomically(bytes, to: "\(directory)/\(file)", mode: mode)
            } catch {
                throw TPMError(.keyFiles, operation: "save attestation key", "\(error)")
            }
        }
    }

    /// Reads an AK saved by `save(to:)` (or by `tpm2_createak -u -r` under the
    /// same parent). When ak.name is present it must match the public area.
    public static func load(from directory: String) throws(TPMError) -> AttestationKey {
        func read(_ file: String) throws(TPMError) -> [UInt8] {
            do {
                return try FileBytes.read("\(directory)/\(file)", limit: 1 << 16)
            } catch {
                throw TPMError(.keyFiles, operation: "load attestation key", "\(error)")
            }
        }
        let key = try AttestationKey(publicBlob: try read(publicFile), privateBlob: try read(privateFile))
        if access("\(directory)/\(nameFile)", F_OK) == 0 {
            guard try read(nameFile) == key.name else {
                throw TPMError(.keyFiles, operation: "load attestation key",
                               "\(directory)/\(nameFile) does not match the name of \(directory)/\(publicFile)")
            }
        }
        return key
    }
}
