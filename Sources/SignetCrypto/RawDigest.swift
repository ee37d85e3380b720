import COpenSSL
import IMAFormat
import Synchronization

/// SHA-1 and SHA-256 over raw memory, for the log-replay hot path: OpenSSL's
/// block functions (SHA-NI or AVX2 assembly, context on the stack), no EVP
/// provider dispatch and no allocation. An EVP digest costs about
/// 150 ns of dispatch per call, more than hashing a 100-byte IMA template;
/// a replay hashes four times per entry.
public enum RawDigest {
    /// SHA-1 of `count` bytes at `bytes` into 20 bytes at `out`.
    @inline(__always)
    public static func sha1(_ bytes: UnsafeRawPointer?, _ count: Int, into out: UnsafeMutableRawPointer) {
        var ctx = SHA_CTX()
        SHA1_Init(&ctx)
        blocks(bytes, count) { SHA1_Transform(&ctx, $0) }
        out.storeBytes(of: ctx.h0.bigEndian, toByteOffset: 0, as: UInt32.self)
        out.storeBytes(of: ctx.h1.bigEndian, toByteOffset: 4, as: UInt32.self)
        out.storeBytes(of: ctx.h2.bigEndian, toByteOffset: 8, as: UInt32.self)
        out.storeBytes(of: ctx.h3.bigEndian, toByteOffset: 12, as: UInt32.self)
        out.storeBytes(of: ctx.h4.bigEndian, toByteOffset: 16, as: UInt32.self)
    }

    /// SHA-256 of `count` bytes at `bytes` into 32 bytes at `out`.
    @inline(__always)
    public static func sha256(_ bytes: UnsafeRawPointer?, _ count: Int, into out: UnsafeMutableRawPointer) {
        var ctx = SHA256_CTX()
        SHA256_Init(&ctx)
        blocks(bytes, count) { SHA256_Transform(&ctx, $0) }
        withUnsafeBytes(of: ctx.h) { h in
            for i in 0..<8 {
                out.storeBytes(of: h.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self).bigEndian, toByteOffset: i * 4,
                               as: UInt32.self)
            }
        }
    }

    /// Feeds the Merkle-Damgard blocks of a message (SHA-1 and SHA-256 pad
    /// alike: 0x80, zeros, the bit length as a big-endian u64) to `transform`:
    /// whole blocks straight from the message, the padded tail from the stack.
    /// The block functions are OpenSSL's assembly; this skips `Update`'s
    /// buffering and `Final`'s cleansing of a context that holds nothing secret.
    @inline(__always)
    static func blocks(_ bytes: UnsafeRawPointer?, _ count: Int, _ transform: (UnsafePointer<UInt8>) -> Void) {
        var offset = 0
        if let bytes {
            while count - offset >= 64 {
                transform((bytes + offset).assumingMemoryBound(to: UInt8.self))
                offset += 64
            }
        }
        let rest = count - offset
        withUnsafeTemporaryAllocation(byteCount: 128, alignment: 16) { tail in
            let t = tail.baseAddress!
            if rest > 0 { t.copyMemory(from: bytes! + offset, byteCount: rest) }
            t.storeBytes(of: 0x80, toByteOffset: rest, as: UInt8.self)
            let total = rest + 9 <= 64 ? 64 : 128
            (t + rest + 1).initializeMemory(as: UInt8.self, repeating: 0, count: total - rest - 1 - 8)
            t.storeBytes(of: (UInt64(count) &* 8).bigEndian, toByteOffset: total - 8, as: UInt64.self)
            transform(t.assumingMemoryBound(to: UInt8.self))
            if total == 128 { transform((t + 64).assumingMemoryBound(to: UInt8.self)) }
        }
    }

    /// A PCR extend in place: `pcr` (20 bytes) = SHA-1(pcr || value(20 bytes)).
    @inline(__always)
    public static func extendSHA1(_ pcr: UnsafeMutableRawPointer, with value: UnsafeRawPointer) {
        withUnsafeTemporaryAllocation(byteCount: 40, alignment: 16) { m in
            m.baseAddress!.copyMemory(from: pcr, byteCount: 20)
            (m.baseAddress! + 20).copyMemory(from: value, byteCount: 20)
            sha1(m.baseAddress!, 40, into: pcr)
        }
    }

    /// A PCR extend in place: `pcr` (32 bytes) = SHA-256(pcr || value(32 bytes)).
    @inline(__always)
    public static func extendSHA256(_ pcr: UnsafeMutableRawPointer, with value: UnsafeRawPointer) {
        withUnsafeTemporaryAllocation(byteCount: 64, alignment: 16) { m in
            m.baseAddress!.copyMemory(from: pcr, byteCount: 32)
            (m.baseAddress! + 32).copyMemory(from: value, byteCount: 32)
            sha256(m.baseAddress!, 64, into: pcr)
        }
    }
}

/// A signature check prepared once per key and digest algorithm and reused:
/// `PublicKey.verify` makes, initializes and frees an `EVP_PKEY_CTX` per call
/// (and looks the digest up by name), a sizeable part of an RSA-2048 verify.
/// Not thread-safe: one per thread (see `PreparedVerifierPool`).
public final class PreparedVerifier {
    public let algorithm: HashAlgorithm
    private let key: PublicKey
    private let ctx: OpaquePointer?
    private let md: OpaquePointer?

    public init(key: PublicKey, algorithm: HashAlgorithm) {
        self.key = key
        self.algorithm = algorithm
        md = EVP_MD_fetch(nil, algorithm.name, nil)
        var ready: OpaquePointer? = nil
        if let md, let ctx = EVP_PKEY_CTX_new(key.pkey, nil) {
            var ok = EVP_PKEY_verify_init(ctx) == 1
            if ok && EVP_PKEY_get_base_id(key.pkey) == EVP_PKEY_RSA {
                ok = EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1
            }
            ok = ok && EVP_PKEY_CTX_set_signature_md(ctx, md) == 1
            if ok { ready = ctx } else { EVP_PKEY_CTX_free(ctx) }
        }
        ctx = ready
        OpenSSLErrors.clear()
    }

    deinit {
        if let ctx { EVP_PKEY_CTX_free(ctx) }
        if let md { EVP_MD_free(md) }
    }

    /// Same answer as `key.verify(signature:digest:algorithm:)`; falls back
    /// to it when the context could not be prepared.
    public func verify(signature: UnsafeRawBufferPointer, digest: UnsafeRawBufferPointer) -> Bool {
        guard let ctx else {
            return key.verify(signature: Array(signature), digest: Array(digest), algorithm: algorithm)
        }
        let ok = EVP_PKEY_verify(ctx, signature.baseAddress?.assumingMemoryBound(to: UInt8.self), signature.count,
                                 digest.baseAddress?.assumingMemoryBound(to: UInt8.self), digest.count) == 1
        if !ok { OpenSSLErrors.clear() }
        return ok
    }
}

/// Signature checks with one key from any thread: the IFMA code where it
/// applies (RSA up to 2,048 bits on a CPU with AVX-512 IFMA, shared by every
/// thread), else prepared OpenSSL verifiers lent to one thread at a time.
public final class PreparedVerifierPool: Sendable {
    public let key: PublicKey
    private let fast: IFMARSAVerifier?
    private let free = Mutex<[HashAlgorithm: [PreparedVerifierBox]]>([:])

    public init(key: PublicKey) {
        self.key = key
        fast = IFMARSAVerifier(key: key)
    }

    /// Same answer as `key.verify(signature:digest:algorithm:)`.
    public func verify(signature: UnsafeRawBufferPointer, digest: UnsafeRawBufferPointer, algorithm: HashAlgorithm) -> Bool {
        if let fast, fast.supports(algorithm) { return fast.verify(signature: signature, digest: digest, algorithm: algorithm) }
        return withVerifier(algorithm) { $0.verify(signature: signature, digest: digest) }
    }

    /// `verify` for byte arrays.
    public func verify(signature: [UInt8], digest: [UInt8], algorithm: HashAlgorithm) -> Bool {
        signature.withUnsafeBytes { s in digest.withUnsafeBytes { verify(signature: s, digest: $0, algorithm: algorithm) } }
    }

    /// Runs `body` with an OpenSSL verifier no other thread is using.
    private func withVerifier<R>(_ algorithm: HashAlgorithm, _ body: (PreparedVerifier) -> R) -> R {
        let box = free.withLock { $0[algorithm]?.popLast() } ?? PreparedVerifierBox(PreparedVerifier(key: key, algorithm: algorithm))
        defer { free.withLock { $0[algorithm, default: []].append(box) } }
        return body(box.verifier)
    }
}

/// A verifier moved between threads by the pool (used by one at a time).
public final class PreparedVerifierBox: @unchecked Sendable {
    let verifier: PreparedVerifier
    init(_ verifier: PreparedVerifier) { self.verifier = verifier }
}
