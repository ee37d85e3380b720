/// A digest and the algorithm that made it: what a reference lists and what
/// a measurement is compared with. Two values are equal only when algorithm
/// and bytes both are, so a value listed as SHA-256 never matches a
/// measurement that names another algorithm, whatever its length.
public struct AlgorithmDigest: Hashable, Sendable, CustomStringConvertible {
    public var algorithm: HashAlgorithm
    public var bytes: [UInt8]

    /// A digest of `algorithm`. One whose length is not the algorithm's
    /// never equals a measured digest (those are checked: `EventDigest.problem`).
    public init(_ algorithm: HashAlgorithm, _ bytes: [UInt8]) {
        self.algorithm = algorithm
        self.bytes = bytes
    }

    /// `sha256:<hex>`.
    public var description: String { "\(algorithm.name):\(Hex.encode(bytes))" }
}
