import COpenSSL

/// Cryptographically secure random bytes (OpenSSL's DRBG): nonces, tokens, credentials.
public enum SecureRandom {
    public static func bytes(_ count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        guard count > 0 else { return out }
        // RAND_bytes fails only when the DRBG cannot be seeded; continuing would hand out predictable values.
        guard RAND_bytes(&out, Int32(count)) == 1 else { fatalError("OpenSSL RAND_bytes failed: no entropy") }
        return out
    }
}
