import IMAFormat
import TCGEventLog

/// The Authenticode digest of a PE/COFF image (an EFI application: shim,
/// grub, a kernel with its EFI stub): what UEFI firmware and shim extend into
/// PCR 4 in an EV_EFI_BOOT_SERVICES_APPLICATION event and what db/dbx hashes
/// name. Microsoft's "Windows Authenticode Portable Executable Signature
/// Format": hash the headers except the CheckSum field and the Certificate
/// Table data-directory entry, then each section with raw data in
/// PointerToRawData order, then the data after the last section except the
/// attribute certificate table. PE32 and PE32+.
///
/// Pure: the hash function comes in through `TCGEventLogHashing`. Every
/// offset is checked before use: hostile bytes give an `AuthenticodeError`
/// naming the offset and the field, never a trap.
public enum Authenticode {
    /// The most sections accepted (the PE/COFF specification's loader limit is 96).
    public static let maxSections = 96

    /// What an image's headers say about the hashed ranges.
    public struct Layout: Hashable, Sendable {
        /// 0x10b (PE32) or 0x20b (PE32+).
        public var optionalHeaderMagic: UInt16
        /// Offset of the optional header's CheckSum field.
        public var checksumOffset: Int
        /// Offset of the Certificate Table data-directory entry; nil when the image has fewer than 5 directories.
        public var certificateEntryOffset: Int?
        /// SizeOfHeaders.
        public var sizeOfHeaders: Int
        /// The sections with raw data, sorted by PointerToRawData: (file offset, size).
        public var sections: [(offset: Int, size: Int)]
        /// The attribute certificate table (file offset, size); nil when the image is not signed.
        public var certificateTable: (offset: Int, size: Int)?

        public static func == (lhs: Self, rhs: Self) -> Bool {
            lhs.optionalHeaderMagic == rhs.optionalHeaderMagic && lhs.checksumOffset == rhs.checksumOffset
                && lhs.certificateEntryOffset == rhs.certificateEntryOffset && lhs.sizeOfHeaders == rhs.sizeOfHeaders
                && lhs.sections.map(\.offset) == rhs.sections.map(\.offset) && lhs.sections.map(\.size) == rhs.sections.map(\.size)
                && lhs.certificateTable?.offset == rhs.certificateTable?.offset && lhs.certificateTable?.size == rhs.certificateTable?.size
        }
        public func hash(into hasher: inout Hasher) { hasher.combine(sizeOfHeaders) }

        /// The byte ranges hashed, in order.
        public func hashedRanges(fileSize: Int) -> [Range<Int>] {
            var ranges = [Range<Int>]()
            func add(_ r: Range<Int>) { if !r.isEmpty { ranges.append(r) } }
            if let cert = certificateEntryOffset {
                add(0..<checksumOffset)
                add((checksumOffset + 4)..<cert)
                add((cert + 8)..<sizeOfHeaders)
            } else {
                add(0..<checksumOffset)
                add((checksumOffset + 4)..<sizeOfHeaders)
            }
            var sum = sizeOfHeaders
            for s in sections {
                add(s.offset..<(s.offset + s.size))
                sum += s.size
            }
            let end = fileSize - (certificateTable?.size ?? 0)
            if end > sum { add(sum..<end) }
            return ranges
        }
    }

    /// Reads and checks the headers of a PE/COFF image.
    public static func layout(of image: [UInt8]) throws(AuthenticodeError) -> Layout {
        let r = PEReader(image)
        guard try r.u16(at: 0, "IMAGE_DOS_HEADER.e_magic") == 0x5a4d else {
            throw AuthenticodeError(.notPE, offset: 0, field: "IMAGE_DOS_HEADER.e_magic", reason: "not \"MZ\"")
        }
        let pe = Int(try r.u32(at: 0x3c, "IMAGE_DOS_HEADER.e_lfanew"))
        guard try r.u32(at: pe, "PE signature") == 0x0000_4550 else {
            throw AuthenticodeError(.notPE, offset: pe, field: "PE signature", reason: "not \"PE\\0\\0\"")
        }
        let coff = pe + 4
        let sectionCount = Int(try r.u16(at: coff + 2, "IMAGE_FILE_HEADER.NumberOfSections"))
        guard sectionCount <= maxSections else {
            throw AuthenticodeError(.tooManySections, offset: coff + 2, field: "IMAGE_FILE_HEADER.NumberOfSections",
                                    reason: "\(sectionCount) section(s); the bound is \(maxSections)")
        }
        let optionalSize = Int(try r.u16(at: coff + 16, "IMAGE_FILE_HEADER.SizeOfOptionalHeader"))
        let optional = coff + 20
        let magic = try r.u16(at: optional, "IMAGE_OPTIONAL_HEADER.Magic")
        let directoriesAt: Int
        switch magic {
        case 0x10b: directoriesAt = 96
        case 0x20b: directoriesAt = 112
        default:
            throw AuthenticodeError(.unknownOptionalHeader, offset: optional, field: "IMAGE_OPTIONAL_HEADER.Magic",
                                    reason: "0x\(String(magic, radix: 16)); expected 0x10b (PE32) or 0x20b (PE32+)")
        }
        guard optionalSize >= directoriesAt else {
            throw AuthenticodeError(.headerOutOfBounds, offset: coff + 16, field: "IMAGE_FILE_HEADER.SizeOfOptionalHeader",
                                    reason: "\(optionalSize) byte(s) does not hold the \(directoriesAt) byte(s) before the data directories")
        }
        let sizeOfHeaders = Int(try r.u32(at: optional + 60, "IMAGE_OPTIONAL_HEADER.SizeOfHeaders"))
        let checksum = optional + 64
        let directoryCount = Int(try r.u32(at: optional + directoriesAt - 4, "IMAGE_OPTIONAL_HEADER.NumberOfRvaAndSizes"))
        guard UInt64(directoriesAt) + UInt64(directoryCount) * 8 <= UInt64(optionalSize) else {
            throw AuthenticodeError(.headerOutOfBounds, offset: optional + directoriesAt - 4,
                                    field: "IMAGE_OPTIONAL_HEADER.NumberOfRvaAndSizes",
                                    reason: "\(directoryCount) director(ies) do not fit the \(optionalSize)-byte optional header")
        }
        var certificateEntry: Int?
        var certificateTable: (offset: Int, size: Int)?
        if directoryCount > 4 {
            let entry = optional + directoriesAt + 4 * 8
            certificateEntry = entry
            let offset = Int(try r.u32(at: entry, "DataDirectory[CERTIFICATE_TABLE].VirtualAddress"))
            let size = Int(try r.u32(at: entry + 4, "DataDirectory[CERTIFICATE_TABLE].Size"))
            if size > 0 {
                guard offset + size <= image.count else {
                    throw AuthenticodeError(.certificateTableOutOfBounds, offset: entry, field: "DataDirectory[CERTIFICATE_TABLE]",
                                            reason: "the table at \(offset), \(size) byte(s), runs past the image's \(image.count) byte(s)")
                }
                certificateTable = (offset, size)
            }
        }
        let sectionTable = optional + optionalSize
        let sectionTableEnd = sectionTable + 40 * sectionCount
        guard sizeOfHeaders >= sectionTableEnd, sizeOfHeaders <= image.count else {
            throw AuthenticodeError(.headerOutOfBounds, offset: optional + 60, field: "IMAGE_OPTIONAL_HEADER.SizeOfHeaders",
                                    reason: "\(sizeOfHeaders) byte(s); the headers end at \(sectionTableEnd) and the image has \(image.count)")
        }
        var sections = [(offset: Int, size: Int)]()
        for i in 0..<sectionCount {
            let at = sectionTable + 40 * i
            let size = Int(try r.u32(at: at + 16, "IMAGE_SECTION_HEADER[\(i)].SizeOfRawData"))
            let offset = Int(try r.u32(at: at + 20, "IMAGE_SECTION_HEADER[\(i)].PointerToRawData"))
            if size == 0 { continue }
            guard offset + size <= image.count else {
                throw AuthenticodeError(.sectionOutOfBounds, offset: at + 16, field: "IMAGE_SECTION_HEADER[\(i)]",
                                        reason: "raw data at \(offset), \(size) byte(s), runs past the image's \(image.count) byte(s)")
            }
            sections.append((offset, size))
        }
        sections.sort { $0.offset < $1.offset }
        if let table = certificateTable {
            let hashedEnd = sizeOfHeaders + sections.reduce(0) { $0 + $1.size }
            guard table.offset >= hashedEnd, table.offset + table.size == image.count else {
                throw AuthenticodeError(.certificateTableOutOfBounds, offset: certificateEntry ?? 0,
                                        field: "DataDirectory[CERTIFICATE_TABLE]",
                                        reason: "the table at \(table.offset), \(table.size) byte(s), must follow the sections (end \(hashedEnd)) and end the image (\(image.count) byte(s))")
            }
        }
        return Layout(optionalHeaderMagic: magic, checksumOffset: checksum, certificateEntryOffset: certificateEntry,
                      sizeOfHeaders: sizeOfHeaders, sections: sections, certificateTable: certificateTable)
    }

    /// The Authenticode digest of `image` with `algorithm` (SHA-256 by default: what PCR 4's sha256 bank and db/dbx use).
    public static func digest(of image: [UInt8], algorithm: TCGAlgorithm = .sha256,
                              hashing: any TCGEventLogHashing) throws(AuthenticodeError) -> [UInt8] {
        let layout = try layout(of: image)
        let parts = layout.hashedRanges(fileSize: image.count).map { Array(image[$0]) }
        guard let digest = hashing.hash(algorithm, parts) else {
            throw AuthenticodeError(.unsupportedAlgorithm, offset: 0, field: "algorithm", reason: "no \(algorithm.name) hash function")
        }
        return digest
    }
}

/// Why an image's Authenticode digest could not be computed: the offset and
/// the field (as the PE/COFF specification names it), what was found and what was expected.
/// Equatable on `code` only.
public struct AuthenticodeError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Hashable, Sendable {
        /// The image ends inside a header field.
        case truncated
        /// No "MZ" or no "PE\0\0" signature.
        case notPE = "not-pe"
        /// The optional header is neither PE32 nor PE32+.
        case unknownOptionalHeader = "unknown-optional-header"
        /// More sections than `Authenticode.maxSections`.
        case tooManySections = "too-many-sections"
        /// A header size or count that does not fit the image.
        case headerOutOfBounds = "header-out-of-bounds"
        /// A section's raw data runs past the image.
        case sectionOutOfBounds = "section-out-of-bounds"
        /// The attribute certificate table is not inside the image, or not at its end.
        case certificateTableOutOfBounds = "certificate-table-out-of-bounds"
        /// The hashing has no function for the algorithm asked for.
        case unsupportedAlgorithm = "unsupported-algorithm"
    }

    public let code: Code
    /// Byte offset in the image.
    public let offset: Int
    public let field: String
    public let reason: String

    public init(_ code: Code, offset: Int, field: String, reason: String) {
        self.code = code
        self.offset = offset
        self.field = field
        self.reason = reason
    }

    public var description: String { "byte \(offset): \(field): \(reason)" }
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }
}

/// Bounds-checked little-endian reads at absolute offsets.
struct PEReader {
    let bytes: [UInt8]
    init(_ bytes: [UInt8]) { self.bytes = bytes }

    func check(_ at: Int, _ n: Int, _ field: String) throws(AuthenticodeError) {
        guard at >= 0, at <= bytes.count, n <= bytes.count - at else {
            throw AuthenticodeError(.truncated, offset: max(0, at), field: field,
                                    reason: "needs \(n) byte(s) at \(at); the image has \(bytes.count)")
        }
    }

    func u16(at: Int, _ field: String) throws(AuthenticodeError) -> UInt16 {
        try check(at, 2, field)
        return UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8
    }

    func u32(at: Int, _ field: String) throws(AuthenticodeError) -> UInt32 {
        try check(at, 4, field)
        return (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[at + $1]) << (8 * $1) }
    }
}
