#if canImport(Glibc)
import Glibc
#endif
import IMAFormat
import Synchronization

/// Signatures already verified, shared by every judgement that uses it (one
/// per verifier process): a fleet runs the same binaries, so the same
/// (keyid, digest, signature) triples come back in every node's log, and
/// after the first node each is judged at the cost of a dictionary lookup.
///
/// Only successful verifications are kept, with the fingerprint of the key
/// that verified them; a hit counts only while that key is still trusted by
/// the reference in use, so removing a certificate takes effect at once.
/// Thread-safe. When `capacity` is reached the cache is emptied and refills;
/// a capacity of 0 keeps nothing (every signature is verified every time).
public final class SignatureCache: Sendable {
    /// Hit and miss counters, for tests and metrics.
    public struct Statistics: Sendable, Equatable {
        public var hits: Int
        public var misses: Int
        public var entries: Int
    }

    struct Key: Hashable, Sendable {
        let keyID: UInt32
        let algorithm: HashAlgorithm
        let digest: [UInt8]
        let signature: [UInt8]

        // Hashes the bytes as blocks: the synthesized Array hashing feeds a
        // 256-byte RSA signature to the hasher one byte at a time.
        func hash(into hasher: inout Hasher) {
            hasher.combine(keyID)
            hasher.combine(algorithm)
            digest.withUnsafeBytes { hasher.combine(bytes: $0) }
            signature.withUnsafeBytes { hasher.combine(bytes: $0) }
        }
    }

    private struct State {
        var verified: [Key: [UInt8]] = [:]
        /// The same entries by a cheap hash of their bytes, for `signer(keyID:…)`.
        var byHash: [UInt64: [(key: Key, signer: [UInt8])]] = [:]
        var hits = 0
        var misses = 0
    }

    /// The most signatures kept.
    public let capacity: Int
    private let state = Mutex(State())

    public init(capacity: Int = 250_000) {
        self.capacity = max(0, capacity)
    }

    /// The fingerprint of the key that verified this signature before, if any.
    func signer(of key: Key) -> [UInt8]? {
        if capacity == 0 { return nil }
        return state.withLock { state in
            if let signer = state.verified[key] {
                state.hits += 1
                return signer
            }
            state.misses += 1
            return nil
        }
    }

    /// `signer(of:)` for a key given as raw bytes: nothing is allocated
    /// (`LogChecker`'s hot path, where a fleet's signatures are mostly known).
    func signer(keyID: UInt32, algorithm: HashAlgorithm, digest: UnsafeRawBufferPointer,
                signature: UnsafeRawBufferPointer) -> [UInt8]? {
        if capacity == 0 { return nil }
        let h = Self.rawHash(keyID: keyID, algorithm: algorithm, digest: digest, signature: signature)
        return state.withLock { state in
            if let candidates = state.byHash[h] {
                for c in candidates where c.key.keyID == keyID && c.key.algorithm == algorithm
                    && Self.same(c.key.digest, digest) && Self.same(c.key.signature, signature) {
                    state.hits += 1
                    return c.signer
                }
            }
            state.misses += 1
            return nil
        }
    }

    /// Records a verified signature.
    func remember(_ key: Key, signer: [UInt8]) {
        if capacity == 0 { return }
        let h = key.digest.withUnsafeBytes { d in
            key.signature.withUnsafeBytes { s in Self.rawHash(keyID: key.keyID, algorithm: key.algorithm, digest: d, signature: s) }
        }
        state.withLock { state in
            if state.verified.count >= capacity {
                state.verified.removeAll(keepingCapacity: true)
                state.byHash.removeAll(keepingCapacity: true)
            }
            if state.verified.updateValue(signer, forKey: key) != nil {
                state.byHash[h]?.removeAll { $0.key == key }
            }
            state.byHash[h, default: []].append((key, signer))
        }
    }

    private static func rawHash(keyID: UInt32, algorithm: HashAlgorithm, digest: UnsafeRawBufferPointer,
                                signature: UnsafeRawBufferPointer) -> UInt64 {
        BytePairSet.hash(digest, signature) ^ (UInt64(keyID) << 8 | UInt64(algorithm.rawValue)) &* 0x9e37_79b9_7f4a_7c15
    }

    private static func same(_ a: [UInt8], _ b: UnsafeRawBufferPointer) -> Bool {
        a.count == b.count && a.withUnsafeBytes { a in b.isEmpty || memcmp(a.baseAddress!, b.baseAddress!, b.count) == 0 }
    }

    public var statistics: Statistics {
        state.withLock { Statistics(hits: $0.hits, misses: $0.misses, entries: $0.verified.count) }
    }

    /// Forgets every signature and resets the counters.
    public func removeAll() {
        state.withLock { $0 = State() }
    }
}
