import COpenSSL
import IMAFormat

/// A streaming hash over one of the kernel's algorithms, via OpenSSL EVP.
/// Reusable: `finalize()` resets it for the next file. Not thread-safe; use
/// one per worker.
public final class Digester {
    public let algorithm: HashAlgorithm
    private let md: OpaquePointer
    private let ctx: OpaquePointer

    public init(_ algorithm: HashAlgorithm) {
        self.algorithm = algorithm
        guard let md = EVP_MD_fetch(nil, algorithm.name, nil), let ctx = EVP_MD_CTX_new() else {
            fatalError("OpenSSL has no \(algorithm.name) digest")
        }
        self.md = md
        self.ctx = ctx
        EVP_DigestInit_ex2(ctx, md, nil)
    }

    deinit {
        EVP_MD_CTX_free(ctx)
        EVP_MD_free(md)
    }

    public func update(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        EVP_DigestUpdate(ctx, bytes.baseAddress, bytes.count)
    }

    public func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// Returns the digest and starts over.
    public func finalize() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var len: UInt32 = 0
        EVP_DigestFinal_ex(ctx, &out, &len)
        EVP_DigestInit_ex2(ctx, md, nil)
        return Array(out[0..<Int(len)])
    }

    /// One-shot digest of `bytes`.
    public static func hash(_ bytes: [UInt8], _ algorithm: HashAlgorithm) -> [UInt8] {
        let d = Digester(algorithm)
        d.update(bytes)
        return d.finalize()
    }
}
