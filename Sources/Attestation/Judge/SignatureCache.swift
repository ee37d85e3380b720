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

    /// Records a verified signature.
    func remember(_ key: Key, signer: [UInt8]) {
        if capacity == 0 { return }
        state.withLock { state in
            if state.verified.count >= capacity { state.verified.removeAll(keepingCapacity: true) }
            state.verified[key] = signer
        }
    }

    public var statistics: Statistics {
        state.withLock { Statistics(hits: $0.hits, misses: $0.misses, entries: $0.verified.count) }
    }

    /// Forgets every signature and resets the counters.
    public func removeAll() {
        state.withLock { $0 = State() }
    }
}
