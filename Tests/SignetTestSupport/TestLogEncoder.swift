import Foundation
import IMAFormat
import SignetCrypto

/// A test-only writer of measurement logs, written from the kernel's layout
/// (ima_fs.c `ima_measurements_show`, ima_crypto.c
/// `ima_calc_field_array_hash_tfm`) without using the code under test: the
/// template digest is computed here with `Digester` directly.
public struct TestLogEntry: Sendable {
    public var pcr: UInt32 = 10
    public var templateName: String
    /// Field bytes, without length prefixes. For "ima": [d(20), name].
    public var fields: [[UInt8]]
    public var violation = false
    /// Replaces the computed template digest (to forge a mismatch).
    public var digestOverride: [UInt8]?

    public init(pcr: UInt32 = 10, templateName: String, fields: [[UInt8]], violation: Bool = false,
                digestOverride: [UInt8]? = nil) {
        self.pcr = pcr
        self.templateName = templateName
        self.fields = fields
        self.violation = violation
        self.digestOverride = digestOverride
    }

    public static func imaNG(_ path: String, digest: [UInt8], algorithm: HashAlgorithm = .sha256, pcr: UInt32 = 10) -> Self {
        TestLogEntry(pcr: pcr, templateName: "ima-ng",
                     fields: [TestLogEncoder.dng(algorithm, digest), TestLogEncoder.nng(path)])
    }

    public static func imaSig(_ path: String, digest: [UInt8], signature: [UInt8], algorithm: HashAlgorithm = .sha256) -> Self {
        TestLogEntry(templateName: "ima-sig",
                     fields: [TestLogEncoder.dng(algorithm, digest), TestLogEncoder.nng(path), signature])
    }

    public static func imaBuf(_ name: String, buffer: [UInt8], algorithm: HashAlgorithm = .sha256) -> Self {
        TestLogEntry(templateName: "ima-buf",
                     fields: [TestLogEncoder.dng(algorithm, Digester.hash(buffer, algorithm)), TestLogEncoder.nng(name), buffer])
    }

    public static func bootAggregate(_ digest: [UInt8], algorithm: HashAlgorithm = .sha256) -> Self {
        TestLogEntry(templateName: "ima-ng", fields: [TestLogEncoder.dng(algorithm, digest), TestLogEncoder.nng("boot_aggregate")])
    }

    public static func violation(_ path: String) -> Self {
        TestLogEntry(templateName: "ima-ng",
                     fields: [TestLogEncoder.dng(.sha256, [UInt8](repeating: 0, count: 32)), TestLogEncoder.nng(path)],
                     violation: true)
    }

    public static func legacy(_ path: String, digest: [UInt8]) -> Self {
        TestLogEntry(templateName: "ima", fields: [digest, Array(path.utf8)])
    }
}

public enum TestLogEncoder {
    public static func dng(_ algorithm: HashAlgorithm, _ digest: [UInt8]) -> [UInt8] {
        Array("\(algorithm.name):".utf8) + [0] + digest
    }

    public static func dngv2(_ type: String, _ algorithm: HashAlgorithm, _ digest: [UInt8]) -> [UInt8] {
        Array("\(type):\(algorithm.name):".utf8) + [0] + digest
    }

    public static func nng(_ path: String) -> [UInt8] { Array(path.utf8) + [0] }

    public static func u32(_ value: UInt32, _ order: LogByteOrder = .littleEndian) -> [UInt8] {
        let le = [UInt8(value & 0xff), UInt8(value >> 8 & 0xff), UInt8(value >> 16 & 0xff), UInt8(value >> 24)]
        return order == .littleEndian ? le : le.reversed()
    }

    public static func templateData(_ entry: TestLogEntry, _ order: LogByteOrder = .littleEndian) -> [UInt8] {
        if entry.templateName == "ima" {
            return entry.fields[0] + u32(UInt32(entry.fields[1].count), order) + entry.fields[1]
        }
        return entry.fields.flatMap { u32(UInt32($0.count), order) + $0 }
    }

    /// The template hash, computed the kernel's way from Digester pieces.
    public static func templateHash(_ entry: TestLogEntry, _ algorithm: HashAlgorithm, _ order: LogByteOrder = .littleEndian) -> [UInt8] {
        let digester = Digester(algorithm)
        if entry.templateName == "ima" {
            digester.update(entry.fields[0])
            digester.update(entry.fields[1] + [UInt8](repeating: 0, count: 256 - entry.fields[1].count))
        } else {
            for field in entry.fields {
                digester.update(u32(UInt32(field.count), order))
                digester.update(field)
            }
        }
        return digester.finalize()
    }

    public static func storedDigest(_ entry: TestLogEntry, _ algorithm: HashAlgorithm, _ order: LogByteOrder = .littleEndian) -> [UInt8] {
        if let override = entry.digestOverride { return override }
        if entry.violation { return [UInt8](repeating: 0, count: algorithm.digestLength) }
        return templateHash(entry, algorithm, order)
    }

    public static func encode(_ entry: TestLogEntry, order: LogByteOrder = .littleEndian,
                       digestAlgorithm: HashAlgorithm = .sha1) -> [UInt8] {
        var out = u32(entry.pcr, order)
        out += storedDigest(entry, digestAlgorithm, order)
        out += u32(UInt32(entry.templateName.utf8.count), order) + Array(entry.templateName.utf8)
        let data = templateData(entry, order)
        if entry.templateName != "ima" { out += u32(UInt32(data.count), order) }
        return out + data
    }

    public static func log(_ entries: [TestLogEntry], order: LogByteOrder = .littleEndian,
                    digestAlgorithm: HashAlgorithm = .sha1) -> [UInt8] {
        entries.flatMap { encode($0, order: order, digestAlgorithm: digestAlgorithm) }
    }

    /// The line `ima_ascii_measurements_show` prints for an entry of a known template.
    public static func asciiLine(_ entry: TestLogEntry, digestAlgorithm: HashAlgorithm = .sha1) -> String {
        let digest = Hex.encode(storedDigest(entry, digestAlgorithm, .littleEndian))
        var line = (entry.pcr < 10 ? " " : "") + "\(entry.pcr) \(digest) \(entry.templateName)"
        let ids = TemplateDescriptor(logName: entry.templateName)!.fields
        for (id, field) in zip(ids, entry.fields) {
            line += " "
            if field.isEmpty { continue }
            switch id {
            case .digest:
                line += Hex.encode(field)
            case .digestNG, .digestNGv2, .modsigDigest:
                let nul = field.firstIndex(of: 0)!
                line += String(decoding: field[..<nul], as: UTF8.self) + Hex.encode(field[(nul + 1)...])
            case .name, .nameNG, .xattrNames:
                line += String(decoding: field.prefix { $0 != 0 }, as: UTF8.self)
            case .inodeUID, .inodeGID, .inodeMode:
                line += String(field.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
            default:
                line += Hex.encode(field)
            }
        }
        return line + "\n"
    }

    /// What the kernel (5.8+) extends into `bank` for the entry.
    public static func extendValue(_ entry: TestLogEntry, bank: HashAlgorithm) -> [UInt8] {
        entry.violation ? [UInt8](repeating: 0xff, count: bank.digestLength) : templateHash(entry, bank)
    }

    /// A deterministic "digest" for test entries.
    public static func fakeDigest(_ seed: UInt8, _ length: Int = 32) -> [UInt8] {
        (0..<length).map { UInt8(truncatingIfNeeded: Int(seed) &* 31 &+ $0) }
    }

    /// A signature v2 xattr as `evmctl ima_sign` writes it (RSA-2048, keyid ebad2e13).
    public static let evmctlSignature = Hex.decode(
        "030204ebad2e130100322d2a6bb9b1f7a4218b707d23e004a6f3f9ab99e11057510d7b80bc857bf692a2f485b9b4874af3173543b41a3eca828cb537485e97bfefc9cf18e3ca224aa6ba1d116e9876f0d5cc3352f11016a1953f0d9f6debf1fccd8b3047a6fa1e537cb2403ad0c8f9cad02ac87c8c043a33ee72d31cdf73e9e8c5457b530780cf62046a147e58cf09d6d33e7a011cf06b8c6e3d5b94e2f94f18158f099ded2c93275c87362d59de3b1fe8e33ea4608d4a3d2dad4f2237da21d6d49c4979c1595078755296a6b0c019eaeb7b5ffe5740dab2cfc25f026307fd81d2f5b4e64de3064aa4dfc84e4e18c9e6569056e038bb3af43f395921b67919c7fa8e3877f53f325e9b")!
}
