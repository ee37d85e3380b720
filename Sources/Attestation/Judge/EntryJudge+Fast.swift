#if canImport(Glibc)
import Glibc
#endif
import IMAFormat
import SignetCrypto
import Signing

/// The judge's fast path for `LogChecker`: an ordinary file measurement,
/// given as raw bytes of the log, is accepted without building a
/// `MeasurementEntry`. It only ever *accepts*, and only where `judge(_:)`
/// would accept the same way; every other case answers `.full` and the caller
/// runs `judge(_:)` on a decoded entry, so failures and their reasons stay
/// the full judge's.
extension EntryJudge {
    /// A file digest's algorithm as a `d-ng` prefix names it, for the sizes the fast path takes.
    static func fastAlgorithm(_ name: UnsafeRawBufferPointer, digestLength: Int) -> HashAlgorithm? {
        func equals(_ text: StaticString) -> Bool {
            name.count == text.utf8CodeUnitCount && memcmp(name.baseAddress!, text.utf8Start, name.count) == 0
        }
        switch (name.count, digestLength) {
        case (6, 32) where equals("sha256"): return .sha256
        case (4, 20) where equals("sha1"): return .sha1
        case (6, 48) where equals("sha384"): return .sha384
        case (6, 64) where equals("sha512"): return .sha512
        default: return nil
        }
    }

    /// What the fast path can tell about a file measurement before the manifest lookup.
    enum FastVerdict {
        /// `judge(_:)` gives this acceptance.
        case accepted(Acceptance)
        /// `judge(_:)` accepts it as `.manifest` exactly when the (path, digest) pair is listed.
        case manifestLookup
        /// Ask `judge(_:)`.
        case full
    }

    /// For a non-violation file measurement in `context.imaPCR` with this
    /// path (the `n-ng` bytes before any NUL), digest and `sig` field bytes:
    /// a signature that verifies accepts it; otherwise, when nothing else in
    /// `judgeFile` comes first, the manifest decides. `verifiers` holds a
    /// prepared verifier pool per trusted key (see `LogChecker`).
    func fastVerdict(path: UnsafeRawBufferPointer, algorithm: HashAlgorithm, digest: UnsafeRawBufferPointer,
                     signature: UnsafeRawBufferPointer, verifiers: FastVerifiers?) -> FastVerdict {
        if path.count == 14, memcmp(path.baseAddress!, "boot_aggregate", 14) == 0 { return .full }
        if !reference.excludes.isEmpty, reference.isExcluded(Array(path)) { return .full }
        if algorithm == .sha1 && !reference.allowsSHA1 { return .full }
        if let policy = reference.imaPolicy, policy.paths.contains(FilePath(bytes: Array(path))) { return .full }
        if !signature.isEmpty {
            // Order of `judgeFile`: a verified signature accepts before the manifest is consulted.
            if let verifiers, fastVerify(signature, algorithm: algorithm, digest: digest, verifiers: verifiers) {
                return .accepted(.signature)
            }
            // Otherwise the manifest decides; a failed signature only changes the reason of a failure.
        }
        return .manifestLookup
    }

    /// True when the `sig` field holds a v2 IMA signature over `digest` that
    /// verifies with a trusted key (the conditions of `checkSignature`, in its
    /// order; the header checks are those of `IMASignature(bytes:)`). Known
    /// signatures are found in the cache by their raw bytes.
    private func fastVerify(_ field: UnsafeRawBufferPointer, algorithm: HashAlgorithm, digest: UnsafeRawBufferPointer,
                            verifiers: FastVerifiers) -> Bool {
        let header = IMASignature.headerLength
        guard field.count > header, field[0] == IMASignature.Kind.ima.rawValue, field[1] == 2,
              let hashAlgorithm = HashAlgorithm(rawValue: field[2]), hashAlgorithm == algorithm,
              Int(field[7]) << 8 | Int(field[8]) == field.count - header else { return false }
        if hashAlgorithm == .sha1 && !reference.allowsSHA1 { return false }
        let keyID = UInt32(field[3]) << 24 | UInt32(field[4]) << 16 | UInt32(field[5]) << 8 | UInt32(field[6])
        guard verifiers.keyIDs.contains(keyID) else { return false }
        let signature = UnsafeRawBufferPointer(rebasing: field[header...])
        if let signer = cache.signer(keyID: keyID, algorithm: hashAlgorithm, digest: digest, signature: signature),
           verifiers.trustedSigners.contains(signer) {
            return true
        }
        guard let candidates = verifiers.pools[keyID] else { return false }
        for candidate in candidates {
            if candidate.pool.verify(signature: signature, digest: digest, algorithm: algorithm) {
                cache.remember(keyID: keyID, algorithm: hashAlgorithm, digest: digest, signature: signature,
                               signer: candidate.signer)
                return true
            }
        }
        return false
    }

    /// The signing keys' prepared verifiers, in `signingKeys` order, with
    /// their fingerprints interned in this judge's cache.
    func makeFastVerifiers() -> FastVerifiers {
        FastVerifiers(pools: signingKeys.filter { !$0.value.isEmpty }.mapValues { keys in
            keys.map { FastVerifiers.Candidate(signer: cache.signerID(for: $0.fingerprint), pool: $0.verifiers) }
        })
    }
}

/// Per trusted keyid, the keys (as the cache's signer ids) and prepared verifier pools.
final class FastVerifiers: Sendable {
    struct Candidate: Sendable {
        let signer: SignatureCache.SignerID
        let pool: PreparedVerifierPool
    }
    let pools: [UInt32: [Candidate]]
    /// The keyids of `pools` (a short list).
    let keyIDs: [UInt32]
    /// Every candidate's signer id: a cached signature counts only when its signer is here.
    let trustedSigners: [SignatureCache.SignerID]
    init(pools: [UInt32: [Candidate]]) {
        self.pools = pools
        keyIDs = Array(pools.keys)
        trustedSigners = pools.values.flatMap { $0.map(\.signer) }
    }
}
