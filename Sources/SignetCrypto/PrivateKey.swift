import COpenSSL
import IMAFormat

/// A private signing key held by OpenSSL. Loaded once and shared by all
/// signing workers: OpenSSL 3 allows concurrent signing with one EVP_PKEY
/// (each call makes its own EVP_PKEY_CTX), hence `@unchecked Sendable`.
public final class PrivateKey: @unchecked Sendable {
    let pkey: OpaquePointer
    /// Where the key came from, for messages.
    public let source: String
    /// Set for keys held in a PKCS#11 token: signing goes through this engine (see `PKCS11Engine`).
    let engine: PKCS11Engine?

    init(owning pkey: OpaquePointer, source: String, engine: PKCS11Engine? = nil) {
        self.pkey = pkey
        self.source = source
        self.engine = engine
    }

    /// Whether the key stays in a PKCS#11 token (loaded from a `pkcs11:` URI).
    public var isHardwareBacked: Bool { engine != nil }

    deinit { EVP_PKEY_free(pkey) }

    /// Loads a PEM private key (PKCS#8, PKCS#1 or SEC1; encrypted or not).
    /// The passphrase comes from the caller (environment or file), never a prompt.
    /// A `pkcs11:` URI instead of a path loads a key that stays in a token
    /// (see `loadPKCS11`); then `passphrase` is the token PIN.
    public static func load(path: String, passphrase: String?) throws -> PrivateKey {
        if PKCS11URI.isPKCS11(path) { return try loadPKCS11(uri: path, pin: passphrase) }
        let bytes = try FileBytes.read(path)
        return try PrivateKey(pem: bytes, passphrase: passphrase, source: path)
    }

    public convenience init(pem: [UInt8], passphrase: String?, source: String = "key") throws {
        let text = String(decoding: pem.prefix(4096), as: UTF8.self)
        guard text.contains("-----BEGIN") && text.contains("PRIVATE KEY-----") else {
            throw CryptoError(.notAPrivateKey, path: source,
                              "not a PEM private key (expected a '-----BEGIN … PRIVATE KEY-----' block)")
        }
        let encrypted = text.contains("ENCRYPTED")
        if encrypted && passphrase == nil {
            throw CryptoError(.passphraseRequired, path: source,
                              "the key is encrypted: give its passphrase with SIGNET_KEY_PASSPHRASE or --passphrase-file")
        }
        OpenSSLErrors.clear()
        let bio = pem.withUnsafeBytes { BIO_new_mem_buf($0.baseAddress, Int32($0.count)) }
        // BIO_new_mem_buf does not copy; `pem` outlives the BIO in this scope.
        defer { BIO_free(bio) }
        let loaded: OpaquePointer? = withExtendedLifetime(pem) {
            if let passphrase {
                return passphrase.withCString { pw in
                    PEM_read_bio_PrivateKey(bio, nil, signet_passphrase(), UnsafeMutableRawPointer(mutating: pw))
                }
            }
            return PEM_read_bio_PrivateKey(bio, nil, signet_no_passphrase(), nil)
        }
        guard let loaded else {
            if encrypted {
                OpenSSLErrors.clear()
                throw CryptoError(.wrongPassphrase, path: source, "wrong passphrase for the encrypted key")
            }
            throw CryptoError.openssl("cannot read the private key", path: source, code: .notAPrivateKey)
        }
        self.init(owning: loaded, source: source)
        _ = try algorithm()
    }

    /// Generates a new key.
    public static func generate(_ algorithm: KeyAlgorithm) throws -> PrivateKey {
        let ctx: OpaquePointer?
        switch algorithm {
        case .rsa: ctx = EVP_PKEY_CTX_new_from_name(nil, "RSA", nil)
        case .ecdsa: ctx = EVP_PKEY_CTX_new_from_name(nil, "EC", nil)
        }
        guard let ctx, EVP_PKEY_keygen_init(ctx) == 1 else {
            throw CryptoError.openssl("cannot start key generation")
        }
        defer { EVP_PKEY_CTX_free(ctx) }
        switch algorithm {
        case .rsa(let bits):
            guard EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, Int32(bits)) == 1 else {
                throw CryptoError.openssl("cannot set RSA size \(bits)")
            }
        case .ecdsa(let curve):
            guard EVP_PKEY_CTX_set_group_name(ctx, curve.rawValue) == 1 else {
                throw CryptoError.openssl("cannot set curve \(curve.rawValue)")
            }
        }
        var pkey: OpaquePointer?
        guard EVP_PKEY_generate(ctx, &pkey) == 1, let pkey else {
            throw CryptoError.openssl("key generation failed")
        }
        return PrivateKey(owning: pkey, source: "generated \(algorithm)")
    }

    /// PKCS#8 PEM; encrypted with AES-256-CBC when a passphrase is given.
    public func pemEncoded(passphrase: String? = nil) throws -> [UInt8] {
        guard let bio = BIO_new(BIO_s_mem()) else { throw CryptoError.openssl("out of memory") }
        defer { BIO_free(bio) }
        let ok: Int32
        if let passphrase {
            ok = passphrase.withCString { pw in
                PEM_write_bio_PKCS8PrivateKey(bio, pkey, EVP_aes_256_cbc(), nil, 0,
                                              signet_passphrase(), UnsafeMutableRawPointer(mutating: pw))
            }
        } else {
            ok = PEM_write_bio_PrivateKey(bio, pkey, nil, nil, 0, nil, nil)
        }
        guard ok == 1 else { throw CryptoError.openssl("cannot encode the private key") }
        return BIOBytes.read(bio)
    }

    /// The matching public key.
    public var publicKey: PublicKey {
        // Round-trip through SubjectPublicKeyInfo DER so the public key owns no private parts.
        var der: UnsafeMutablePointer<UInt8>?
        let len = i2d_PUBKEY(pkey, &der)
        precondition(len > 0 && der != nil, "cannot encode public key")
        defer { signet_openssl_free(der) }
        var p = UnsafePointer<UInt8>(der)
        let pub = d2i_PUBKEY(nil, &p, Int(len))!
        return PublicKey(owning: pub)
    }

    /// RSA-2048 / ECDSA P-256 …; throws for a key type the kernel cannot verify.
    public func algorithm() throws -> KeyAlgorithm {
        // An engine key may not answer parameter queries: ask its public half.
        guard let a = KeyInfo.algorithm(of: pkey) ?? (engine != nil ? publicKey.algorithm : nil) else {
            throw CryptoError(.unsupportedKey, path: source,
                              "unsupported key type (IMA verifies RSA and ECDSA P-256/P-384 only)")
        }
        return a
    }

    /// Signs a precomputed digest: RSA PKCS#1 v1.5 with the DigestInfo of
    /// `algorithm`, or ECDSA returning DER `SEQUENCE{r,s}` — what the kernel's
    /// `asymmetric_verify` checks.
    public func sign(digest: [UInt8], algorithm: HashAlgorithm) throws -> [UInt8] {
        if let engine { return try signThroughEngine(engine, digest: digest, algorithm: algorithm) }
        return try signUnserialized(digest: digest, algorithm: algorithm)
    }

    func signUnserialized(digest: [UInt8], algorithm: HashAlgorithm) throws -> [UInt8] {
        guard let ctx = EVP_PKEY_CTX_new(pkey, nil) else { throw CryptoError.openssl("out of memory") }
        defer { EVP_PKEY_CTX_free(ctx) }
        guard EVP_PKEY_sign_init(ctx) == 1 else { throw CryptoError.openssl("cannot sign with \(source)") }
        if EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA {
            guard EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 else {
                throw CryptoError.openssl("cannot set RSA padding")
            }
        }
        guard EVP_PKEY_CTX_set_signature_md(ctx, EVP_get_digestbyname(algorithm.name)) == 1 else {
            throw CryptoError.openssl("cannot sign \(algorithm.name) digests")
        }
        var length = 0
        guard EVP_PKEY_sign(ctx, nil, &length, digest, digest.count) == 1 else {
            throw CryptoError.openssl("signing failed")
        }
        var sig = [UInt8](repeating: 0, count: length)
        guard EVP_PKEY_sign(ctx, &sig, &length, digest, digest.count) == 1 else {
            throw CryptoError.openssl("signing failed")
        }
        return Array(sig[0..<length])
    }
}

enum BIOBytes {
    static func read(_ bio: OpaquePointer) -> [UInt8] {
        var ptr: UnsafeMutablePointer<CChar>?
        let len = signet_bio_mem_data(bio, &ptr)
        guard len > 0, let ptr else { return [] }
        return ptr.withMemoryRebound(to: UInt8.self, capacity: len) { Array(UnsafeBufferPointer(start: $0, count: len)) }
    }
}

enum KeyInfo {
    static func algorithm(of pkey: OpaquePointer) -> KeyAlgorithm? {
        switch EVP_PKEY_get_base_id(pkey) {
        case EVP_PKEY_RSA:
            return .rsa(bits: Int(EVP_PKEY_get_bits(pkey)))
        case EVP_PKEY_EC:
            var name = [CChar](repeating: 0, count: 64)
            var len = 0
            guard EVP_PKEY_get_utf8_string_param(pkey, "group", &name, name.count, &len) == 1 else { return nil }
            switch String(nulTerminated: name) {
            case "prime256v1", "P-256": return .ecdsa(curve: .p256)
            case "secp384r1", "P-384": return .ecdsa(curve: .p384)
            default: return nil
            }
        default:
            return nil
        }
    }
}
