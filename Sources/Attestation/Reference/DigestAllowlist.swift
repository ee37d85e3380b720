#if canImport(Glibc)
import Glibc
#endif
import IMAFormat
import Provenance

/// Known-good file digests: per path (from provenance manifests, or a
/// Keylime policy's `digests`) and, for content not tied to one path, a
/// global set. Digests are kept with their algorithm and compared as
/// (algorithm, digest) pairs: a measurement matches only a digest listed
/// with the algorithm it names, never bytes that happen to be equal.
public struct DigestAllowlist: Sendable, Equatable {
    /// Digests allowed at each path.
    public private(set) var byPath: [FilePath: Set<AlgorithmDigest>] = [:]
    /// Every digest allowed anywhere: all of `byPath`'s plus those added with `allowAnywhere`.
    public private(set) var anywhere: Set<AlgorithmDigest> = []
    /// Digests added with `allowAnywhere` only (not tied to a path).
    public private(set) var pathless: Set<AlgorithmDigest> = []
    /// Every (path, algorithm, digest) of `byPath`, for lookups by raw bytes that allocate nothing.
    private var pairs = BytePairSet()

    public init() {}

    public static func == (a: DigestAllowlist, b: DigestAllowlist) -> Bool {
        a.byPath == b.byPath && a.anywhere == b.anywhere && a.pathless == b.pathless
    }

    /// Whether `digest` is allowed at `path`: nil when the path is not listed.
    public func allows(_ digest: AlgorithmDigest, at path: [UInt8]) -> Bool? {
        let listed = path.withUnsafeBytes { p in
            digest.bytes.withUnsafeBytes { d in pairs.contains(p, d, tag: digest.algorithm.rawValue) }
        }
        if listed { return true }
        return byPath[FilePath(bytes: path)] == nil ? nil : false
    }

    /// Whether `digest`, of `algorithm`, is listed at `path` (false also when
    /// the path is not listed). Allocation-free: the check-log hot path.
    public func contains(_ algorithm: HashAlgorithm, _ digest: UnsafeRawBufferPointer, at path: UnsafeRawBufferPointer) -> Bool {
        pairs.contains(path, digest, tag: algorithm.rawValue)
    }

    /// `contains` for many (path, algorithm, digest) at once, their memory
    /// accesses overlapped: `found[k]` tells about `queries[k]` (a: path, b:
    /// digest, tag: `HashAlgorithm.rawValue`).
    func containsAll(_ queries: UnsafeBufferPointer<BytePairSet.Query>, found: UnsafeMutablePointer<Bool>) {
        pairs.containsAll(queries, found: found)
    }

    /// Allows `digest` at `path` (and, for `ManifestScope.anyPath`, anywhere).
    public mutating func allow(_ digest: AlgorithmDigest, at path: FilePath) {
        if byPath[path, default: []].insert(digest).inserted { pairs.insert(path.bytes, digest.bytes, tag: digest.algorithm.rawValue) }
        anywhere.insert(digest)
    }

    /// Makes room for `paths` more paths (a big reference built at once).
    public mutating func reserveCapacity(paths: Int) {
        byPath.reserveCapacity(byPath.count + paths)
    }

    /// Allows `digest` at any path, e.g. content copied around at run time.
    public mutating func allowAnywhere(_ digest: AlgorithmDigest) {
        anywhere.insert(digest)
        pathless.insert(digest)
    }

    /// The digests allowed at `path`, or nil when the path is not listed.
    public func digests(at path: FilePath) -> Set<AlgorithmDigest>? { byPath[path] }

    /// Number of (path, digest) pairs plus path-less digests.
    public var count: Int { byPath.values.reduce(0) { $0 + $1.count } + pathless.count }
    public var isEmpty: Bool { anywhere.isEmpty }
}

/// A set of (a, b, tag) for byte strings a and b and a tag byte, for lookups
/// by raw bytes that allocate nothing. One arena holds each as `u32 a.count |
/// u32 (b.count | tag << 24) | a | b` (b is a digest: far below 2^24 bytes);
/// an open-addressing table of 8-byte slots holds a 24-bit tag of
/// the pair's hash and its arena offset, so a lookup touches one slot and
/// one record (two cache misses on a big manifest, where a `[key: Set]`
/// index takes four or more). Big tables ask for transparent huge pages:
/// random lookups in 100 MB otherwise miss the TLB as well. `containsAll`
/// looks up many pairs at once so that their cache misses overlap.
/// The keys come from the reference (trusted), so a fixed hash function is
/// fine: a log's paths only choose which probe sequence is walked.
/// Copy-on-write: copies share storage until one of them inserts.
struct BytePairSet: @unchecked Sendable {
    /// A pair to look up.
    struct Query {
        var a: UnsafeRawBufferPointer
        var b: UnsafeRawBufferPointer
        var tag: UInt8
        init(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer, tag: UInt8) { self.a = a; self.b = b; self.tag = tag }
    }

    /// The second u32 of a record: b's length and the tag.
    @inline(__always)
    static func lengthAndTag(_ b: UnsafeRawBufferPointer, _ tag: UInt8) -> UInt32 {
        UInt32(truncatingIfNeeded: b.count) | UInt32(tag) << 24
    }

    private final class Storage: @unchecked Sendable {
        var slots: UnsafeMutablePointer<UInt64>
        var slotCount: Int
        var arena: UnsafeMutableRawPointer
        var arenaCapacity: Int
        var arenaUsed = 0
        var count = 0

        init(slotCount: Int, arenaCapacity: Int) {
            self.slotCount = slotCount
            slots = Self.allocate(slotCount * 8).bindMemory(to: UInt64.self, capacity: slotCount)
            slots.initialize(repeating: 0, count: slotCount)
            self.arenaCapacity = arenaCapacity
            arena = Self.allocate(arenaCapacity)
        }

        deinit {
            free(slots)
            free(arena)
        }

        func copy() -> Storage {
            let c = Storage(slotCount: slotCount, arenaCapacity: arenaCapacity)
            c.slots.update(from: slots, count: slotCount)
            c.arena.copyMemory(from: arena, byteCount: arenaUsed)
            c.arenaUsed = arenaUsed
            c.count = count
            return c
        }

        /// Memory aligned for huge pages when big (advised before first touch).
        static func allocate(_ bytes: Int) -> UnsafeMutableRawPointer {
            let huge = 2 << 20
            var p: UnsafeMutableRawPointer?
            if bytes >= huge {
                let rounded = (bytes + huge - 1) / huge * huge
                if posix_memalign(&p, huge, rounded) == 0, let p {
                    _ = madvise(p, rounded, 14 /* MADV_HUGEPAGE */)
                    return p
                }
            }
            guard let m = malloc(max(bytes, 16)) else { fatalError("out of memory") }
            return m
        }
    }

    private var storage = Storage(slotCount: 16, arenaCapacity: 1024)

    var count: Int { storage.count }

    mutating func insert(_ a: [UInt8], _ b: [UInt8], tag: UInt8) {
        precondition(b.count < 1 << 24, "a digest of \(b.count) bytes")
        let present = a.withUnsafeBytes { pa in b.withUnsafeBytes { pb in contains(pa, pb, tag: tag) } }
        if present { return }
        if !isKnownUniquelyReferenced(&storage) { storage = storage.copy() }
        let s = storage
        let need = 8 + a.count + b.count
        if s.arenaUsed + need > s.arenaCapacity {
            var capacity = s.arenaCapacity * 2
            while s.arenaUsed + need > capacity { capacity *= 2 }
            let arena = Storage.allocate(capacity)
            arena.copyMemory(from: s.arena, byteCount: s.arenaUsed)
            free(s.arena)
            s.arena = arena
            s.arenaCapacity = capacity
        }
        let offset = s.arenaUsed
        s.arena.storeBytes(of: UInt32(a.count), toByteOffset: offset, as: UInt32.self)
        s.arena.storeBytes(of: UInt32(b.count) | UInt32(tag) << 24, toByteOffset: offset + 4, as: UInt32.self)
        a.withUnsafeBytes { if !$0.isEmpty { (s.arena + offset + 8).copyMemory(from: $0.baseAddress!, byteCount: $0.count) } }
        b.withUnsafeBytes { if !$0.isEmpty { (s.arena + offset + 8 + a.count).copyMemory(from: $0.baseAddress!, byteCount: $0.count) } }
        s.arenaUsed += need
        s.count += 1
        if s.count * 2 > s.slotCount {
            rehash(s, slotCount: s.slotCount * 2)
        } else {
            let h = a.withUnsafeBytes { pa in b.withUnsafeBytes { pb in Self.hash(pa, pb, tag: tag) } }
            Self.place(s, offset: offset, hash: h)
        }
    }

    func contains(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer, tag: UInt8) -> Bool {
        let s = storage
        let h = Self.hash(a, b, tag: tag)
        return Self.probe(s, a, b, tag, h, first: s.slots[Int(truncatingIfNeeded: h) & (s.slotCount - 1)])
    }

    /// `found[k]` = whether `queries[k]` is in the set. The slot loads of all
    /// queries are issued before any record is compared, so the misses overlap.
    func containsAll(_ queries: UnsafeBufferPointer<Query>, found: UnsafeMutablePointer<Bool>) {
        let s = storage
        let mask = s.slotCount - 1
        withUnsafeTemporaryAllocation(of: (UInt64, UInt64).self, capacity: queries.count) { firsts in
            // Hashes first, then a tight loop of slot loads: with little work
            // between them, many misses are in flight at once.
            for k in queries.indices { firsts[k].0 = Self.hash(queries[k].a, queries[k].b, tag: queries[k].tag) }
            for k in queries.indices { firsts[k].1 = s.slots[Int(truncatingIfNeeded: firsts[k].0) & mask] }
            // First the slot's record of every query: its lengths and last
            // byte (independent loads, so the misses overlap), then the full
            // comparisons.
            for k in queries.indices {
                let (h, slot) = firsts[k]
                let q = queries[k]
                found[k] = false
                guard slot != 0, slot >> 40 == h >> 40 else { continue }
                let record = s.arena + Int(slot & 0xff_ffff_ffff) - 1
                let header = UInt64(UInt32(q.a.count)) | UInt64(Self.lengthAndTag(q.b, q.tag)) << 32
                guard record.loadUnaligned(as: UInt64.self) == header else { continue }
                found[k] = q.b.isEmpty || record.load(fromByteOffset: 7 + q.a.count + q.b.count, as: UInt8.self) == q.b[q.b.count - 1]
            }
            for k in queries.indices {
                let q = queries[k]
                if found[k] {
                    let record = s.arena + Int(firsts[k].1 & 0xff_ffff_ffff) - 1
                    if Self.equal(record + 8, q.a) && Self.equal(record + 8 + q.a.count, q.b) { continue }
                }
                found[k] = Self.probe(s, q.a, q.b, q.tag, firsts[k].0, first: firsts[k].1)
            }
        }
    }

    @inline(__always)
    private static func probe(_ s: Storage, _ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer, _ tag: UInt8,
                              _ h: UInt64, first: UInt64) -> Bool {
        let mask = s.slotCount - 1
        let hashTag = h >> 40
        var i = Int(truncatingIfNeeded: h) & mask
        var slot = first
        while slot != 0 {
            if slot >> 40 == hashTag {
                let offset = Int(slot & 0xff_ffff_ffff) - 1
                let record = s.arena + offset
                if Int(record.loadUnaligned(as: UInt32.self)) == a.count
                    && record.loadUnaligned(fromByteOffset: 4, as: UInt32.self) == lengthAndTag(b, tag)
                    && equal(record + 8, a) && equal(record + 8 + a.count, b) {
                    return true
                }
            }
            i = (i + 1) & mask
            slot = s.slots[i]
        }
        return false
    }

    private static func place(_ s: Storage, offset: Int, hash h: UInt64) {
        let mask = s.slotCount - 1
        var i = Int(truncatingIfNeeded: h) & mask
        while s.slots[i] != 0 { i = (i + 1) & mask }
        s.slots[i] = (h >> 40) << 40 | UInt64(offset + 1)
    }

    private func rehash(_ s: Storage, slotCount: Int) {
        free(s.slots)
        s.slots = Storage.allocate(slotCount * 8).bindMemory(to: UInt64.self, capacity: slotCount)
        s.slots.initialize(repeating: 0, count: slotCount)
        s.slotCount = slotCount
        var offset = 0
        while offset < s.arenaUsed {
            let aLength = Int(s.arena.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
            let lengthAndTag = s.arena.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)
            let bLength = Int(lengthAndTag & 0xff_ffff)
            let h = Self.hash(UnsafeRawBufferPointer(start: s.arena + offset + 8, count: aLength),
                              UnsafeRawBufferPointer(start: s.arena + offset + 8 + aLength, count: bLength),
                              tag: UInt8(truncatingIfNeeded: lengthAndTag >> 24))
            Self.place(s, offset: offset, hash: h)
            offset += 8 + aLength + bLength
        }
    }

    @inline(__always)
    private static func equal(_ p: UnsafeRawPointer, _ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.isEmpty || memcmp(p, bytes.baseAddress!, bytes.count) == 0
    }

    @inline(__always)
    static func hash(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer, tag: UInt8) -> UInt64 {
        mix(b, mix(a, 0x243f_6a88_85a3_08d3 ^ UInt64(a.count) ^ UInt64(tag) << 56))
    }

    /// 8 bytes a step, multiply-xorshift (the finalizer of MurmurHash3).
    @inline(__always)
    private static func mix(_ p: UnsafeRawBufferPointer, _ seed: UInt64) -> UInt64 {
        var h = seed ^ (UInt64(p.count) &* 0x9e37_79b9_7f4a_7c15)
        let n = p.count
        guard n > 0, let base = p.baseAddress else { return h }
        var i = 0
        while i + 8 <= n {
            h = (h ^ base.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0xff51_afd7_ed55_8ccd
            h ^= h >> 32
            i += 8
        }
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        while i < n {
            tail |= UInt64(base.load(fromByteOffset: i, as: UInt8.self)) << shift
            shift += 8
            i += 1
        }
        h = (h ^ tail) &* 0xc4ce_b9fe_1a85_ec53
        h ^= h >> 29
        return h
    }
}
