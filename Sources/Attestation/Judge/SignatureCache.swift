#if canImport(Glibc)
import Glibc
#endif
import IMAFormat
import SignetCrypto
import Synchronization

/// Signatures already verified, shared by every judgement that uses it (one
/// per verifier process): a fleet runs the same binaries, so the same
/// (keyid, digest, signature) triples come back in every node's log, and
/// after the first node each is judged at the cost of a hash-table lookup.
///
/// Only successful verifications are kept, with the key that verified them
/// (its fingerprint, interned as a small `SignerID`); a hit counts only while
/// that key is still trusted by the reference in use, so removing a
/// certificate takes effect at once.
///
/// Thread-safe, in 16 shards with a lock each (chosen by the hash), so
/// threads judging one log rarely wait for each other; an entry's bytes live
/// in its shard's arena, not in arrays of their own. When a shard holds its
/// share of `capacity` it is emptied and refills; a capacity of 0 keeps
/// nothing (every signature is verified every time).
public final class SignatureCache: @unchecked Sendable {
    /// Hit and miss counters, for tests and metrics.
    public struct Statistics: Sendable, Equatable {
        public var hits: Int
        public var misses: Int
        public var entries: Int
    }

    /// A signature as the full judge holds it.
    struct Key: Hashable, Sendable {
        let keyID: UInt32
        let algorithm: HashAlgorithm
        let digest: [UInt8]
        let signature: [UInt8]
    }

    /// A signing key's fingerprint, interned: equal ids, equal fingerprints.
    typealias SignerID = Int32

    private struct Record {
        var hash: UInt64
        var keyID: UInt32
        var signer: SignerID
        /// The digest, then the signature, in the shard's arena.
        var offset: Int
        var digestLength: UInt16
        var signatureLength: UInt16
        var algorithm: HashAlgorithm
        /// The next record with the same bucket, or -1.
        var next: Int32
    }

    private struct Shard {
        var buckets: [UInt64: Int32] = [:]
        var records: [Record] = []
        var arena: [UInt8] = []
        var hits = 0
        var misses = 0

        /// The index of the record with exactly these fields, if any.
        func find(hash h: UInt64, keyID: UInt32, algorithm: HashAlgorithm, digest: UnsafeRawBufferPointer,
                  signature: UnsafeRawBufferPointer) -> Int? {
            var r = buckets[h] ?? -1
            while r >= 0 {
                let record = records[Int(r)]
                if record.hash == h, record.keyID == keyID, record.algorithm == algorithm,
                   Int(record.digestLength) == digest.count, Int(record.signatureLength) == signature.count,
                   arena.withUnsafeBytes({ a in
                       (digest.isEmpty || memcmp(a.baseAddress! + record.offset, digest.baseAddress!, digest.count) == 0)
                           && (signature.isEmpty
                               || memcmp(a.baseAddress! + record.offset + digest.count, signature.baseAddress!, signature.count) == 0)
                   }) {
                    return Int(r)
                }
                r = record.next
            }
            return nil
        }
    }

    private static let shardCount = 16
    /// Bytes between shards: each lock on cache lines of its own.
    private static let shardStride = max(128, (MemoryLayout<Mutex<Shard>>.stride + 127) / 128 * 128)

    /// The most signatures kept.
    public let capacity: Int
    private let shardCapacity: Int
    /// `shardCount` mutexes, `shardStride` bytes apart (no reference counting on the hot path).
    private let shardMemory: UnsafeMutableRawPointer
    private let signers = Mutex<(ids: [[UInt8]: SignerID], fingerprints: [[UInt8]])>(([:], []))
    /// Keys the hash, so nobody can choose log entries that collide in it.
    private let seed: UInt64

    public init(capacity: Int = 250_000) {
        self.capacity = max(0, capacity)
        shardCapacity = (self.capacity + Self.shardCount - 1) / Self.shardCount
        shardMemory = .allocate(byteCount: Self.shardCount * Self.shardStride, alignment: 128)
        for i in 0..<Self.shardCount {
            (shardMemory + i * Self.shardStride).bindMemory(to: Mutex<Shard>.self, capacity: 1).initialize(to: Mutex(Shard()))
        }
        seed = SecureRandom.bytes(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
    }

    deinit {
        for i in 0..<Self.shardCount { shard(i).deinitialize(count: 1) }
        shardMemory.deallocate()
    }

    @inline(__always)
    private func shard(_ i: Int) -> UnsafeMutablePointer<Mutex<Shard>> {
        (shardMemory + i * Self.shardStride).assumingMemoryBound(to: Mutex<Shard>.self)
    }

    // MARK: Signers

    /// The id of a signing key's fingerprint (made on first use).
    func signerID(for fingerprint: [UInt8]) -> SignerID {
        signers.withLock { table in
            if let id = table.ids[fingerprint] { return id }
            let id = SignerID(table.fingerprints.count)
            table.ids[fingerprint] = id
            table.fingerprints.append(fingerprint)
            return id
        }
    }

    private func fingerprint(of id: SignerID) -> [UInt8] {
        signers.withLock { $0.fingerprints[Int(id)] }
    }

    // MARK: Lookups

    /// The fingerprint of the key that verified this signature before, if any.
    func signer(of key: Key) -> [UInt8]? {
        let id = key.digest.withUnsafeBytes { d in
            key.signature.withUnsafeBytes { s in signer(keyID: key.keyID, algorithm: key.algorithm, digest: d, signature: s) }
        }
        return id.map(fingerprint(of:))
    }

    /// `signer(of:)` for a signature given as raw bytes, as a `SignerID`:
    /// nothing is allocated (`LogChecker`'s hot path, where a fleet's
    /// signatures are mostly known).
    func signer(keyID: UInt32, algorithm: HashAlgorithm, digest: UnsafeRawBufferPointer,
                signature: UnsafeRawBufferPointer) -> SignerID? {
        if capacity == 0 { return nil }
        let h = hash(keyID: keyID, algorithm: algorithm, digest: digest, signature: signature)
        return shard(Int(h >> 60)).pointee.withLock { shard in
            if let r = shard.find(hash: h, keyID: keyID, algorithm: algorithm, digest: digest, signature: signature) {
                shard.hits += 1
                return shard.records[r].signer
            }
            shard.misses += 1
            return nil
        }
    }

    // MARK: Recording

    /// Records a verified signature.
    func remember(_ key: Key, signer: [UInt8]) {
        if capacity == 0 { return }
        let id = signerID(for: signer)
        key.digest.withUnsafeBytes { d in
            key.signature.withUnsafeBytes { s in
                remember(keyID: key.keyID, algorithm: key.algorithm, digest: d, signature: s, signer: id)
            }
        }
    }

    /// Records a verified signature given as raw bytes.
    func remember(keyID: UInt32, algorithm: HashAlgorithm, digest: UnsafeRawBufferPointer,
                  signature: UnsafeRawBufferPointer, signer: SignerID) {
        if capacity == 0 { return }
        guard !digest.isEmpty, !signature.isEmpty, digest.count <= Int(UInt16.max), signature.count <= Int(UInt16.max) else { return }
        let h = hash(keyID: keyID, algorithm: algorithm, digest: digest, signature: signature)
        shard(Int(h >> 60)).pointee.withLock { shard in
            // Known already (two threads verified it at once, or a re-check): keep one record.
            if let r = shard.find(hash: h, keyID: keyID, algorithm: algorithm, digest: digest, signature: signature) {
                shard.records[r].signer = signer
                return
            }
            if shard.records.count >= shardCapacity {
                shard.buckets.removeAll(keepingCapacity: true)
                shard.records.removeAll(keepingCapacity: true)
                shard.arena.removeAll(keepingCapacity: true)
            }
            let offset = shard.arena.count
            shard.arena.append(contentsOf: digest)
            shard.arena.append(contentsOf: signature)
            let index = Int32(shard.records.count)
            shard.records.append(Record(hash: h, keyID: keyID, signer: signer, offset: offset,
                                        digestLength: UInt16(digest.count), signatureLength: UInt16(signature.count),
                                        algorithm: algorithm, next: shard.buckets[h] ?? -1))
            shard.buckets[h] = index
        }
    }

    // MARK: Hash

    /// A seeded hash of the key fields. The digest is a cryptographic hash
    /// and the signature a number modulo n, so words from both ends of each
    /// suffice; the record's full bytes are compared on a hit.
    @inline(__always)
    private func hash(keyID: UInt32, algorithm: HashAlgorithm, digest: UnsafeRawBufferPointer,
                      signature: UnsafeRawBufferPointer) -> UInt64 {
        @inline(__always) func words(_ b: UnsafeRawBufferPointer) -> (UInt64, UInt64) {
            if b.count >= 8 {
                return (b.loadUnaligned(as: UInt64.self), b.loadUnaligned(fromByteOffset: b.count - 8, as: UInt64.self))
            }
            var v: UInt64 = 0
            for byte in b { v = v << 8 | UInt64(byte) }
            return (v, 0)
        }
        @inline(__always) func mix(_ a: UInt64, _ b: UInt64) -> UInt64 {
            let p = a.multipliedFullWidth(by: b ^ 0xe703_7ed1_a0b4_28db)
            return p.high ^ p.low
        }
        let (d0, d1) = words(digest)
        let (s0, s1) = words(signature)
        let lengths = UInt64(digest.count) << 48 | UInt64(signature.count) << 32
        var h = mix(d0 ^ seed, d1 ^ 0xa076_1d64_78bd_642f)
        h = mix(h ^ s0, s1 ^ (lengths | UInt64(keyID)))
        return mix(h, UInt64(algorithm.rawValue) ^ 0x8ebc_6af0_9c88_c6e3)
    }

    // MARK: Statistics

    public var statistics: Statistics {
        var total = Statistics(hits: 0, misses: 0, entries: 0)
        for i in 0..<Self.shardCount {
            shard(i).pointee.withLock {
                total.hits += $0.hits
                total.misses += $0.misses
                total.entries += $0.records.count
            }
        }
        return total
    }

    /// Forgets every signature and resets the counters.
    public func removeAll() {
        for i in 0..<Self.shardCount { shard(i).pointee.withLock { $0 = Shard() } }
    }
}
