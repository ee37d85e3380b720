import IMAFormat
import SignetCrypto

/// TPM2_MakeCredential computed outside the TPM (TPM 2.0 Part 1, 24
/// "Credential Protection"), as a verifier does at enrolment: the
/// credential is encrypted and bound to an object Name (the node's
/// attestation key) under a seed that only the TPM holding the endorsement
/// key can recover. The node answers with TPM2_ActivateCredential
/// (`TPMContext.activateCredential`), which returns the credential only if
/// an object with that Name is loaded next to that EK.
///
/// Supported EKs: the TCG default kinds, RSA-2048 or ECC NIST P-256,
/// restricted decryption keys with AES-128-CFB as symmetric algorithm.
public enum MakeCredential {
    /// sizeof(TPMS_ID_OBJECT): two TPM2B_DIGESTs.
    static let maxIDObjectSize = 2 * (2 + 64)
    /// sizeof(TPMU_ENCRYPTED_SECRET) in tpm2-tss (an RSA-4096 ciphertext).
    static let maxEncryptedSecretSize = 512
    /// The label of the seed's RSA-OAEP encryption and of KDFe, with its NUL.
    static let identityLabel = "IDENTITY"

    /// Makes a challenge that releases `credential` (1…digest size of the EK
    /// nameAlg bytes, e.g. a random 32-byte secret) only to the TPM of
    /// `endorsementKey`, and only for the object named `objectName` (nameAlg
    /// ‖ digest, e.g. `AttestationKey.name`). Check the AK first with
    /// `AttestationKeyRequirements.check`: this binds to any Name.
    /// Throws `CredentialError` naming the input that is not acceptable.
    public static func make(credential: [UInt8], objectName: [UInt8],
                            endorsementKey: TPMPublic) throws(CredentialError) -> CredentialChallenge {
        try make(credential: credential, objectName: objectName, endorsementKey: endorsementKey, seed: .random).challenge
    }

    /// Where the seed comes from: random, or fixed for known-answer tests.
    enum SeedInput {
        case random
        /// The seed itself, for an RSA EK (the OAEP encryption stays randomized).
        case rsaSeed([UInt8])
        /// The ephemeral ECDH private scalar, for an ECC EK (the seed follows from it).
        case eccEphemeralScalar([UInt8])
    }

    /// `make` with a chosen seed; also returns the seed.
    static func make(credential: [UInt8], objectName: [UInt8], endorsementKey ek: TPMPublic,
                     seed input: SeedInput) throws(CredentialError) -> (challenge: CredentialChallenge, seed: [UInt8]) {
        let hash = try endorsementKeyHash(ek)
        let digestSize = ek.nameAlg.digestLength!
        try checkCredential(credential, max: digestSize)
        try checkName(objectName)
        try checkEndorsementKey(ek)

        let seed: [UInt8]
        let secret: [UInt8]
        switch ek.unique {
        case .rsa(let modulus):
            switch input {
            case .random: seed = SecureRandom.bytes(digestSize)
            case .rsaSeed(let s):
                precondition(s.count == digestSize, "the seed must be as long as a nameAlg digest")
                seed = s
            case .eccEphemeralScalar: preconditionFailure("an ECC seed input for an RSA EK")
            }
            guard case .rsa(let p) = ek.parameters else { preconditionFailure("TPMPublic of mixed types") }
            let key: PublicKey
            do {
                key = try PublicKey.rsa(modulus: modulus, exponent: p.effectiveExponent)
            } catch {
                throw CredentialError(.unsupportedEndorsementKey, field: "TPMT_PUBLIC.unique.rsa", "not a usable RSA key: \(error)")
            }
            secret = try crypto("RSA-OAEP(seed)") {
                try key.encryptOAEP(seed, hash: hash, label: CredentialKDF.terminated(identityLabel))
            }
        case .ecc(let x, let y):
            var scalar: [UInt8]?
            switch input {
            case .random: scalar = nil
            case .eccEphemeralScalar(let d): scalar = d
            case .rsaSeed: preconditionFailure("an RSA seed input for an ECC EK")
            }
            let ecdh: (ephemeralX: [UInt8], ephemeralY: [UInt8], sharedX: [UInt8])
            do {
                ecdh = try CredentialPrimitives.ecdhP256(peerX: x, peerY: y, privateScalar: scalar)
            } catch let error as CryptoError where error.code == .unsupportedKey {
                throw CredentialError(.unsupportedEndorsementKey, field: "TPMT_PUBLIC.unique.ecc", "\(error)")
            } catch {
                throw CredentialError(.cryptoFailure, field: "ECDH", "\(error)")
            }
            // Part 1, C.6.1: seed = KDFe(nameAlg, Z.x, "IDENTITY", QeU.x, QsV.x, digest bits).
            seed = CredentialKDF.kdfe(hash, z: ecdh.sharedX, label: identityLabel,
                                      partyUInfo: ecdh.ephemeralX, partyVInfo: x, bits: 8 * digestSize)
            var point = TPMWriter()
            point.sized(ecdh.ephemeralX)
            point.sized(ecdh.ephemeralY)
            secret = point.bytes
        }
        let blob = try protect(credential: credential, objectName: objectName, seed: seed, hash: hash, symmetricKeyBits: 128)
        return (CredentialChallenge(credentialBlob: blob, encryptedSecret: TPM2B.encode(secret)), seed)
    }

    /// Part 1, 24.4-24.5: the marshaled TPM2B_ID_OBJECT protecting `credential` under `seed`.
    static func protect(credential: [UInt8], objectName: [UInt8], seed: [UInt8], hash: HashAlgorithm,
                        symmetricKeyBits: Int) throws(CredentialError) -> [UInt8] {
        let digestBits = 8 * hash.digestLength
        let symKey = try CredentialKDF.kdfa(hash, key: seed, label: "STORAGE", contextU: objectName, contextV: [],
                                            bits: symmetricKeyBits)
        let encIdentity = try crypto("AES-CFB(credential)") {
            try CredentialPrimitives.aesCFB(encrypt: true, key: symKey, iv: [UInt8](repeating: 0, count: 16),
                                            TPM2B.encode(credential))
        }
        let hmacKey = try CredentialKDF.kdfa(hash, key: seed, label: "INTEGRITY", contextU: [], contextV: [], bits: digestBits)
        let outerHMAC = try crypto("HMAC(encIdentity ‖ name)") {
            try CredentialPrimitives.hmac(hash, key: hmacKey, data: encIdentity + objectName)
        }
        return TPM2B.encode(TPM2B.encode(outerHMAC) + encIdentity)
    }

    // MARK: - Input checks

    /// The EK nameAlg as a hash Signet computes; it sizes the seed and keys the KDFs.
    static func endorsementKeyHash(_ ek: TPMPublic) throws(CredentialError) -> HashAlgorithm {
        guard let hash = ek.nameAlg.hashAlgorithm else {
            throw CredentialError(.unsupportedEndorsementKey, field: "TPMT_PUBLIC.nameAlg",
                                  "\(ek.nameAlg) is not sha1, sha256, sha384 or sha512")
        }
        return hash
    }

    static func checkCredential(_ credential: [UInt8], max: Int) throws(CredentialError) {
        guard !credential.isEmpty, credential.count <= max else {
            throw CredentialError(.invalidCredential, field: "credential",
                                  "\(credential.count) byte(s); must be 1-\(max) (the EK nameAlg digest size)")
        }
    }

    /// A TPM Name of an object: a hash algorithm ID then a digest of its size.
    static func checkName(_ name: [UInt8]) throws(CredentialError) {
        guard name.count >= 2 else {
            throw CredentialError(.invalidObjectName, field: "objectName", "\(name.count) byte(s); a Name is nameAlg ‖ digest")
        }
        let alg = TPMAlgorithm(rawValue: UInt16(name[0]) << 8 | UInt16(name[1]))
        guard let size = alg.digestLength else {
            throw CredentialError(.invalidObjectName, field: "objectName.nameAlg", "\(alg) is not a hash algorithm")
        }
        guard name.count == 2 + size else {
            throw CredentialError(.invalidObjectName, field: "objectName.digest",
                                  "\(name.count - 2) byte(s) of digest; \(alg) has \(size)")
        }
    }

    static func checkEndorsementKey(_ ek: TPMPublic) throws(CredentialError) {
        for (flag, name) in [(TPMObjectAttributes.restricted, "restricted"), (.decrypt, "decrypt")]
        where !ek.attributes.contains(flag) {
            throw CredentialError(.unsupportedEndorsementKey, field: "TPMT_PUBLIC.objectAttributes.\(name)",
                                  "the EK must be a restricted decryption key (attributes \(ek.attributes))")
        }
        if ek.attributes.contains(.sign) {
            throw CredentialError(.unsupportedEndorsementKey, field: "TPMT_PUBLIC.objectAttributes.sign",
                                  "a restricted decryption key cannot also sign (attributes \(ek.attributes))")
        }
        let symmetric: TPMSymmetricDefinition
        switch (ek.parameters, ek.unique) {
        case (.rsa(let p), .rsa(let modulus)):
            symmetric = p.symmetric
            guard p.keyBits == 2048 else {
                throw CredentialError(.unsupportedEndorsementKey, field: "TPMS_RSA_PARMS.keyBits", "\(p.keyBits) bits; RSA-2048 is supported")
            }
            guard modulus.count == 256 else {
                throw CredentialError(.unsupportedEndorsementKey, field: "TPMT_PUBLIC.unique.rsa",
                                      "modulus of \(modulus.count) byte(s): a template, not a key?")
            }
        case (.ecc(let p), .ecc(let x, let y)):
            symmetric = p.symmetric
            guard p.curve == .nistP256 else {
                throw CredentialError(.unsupportedEndorsementKey, field: "TPMS_ECC_PARMS.curveID", "\(p.curve); NIST P-256 is supported")
            }
            guard !x.isEmpty, !y.isEmpty, x.contains(where: { $0 != 0 }) || y.contains(where: { $0 != 0 }) else {
                throw CredentialError(.unsupportedEndorsementKey, field: "TPMT_PUBLIC.unique.ecc", "no public point: a template, not a key?")
            }
        default:
            preconditionFailure("TPMPublic of mixed types")
        }
        guard symmetric == .aes128CFB else {
            let found = symmetric.algorithm == .null ? "null" : "\(symmetric.algorithm)-\(symmetric.keyBits)-\(symmetric.mode)"
            throw CredentialError(.unsupportedEndorsementKey, field: "TPMT_PUBLIC.parameters.symmetric",
                                  "\(found); the EK must use aes-128-cfb")
        }
    }

    /// Runs an OpenSSL-backed step, turning its failure into `.cryptoFailure`.
    private static func crypto<T>(_ step: String, _ body: () throws -> T) throws(CredentialError) -> T {
        do {
            return try body()
        } catch {
            throw CredentialError(.cryptoFailure, field: step, "\(error)")
        }
    }
}
