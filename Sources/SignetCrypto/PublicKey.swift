import COpenSSL
import IMAFormat

/// A public key that verifies IMA signatures.
public final class PublicKey: @unchecked Sendable {
    let pkey: OpaquePointer

    init(owning pkey: OpaquePointer) { self.pkey = pkey }
    deinit { EVP_PKEY_free(pkey) }

    /// nil for key types the kernel cannot verify.
    public var algorithm: KeyAlgorithm? { KeyInfo.algorithm(of: pkey) }

    /// SubjectPublicKeyInfo DER.
    public var spkiDER: [UInt8] {
        var der: UnsafeMutablePointer<UInt8>?
        let len = i2d_PUBKEY(pkey, &der)
        guard len > 0, let der else { return [] }
        defer { signet_openssl_free(der) }
        return Array(UnsafeBufferPointer(start: der, count: Int(len)))
    }

    /// The raw subjectPublicKey (RSAPublicKey DER, or the EC point) that the
    /// IMA keyid is computed over.
    public var subjectPublicKeyBits: [UInt8] {
        var der: UnsafeMutablePointer<UInt8>?
        let len = i2d_PublicKey(pkey, &der)
        guard len > 0, let der else { return [] }
        defer { signet_openssl_free(der) }
        return Array(UnsafeBufferPointer(start: der, count: Int(len)))
    }

    /// The IMA keyid: last 4 bytes of SHA-1(subjectPublicKey), as evmctl computes it.
    public var imaKeyID: UInt32 {
        KeyID.fromSHA1(Digester.hash(subjectPublicKeyBits, .sha1))
    }

    /// True when `signature` is a valid signature over `digest` made with `algorithm`.
    public func verify(signature: [UInt8], digest: [UInt8], algorithm: HashAlgorithm) -> Bool {
        guard let ctx = EVP_PKEY_CTX_new(pkey, nil) else { return false }
        defer { EVP_PKEY_CTX_free(ctx); OpenSSLErrors.clear() }
        guard EVP_PKEY_verify_init(ctx) == 1 else { return false }
        if EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA {
            guard EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 else { return false }
        }
        guard EVP_PKEY_CTX_set_signature_md(ctx, EVP_get_digestbyname(algorithm.name)) == 1 else { return false }
        return EVP_PKEY_verify(ctx, signature, signature.count, digest, digest.count) == 1
    }

    /// True when both keys are the same public key.
    public func isSameKey(as other: PublicKey) -> Bool { EVP_PKEY_eq(pkey, other.pkey) == 1 }
    /// True when `key` is the private half of this public key.
    public func matches(_ key: PrivateKey) -> Bool { EVP_PKEY_eq(pkey, key.pkey) == 1 }
}
