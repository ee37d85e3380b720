import COpenSSL
import IMAFormat

/// The OpenSSL primitives TPM 2.0 credential protection (MakeCredential)
/// needs and nothing else in Signet does: HMAC, AES-CFB with a zero IV,
/// ECDH on NIST P-256 with raw coordinates, and RSA-OAEP with a label.
/// They take and return raw bytes because TPM structures carry raw bytes.
public enum CredentialPrimitives {
    /// HMAC of `data` with `key` over `hash`.
    public static func hmac(_ hash: HashAlgorithm, key: [UInt8], data: [UInt8]) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length = 0
        let result = key.withUnsafeBytes { k in
            data.withUnsafeBytes { d in
                EVP_Q_mac(nil, "HMAC", nil, hash.name, nil, k.baseAddress, k.count,
                          d.baseAddress?.assumingMemoryBound(to: UInt8.self), d.count, &out, out.count, &length)
            }
        }
        guard result != nil else { throw CryptoError.openssl("HMAC-\(hash.name)") }
        return Array(out[0..<length])
    }

    /// AES in CFB-128 mode (what TPM 2.0 calls CFB) with a 16/24/32-byte key.
    /// `encrypt` false decrypts. No padding: the output is as long as the input.
    public static func aesCFB(encrypt: Bool, key: [UInt8], iv: [UInt8], _ input: [UInt8]) throws -> [UInt8] {
        let cipher: OpaquePointer?
        switch key.count {
        case 16: cipher = EVP_aes_128_cfb128()
        case 24: cipher = EVP_aes_192_cfb128()
        case 32: cipher = EVP_aes_256_cfb128()
        default: throw CryptoError(.operationFailed, "AES-CFB: a key of \(key.count) bytes (need 16, 24 or 32)")
        }
        guard iv.count == 16 else { throw CryptoError(.operationFailed, "AES-CFB: an IV of \(iv.count) bytes (need 16)") }
        guard let ctx = EVP_CIPHER_CTX_new() else { throw CryptoError.openssl("EVP_CIPHER_CTX_new") }
        defer { EVP_CIPHER_CTX_free(ctx) }
        guard EVP_CipherInit_ex(ctx, cipher, nil, key, iv, encrypt ? 1 : 0) == 1 else {
            throw CryptoError.openssl("AES-CFB init")
        }
        var out = [UInt8](repeating: 0, count: input.count + 16)
        var n: Int32 = 0
        var total = 0
        if !input.isEmpty {
            guard EVP_CipherUpdate(ctx, &out, &n, input, Int32(input.count)) == 1 else { throw CryptoError.openssl("AES-CFB") }
            total = Int(n)
        }
        let ok = out.withUnsafeMutableBufferPointer { buf in EVP_CipherFinal_ex(ctx, buf.baseAddress! + total, &n) }
        guard ok == 1 else { throw CryptoError.openssl("AES-CFB final") }
        total += Int(n)
        return Array(out[0..<total])
    }

    /// One side of an ECDH exchange on NIST P-256 with `peer` (affine x, y,
    /// big-endian): the ephemeral public point Q = d·G and the x coordinate
    /// of d·peer (Z), each 32 bytes. `privateScalar` fixes d (for known-answer
    /// tests); nil draws a fresh random d in [1, n-1].
    /// Throws `.unsupportedKey` when `peer` is not a point on the curve.
    public static func ecdhP256(peerX: [UInt8], peerY: [UInt8], privateScalar: [UInt8]? = nil) throws
        -> (ephemeralX: [UInt8], ephemeralY: [UInt8], sharedX: [UInt8]) {
        guard let group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1) else { throw CryptoError.openssl("P-256 group") }
        defer { EC_GROUP_free(group) }
        guard let bn = BN_CTX_new() else { throw CryptoError.openssl("BN_CTX_new") }
        defer { BN_CTX_free(bn) }
        guard let peer = EC_POINT_new(group), let q = EC_POINT_new(group), let shared = EC_POINT_new(group),
              let d = BN_new(), let px = BN_new(), let py = BN_new(), let x = BN_new(), let y = BN_new() else {
            throw CryptoError.openssl("allocating EC values")
        }
        defer {
            EC_POINT_free(peer); EC_POINT_free(q); EC_POINT_clear_free(shared)
            BN_clear_free(d); BN_free(px); BN_free(py); BN_free(x); BN_free(y)
        }
        guard peerX.count <= 32, peerY.count <= 32,
              BN_bin2bn(peerX, Int32(peerX.count), px) != nil, BN_bin2bn(peerY, Int32(peerY.count), py) != nil,
              EC_POINT_set_affine_coordinates(group, peer, px, py, bn) == 1,
              EC_POINT_is_on_curve(group, peer, bn) == 1 else {
            OpenSSLErrors.clear()
            throw CryptoError(.unsupportedKey, "ECDH: the peer key is not a point on NIST P-256")
        }
        let order = EC_GROUP_get0_order(group)
        if let privateScalar {
            guard BN_bin2bn(privateScalar, Int32(privateScalar.count), d) != nil, BN_is_zero(d) == 0,
                  BN_cmp(d, order) < 0 else {
                throw CryptoError(.operationFailed, "ECDH: the private scalar is not in [1, n-1]")
            }
        } else {
            repeat {
                guard BN_priv_rand_range(d, order) == 1 else { throw CryptoError.openssl("ECDH: random scalar") }
            } while BN_is_zero(d) == 1
        }
        guard EC_POINT_mul(group, q, d, nil, nil, bn) == 1, EC_POINT_mul(group, shared, nil, peer, d, bn) == 1,
              EC_POINT_is_at_infinity(group, shared) == 0 else {
            throw CryptoError.openssl("ECDH: point multiplication")
        }
        func coordinate(_ v: OpaquePointer) throws -> [UInt8] {
            var out = [UInt8](repeating: 0, count: 32)
            guard BN_bn2binpad(v, &out, 32) == 32 else { throw CryptoError.openssl("ECDH: coordinate") }
            return out
        }
        guard EC_POINT_get_affine_coordinates(group, q, x, y, bn) == 1 else { throw CryptoError.openssl("ECDH: public point") }
        let ephemeralX = try coordinate(x), ephemeralY = try coordinate(y)
        guard EC_POINT_get_affine_coordinates(group, shared, x, nil, bn) == 1 else { throw CryptoError.openssl("ECDH: shared point") }
        return (ephemeralX, ephemeralY, try coordinate(x))
    }
}

extension PublicKey {
    /// RSA-OAEP encryption of `plaintext` with `hash` for both OAEP and MGF1
    /// and `label` (the TPM's labels include their terminating NUL, e.g.
    /// "IDENTITY\0"). Throws `.unsupportedKey` for a non-RSA key.
    public func encryptOAEP(_ plaintext: [UInt8], hash: HashAlgorithm, label: [UInt8]) throws -> [UInt8] {
        guard EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA else {
            throw CryptoError(.unsupportedKey, "RSA-OAEP needs an RSA key")
        }
        guard let ctx = EVP_PKEY_CTX_new(pkey, nil) else { throw CryptoError.openssl("EVP_PKEY_CTX_new") }
        defer { EVP_PKEY_CTX_free(ctx) }
        guard let md = EVP_get_digestbyname(hash.name),
              EVP_PKEY_encrypt_init(ctx) == 1,
              EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) == 1,
              EVP_PKEY_CTX_set_rsa_oaep_md(ctx, md) == 1,
              EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md) == 1 else {
            throw CryptoError.openssl("RSA-OAEP setup")
        }
        if !label.isEmpty {
            // set0 takes ownership of an OPENSSL_malloc'ed copy.
            guard let copy = CRYPTO_malloc(label.count, #fileID, #line) else { throw CryptoError.openssl("OPENSSL_malloc") }
            label.withUnsafeBytes { copy.copyMemory(from: $0.baseAddress!, byteCount: label.count) }
            guard EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, copy, Int32(label.count)) == 1 else {
                signet_openssl_free(copy)
                throw CryptoError.openssl("RSA-OAEP label")
            }
        }
        var length = 0
        guard EVP_PKEY_encrypt(ctx, nil, &length, plaintext, plaintext.count) == 1 else {
            throw CryptoError.openssl("RSA-OAEP size")
        }
        var out = [UInt8](repeating: 0, count: length)
        guard EVP_PKEY_encrypt(ctx, &out, &length, plaintext, plaintext.count) == 1 else {
            throw CryptoError.openssl("RSA-OAEP encryption")
        }
        return Array(out[0..<length])
    }
}
