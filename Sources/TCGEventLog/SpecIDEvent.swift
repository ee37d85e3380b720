/// The Spec ID event (`TCG_EfiSpecIDEvent`, signature "Spec ID Event03"):
/// the data of the first event of a crypto-agile log. It lists the
/// algorithms the later events carry digests of, and their sizes.
public struct SpecIDEvent: Hashable, Sendable {
    /// The 16-byte signature the crypto-agile format uses.
    public static let signature03: [UInt8] = Array("Spec ID Event03".utf8) + [0]
    /// Most algorithms a Spec ID event may list (a TPM has few banks; HASH_COUNT-sized).
    public static let maxAlgorithms = 16
    /// Largest digest size accepted for an algorithm the code does not know (SHA-512's).
    public static let maxDigestSize = 64

    public var platformClass: UInt32
    public var specVersionMinor: UInt8
    public var specVersionMajor: UInt8
    public var specErrata: UInt8
    /// 1 for UINT32, 2 for UINT64 firmware.
    public var uintnSize: UInt8
    /// The algorithms and the digest size each event's digest of that algorithm has, in log order.
    public var algorithms: [(algorithm: TCGAlgorithm, digestSize: Int)]
    public var vendorInfo: [UInt8]

    public init(platformClass: UInt32 = 0, specVersionMinor: UInt8 = 0, specVersionMajor: UInt8 = 2, specErrata: UInt8 = 0,
                uintnSize: UInt8 = 2, algorithms: [(algorithm: TCGAlgorithm, digestSize: Int)], vendorInfo: [UInt8] = []) {
        self.platformClass = platformClass
        self.specVersionMinor = specVersionMinor
        self.specVersionMajor = specVersionMajor
        self.specErrata = specErrata
        self.uintnSize = uintnSize
        self.algorithms = algorithms
        self.vendorInfo = vendorInfo
    }

    /// The digest size listed for an algorithm; nil if it is not listed.
    public func digestSize(of algorithm: TCGAlgorithm) -> Int? {
        algorithms.first(where: { $0.algorithm == algorithm })?.digestSize
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.platformClass == rhs.platformClass && lhs.specVersionMinor == rhs.specVersionMinor
            && lhs.specVersionMajor == rhs.specVersionMajor && lhs.specErrata == rhs.specErrata
            && lhs.uintnSize == rhs.uintnSize && lhs.vendorInfo == rhs.vendorInfo
            && lhs.algorithms.map(\.algorithm) == rhs.algorithms.map(\.algorithm)
            && lhs.algorithms.map(\.digestSize) == rhs.algorithms.map(\.digestSize)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(platformClass)
        hasher.combine(algorithms.map(\.algorithm))
    }

    /// Decodes the event data of a Spec ID event (signature included); the
    /// data must be exactly the structure. Checks each listed size against
    /// the algorithm's own, and refuses duplicates, an empty list, sizes of 0
    /// or above `maxDigestSize`.
    static func decode(_ data: [UInt8], base: Int, event: Int) throws(TCGEventLogError) -> SpecIDEvent {
        var r = LittleEndianReader(data, base: base, event: event, structure: "TCG_EfiSpecIDEvent.")
        func invalid(_ field: String, at: Int, _ reason: String) -> TCGEventLogError {
            .init(code: .invalidSpecID, eventIndex: event, offset: at, field: "TCG_EfiSpecIDEvent." + field, reason: reason)
        }
        let signatureAt = r.offset
        let signature = try r.bytes(16, "signature")
        guard signature == signature03 else {
            throw invalid("signature", at: signatureAt, "expected \"Spec ID Event03\" and a NUL")
        }
        let platformClass = try r.u32("platformClass")
        let minor = try r.u8("specVersionMinor")
        let major = try r.u8("specVersionMajor")
        let errata = try r.u8("specErrata")
        let uintnAt = r.offset
        let uintn = try r.u8("uintnSize")
        guard uintn == 1 || uintn == 2 else { throw invalid("uintnSize", at: uintnAt, "is \(uintn); expected 1 or 2") }
        let countAt = r.offset
        let count = try r.u32("numberOfAlgorithms")
        guard count >= 1, count <= UInt32(maxAlgorithms) else {
            throw invalid("numberOfAlgorithms", at: countAt, "is \(count); expected 1-\(maxAlgorithms)")
        }
        var algorithms = [(algorithm: TCGAlgorithm, digestSize: Int)]()
        for i in 0..<Int(count) {
            let at = r.offset
            let algorithm = TCGAlgorithm(rawValue: try r.u16("digestSizes[\(i)].algorithmId"))
            let sizeAt = r.offset
            let size = Int(try r.u16("digestSizes[\(i)].digestSize"))
            guard !algorithms.contains(where: { $0.algorithm == algorithm }) else {
                throw invalid("digestSizes[\(i)].algorithmId", at: at, "\(algorithm.name) is listed twice")
            }
            if let known = algorithm.digestSize {
                guard size == known else {
                    throw TCGEventLogError(code: .digestSizeMismatch, eventIndex: event, offset: sizeAt,
                                           field: "TCG_EfiSpecIDEvent.digestSizes[\(i)].digestSize",
                                           reason: "lists \(algorithm.name) with \(size) byte(s); its digests have \(known)")
                }
            } else {
                guard size >= 1, size <= maxDigestSize else {
                    throw invalid("digestSizes[\(i)].digestSize", at: sizeAt,
                                  "lists \(algorithm.name) with \(size) byte(s); expected 1-\(maxDigestSize)")
                }
            }
            algorithms.append((algorithm, size))
        }
        let vendorSize = Int(try r.u8("vendorInfoSize"))
        let vendor = try r.bytes(vendorSize, "vendorInfo")
        guard r.isAtEnd else {
            throw invalid("vendorInfo", at: r.offset, "\(r.remaining) byte(s) left after vendorInfo (eventSize lies)")
        }
        return SpecIDEvent(platformClass: platformClass, specVersionMinor: minor, specVersionMajor: major, specErrata: errata,
                           uintnSize: uintn, algorithms: algorithms, vendorInfo: vendor)
    }

    /// The event data bytes.
    public func encoded() -> [UInt8] {
        var out = Self.signature03
        out += platformClass.littleEndianBytes
        out += [specVersionMinor, specVersionMajor, specErrata, uintnSize]
        out += UInt32(algorithms.count).littleEndianBytes
        for (algorithm, size) in algorithms {
            out += algorithm.rawValue.littleEndianBytes
            out += UInt16(truncatingIfNeeded: size).littleEndianBytes
        }
        out.append(UInt8(truncatingIfNeeded: vendorInfo.count))
        out += vendorInfo
        return out
    }
}
