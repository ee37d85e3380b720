import Signing

/// Known-good file digests: per path (from provenance manifests, or a
/// Keylime policy's `digests`) and, for content not tied to one path, a
/// global set. Digests are kept as bytes without their algorithm: lengths
/// differ between the algorithms IMA uses, so a SHA-1 value never equals a
/// SHA-256 one.
public struct DigestAllowlist: Sendable, Equatable {
    /// Digests allowed at each path.
    public private(set) var byPath: [FilePath: Set<[UInt8]>] = [:]
    /// Every digest allowed anywhere: all of `byPath`'s plus those added with `allowAnywhere`.
    public private(set) var anywhere: Set<[UInt8]> = []
    /// Digests added with `allowAnywhere` only (not tied to a path).
    public private(set) var pathless: Set<[UInt8]> = []
    /// `byPath` keyed for fast lookups (paths and digests hashed as byte blocks).
    private var index: [ByteString: Set<ByteString>] = [:]

    public init() {}

    public static func == (a: DigestAllowlist, b: DigestAllowlist) -> Bool {
        a.byPath == b.byPath && a.anywhere == b.anywhere && a.pathless == b.pathless
    }

    /// Whether `digest` is allowed at `path`: nil when the path is not listed.
    public func allows(_ digest: [UInt8], at path: [UInt8]) -> Bool? {
        guard let listed = index[ByteString(path)] else { return nil }
        return listed.contains(ByteString(digest))
    }

    /// Allows `digest` at `path` (and, for `ManifestScope.anyPath`, anywhere).
    public mutating func allow(_ digest: [UInt8], at path: FilePath) {
        byPath[path, default: []].insert(digest)
        index[ByteString(path.bytes), default: []].insert(ByteString(digest))
        anywhere.insert(digest)
    }

    /// Allows `digest` at any path, e.g. content copied around at run time.
    public mutating func allowAnywhere(_ digest: [UInt8]) {
        anywhere.insert(digest)
        pathless.insert(digest)
    }

    /// The digests allowed at `path`, or nil when the path is not listed.
    public func digests(at path: FilePath) -> Set<[UInt8]>? { byPath[path] }

    /// Number of (path, digest) pairs plus path-less digests.
    public var count: Int { byPath.values.reduce(0) { $0 + $1.count } + pathless.count }
    public var isEmpty: Bool { anywhere.isEmpty }
}

/// Bytes hashed as one block (the synthesized `Array` hashing feeds the
/// hasher one byte at a time, which dominates lookups of long paths).
struct ByteString: Hashable, Sendable {
    let bytes: [UInt8]
    init(_ bytes: [UInt8]) { self.bytes = bytes }
    func hash(into hasher: inout Hasher) { bytes.withUnsafeBytes { hasher.combine(bytes: $0) } }
}
