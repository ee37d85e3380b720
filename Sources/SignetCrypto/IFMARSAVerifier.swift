#if canImport(Glibc)
import Glibc
#endif
import COpenSSL
import CRSAPublic
import IMAFormat

/// RSASSA-PKCS1-v1_5 signature checks for RSA keys of 1,024 to 2,048 bits
/// with the AVX-512 IFMA Montgomery arithmetic of `CRSAPublic`: about twice
/// OpenSSL's RSA-2048 verify rate per core on CPUs that have IFMA (Intel Ice
/// Lake and later, AMD Zen 4 and later). `PreparedVerifierPool` uses it when
/// it applies; the answer is OpenSSL's in every case (tests check both on valid,
/// altered and out-of-range signatures).
///
/// `SIGNET_RSA_IFMA=0` in the environment turns it off (OpenSSL only).
/// Immutable once made, so one instance serves any number of threads.
public final class IFMARSAVerifier: @unchecked Sendable {
    /// True when the CPU runs AVX-512 IFMA and `SIGNET_RSA_IFMA` is not `0`.
    public static let isAvailable: Bool = {
        if let value = getenv("SIGNET_RSA_IFMA"), String(cString: value) == "0" { return false }
        return signet_rsa_ifma_supported() == 1
    }()

    /// The modulus length in bytes (the length of a valid signature).
    public let modulusBytes: Int
    private let key: OpaquePointer
    /// Per hash algorithm (by raw value), EM without the digest: 00 01 FF…FF 00
    /// DigestInfo-header (RFC 8017 9.2); nil where the modulus is too short for it.
    private let prefixes: [[UInt8]?]

    /// nil when `key` is not an RSA key this code takes (over 2,048 bits, an
    /// exponent over 64 bits, an even modulus) or IFMA is not available.
    public init?(key: PublicKey) {
        guard Self.isAvailable, EVP_PKEY_get_base_id(key.pkey) == EVP_PKEY_RSA,
              let n = Self.parameter(key.pkey, "n"),
              let e = Self.parameter(key.pkey, "e"), e.count <= 8, !e.isEmpty else { return nil }
        let exponent = e.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let raw = UnsafeMutableRawPointer.allocate(byteCount: signet_rsa_key_size(), alignment: 64)
        let prepared = OpaquePointer(raw)
        guard n.withUnsafeBufferPointer({ signet_rsa_key_init(prepared, $0.baseAddress, $0.count, exponent) }) == 1 else {
            raw.deallocate()
            return nil
        }
        let k = signet_rsa_key_modulus_bytes(prepared)
        self.key = prepared
        modulusBytes = k
        var prefixes = [[UInt8]?](repeating: nil, count: 256)
        for algorithm in HashAlgorithm.allCases {
            let header = Self.digestInfoHeader(algorithm)
            // RFC 8017 9.2 step 3: emLen >= tLen + 11, else no signature can be valid (OpenSSL fails too).
            guard k >= header.count + algorithm.digestLength + 11 else { continue }
            prefixes[Int(algorithm.rawValue)] = [0x00, 0x01]
                + [UInt8](repeating: 0xff, count: k - 3 - header.count - algorithm.digestLength) + [0x00] + header
        }
        self.prefixes = prefixes
    }

    deinit { UnsafeMutableRawPointer(key).deallocate() }

    /// Whether `verify` can ever accept a signature made with `algorithm`
    /// (false when the modulus is too short for its DigestInfo).
    public func supports(_ algorithm: HashAlgorithm) -> Bool { prefixes[Int(algorithm.rawValue)] != nil }

    /// True when `signature` is a valid PKCS#1 v1.5 signature with
    /// `algorithm`'s DigestInfo over `digest` (which must have that
    /// algorithm's length, as OpenSSL requires). Thread-safe.
    public func verify(signature: UnsafeRawBufferPointer, digest: UnsafeRawBufferPointer, algorithm: HashAlgorithm) -> Bool {
        guard let prefix = prefixes[Int(algorithm.rawValue)], digest.count == algorithm.digestLength,
              signature.count == modulusBytes else { return false }
        return prefix.withUnsafeBufferPointer { p in
            signet_rsa_verify_pkcs1(key, signature.baseAddress?.assumingMemoryBound(to: UInt8.self), signature.count,
                                    p.baseAddress, p.count, digest.baseAddress?.assumingMemoryBound(to: UInt8.self),
                                    digest.count) == 1
        }
    }

    /// `verify` for byte arrays.
    public func verify(signature: [UInt8], digest: [UInt8], algorithm: HashAlgorithm) -> Bool {
        signature.withUnsafeBytes { s in digest.withUnsafeBytes { verify(signature: s, digest: $0, algorithm: algorithm) } }
    }

    /// The raw public operation signature^e mod n (k bytes), or nil when the
    /// signature is not k bytes or not below n. For tests and diagnostics.
    public func recover(_ signature: [UInt8]) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: modulusBytes)
        let ok = signature.withUnsafeBufferPointer { s in
            out.withUnsafeMutableBufferPointer { o in signet_rsa_public(key, s.baseAddress, s.count, o.baseAddress) }
        }
        return ok == 1 ? out : nil
    }

    /// The DER DigestInfo up to the digest: SEQUENCE { AlgorithmIdentifier { OID, NULL }, OCTET STRING header }.
    static func digestInfoHeader(_ algorithm: HashAlgorithm) -> [UInt8] {
        switch algorithm {
        case .sha1: return [0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14]
        case .sha224:
            return [0x30, 0x2d, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x04, 0x05, 0x00, 0x04, 0x1c]
        case .sha256:
            return [0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20]
        case .sha384:
            return [0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30]
        case .sha512:
            return [0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40]
        }
    }

    /// A big-integer parameter of the key, big-endian without leading zeros.
    fileprivate static func parameter(_ pkey: OpaquePointer, _ name: String) -> [UInt8]? {
        var bn: OpaquePointer? = nil
        guard EVP_PKEY_get_bn_param(pkey, name, &bn) == 1, let bn else {
            OpenSSLErrors.clear()
            return nil
        }
        defer { BN_free(bn) }
        let length = Int((BN_num_bits(bn) + 7) / 8)
        var bytes = [UInt8](repeating: 0, count: length)
        guard BN_bn2binpad(bn, &bytes, Int32(length)) == Int32(length) else { return nil }
        return bytes
    }
}

// MARK: OpenSSL counterparts, for the tests and fuzz target that compare the two

extension IFMARSAVerifier {
    /// OpenSSL's raw RSA public operation (no padding): signature^e mod n, or
    /// nil where OpenSSL refuses (too long, not below n). The reference that
    /// `recover` is checked against (OpenSSL also takes a shorter input as a
    /// number; `recover` and every signature check require k bytes).
    public static func openSSLRecover(key: PublicKey, signature: [UInt8]) -> [UInt8]? {
        guard let ctx = EVP_PKEY_CTX_new(key.pkey, nil) else { return nil }
        defer { EVP_PKEY_CTX_free(ctx); OpenSSLErrors.clear() }
        guard EVP_PKEY_verify_recover_init(ctx) == 1, EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING) == 1 else { return nil }
        var out = [UInt8](repeating: 0, count: Int(EVP_PKEY_get_size(key.pkey)))
        var length = out.count
        guard EVP_PKEY_verify_recover(ctx, &out, &length, signature, signature.count) == 1 else { return nil }
        return Array(out[..<length])
    }
}

extension PrivateKey {
    /// An RSA key with a chosen public exponent (tests of exponents other than 65537).
    static func generateRSA(bits: Int, exponent: UInt64) throws -> PrivateKey {
        guard let ctx = EVP_PKEY_CTX_new_from_name(nil, "RSA", nil), EVP_PKEY_keygen_init(ctx) == 1 else {
            throw CryptoError.openssl("cannot start key generation")
        }
        defer { EVP_PKEY_CTX_free(ctx) }
        guard let e = BN_new() else { throw CryptoError.openssl("out of memory") }
        defer { BN_free(e) }
        guard BN_set_word(e, UInt(exponent)) == 1, EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, Int32(bits)) == 1,
              EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx, e) == 1 else {
            throw CryptoError.openssl("cannot set RSA size \(bits) and exponent \(exponent)")
        }
        var pkey: OpaquePointer?
        guard EVP_PKEY_generate(ctx, &pkey) == 1, let pkey else { throw CryptoError.openssl("key generation failed") }
        return PrivateKey(owning: pkey, source: "generated RSA-\(bits) e=\(exponent)")
    }
}

extension IFMARSAVerifier {
    /// The key's modulus, big-endian (tests).
    static func openSSLModulus(_ key: PublicKey) -> [UInt8]? { parameter(key.pkey, "n") }
}
