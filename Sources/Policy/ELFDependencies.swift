#if canImport(Glibc)
import Glibc
#endif

/// What an ELF file needs at run time: the program interpreter (PT_INTERP,
/// the dynamic loader) and the shared libraries (DT_NEEDED), with the
/// search path the file itself carries (DT_RUNPATH, or DT_RPATH).
public struct ELFDependencies: Sendable, Equatable {
    public enum Class: Sendable, Equatable { case elf32, elf64 }
    public var elfClass: Class
    public var bigEndian: Bool
    /// e_machine: the architecture (62 is x86-64, 183 AArch64).
    public var machine: UInt16
    /// The interpreter path as written in PT_INTERP (`/lib64/ld-linux-x86-64.so.2`); nil for static files and libraries.
    public var interpreter: String?
    /// DT_NEEDED names in file order (`libc.so.6`).
    public var needed: [String]
    /// DT_RUNPATH entries, or DT_RPATH's when there is no DT_RUNPATH (`$ORIGIN` left as written).
    public var searchPath: [String]
}

/// Why an ELF file's dependencies could not be read. Each case names the
/// field and the file offset concerned, so a hostile file is reported, never trusted.
public enum ELFError: Error, Equatable, CustomStringConvertible, Sendable {
    /// Not an ELF file (no \x7fELF magic), or too short to hold the identification.
    case notELF
    /// EI_CLASS or EI_DATA holds a value that is neither 32/64-bit nor little/big endian.
    case badIdentification(field: String, value: UInt8)
    /// `field` lies (partly) outside the file: it starts at `offset` and is `length` bytes, the file is `size`.
    case outOfBounds(field: String, offset: UInt64, length: UInt64, size: UInt64)
    /// More entries in `field` than a real file has (`count` against `limit`).
    case tooMany(field: String, count: UInt64, limit: UInt64)
    /// An entry size (e_phentsize) smaller than the structure it holds.
    case badEntrySize(field: String, size: UInt64, minimum: UInt64)
    /// A string at `offset` without a terminating NUL within its table (or within `limit` bytes).
    case unterminatedString(field: String, offset: UInt64)
    /// DT_STRTAB's address is not inside any PT_LOAD segment.
    case unmappedAddress(field: String, address: UInt64)
    /// open/pread failed.
    case unreadable(path: String, errno: Int32)

    public var description: String {
        switch self {
        case .notELF: return "not an ELF file"
        case let .badIdentification(field, value): return "bad \(field) \(value)"
        case let .outOfBounds(field, offset, length, size):
            return "\(field) at offset \(offset) (\(length) bytes) lies outside the file (\(size) bytes)"
        case let .tooMany(field, count, limit): return "\(field): \(count) entries, more than \(limit)"
        case let .badEntrySize(field, size, minimum): return "\(field) is \(size), less than \(minimum)"
        case let .unterminatedString(field, offset): return "\(field) at offset \(offset) is not NUL-terminated"
        case let .unmappedAddress(field, address): return "\(field) address 0x\(String(address, radix: 16)) is in no PT_LOAD segment"
        case let .unreadable(path, e): return "\(path): cannot read (\(String(cString: strerror(e))))"
        }
    }
}

/// A bounded, pure ELF header reader: the ELF header, the program headers,
/// the PT_INTERP string, the dynamic section and the DT_NEEDED/RUNPATH strings.
/// Nothing else is read, every read is checked against the file size and
/// capped, and hostile counts or offsets give an ``ELFError``.
public enum ELFReader {
    /// Most program headers a file may have (real files have about 15).
    public static let maxProgramHeaders: UInt64 = 512
    /// Largest program header entry accepted (real ones are 32 or 56 bytes).
    public static let maxProgramHeaderSize: UInt64 = 256
    /// Largest PT_INTERP read (PATH_MAX).
    public static let maxInterpreterLength: UInt64 = 4096
    /// Largest dynamic section read (real ones are well under 1 KB).
    public static let maxDynamicBytes: UInt64 = 64 * 1024
    /// Longest DT_NEEDED/DT_RUNPATH string read.
    public static let maxStringLength: UInt64 = 4096
    /// Most DT_NEEDED entries.
    public static let maxNeeded = 1024

    /// Reads `count` bytes at `offset`; may return fewer only at the end of the file.
    public typealias Read = (_ offset: UInt64, _ count: Int) throws(ELFError) -> [UInt8]

    /// The dependencies of the ELF file whose bytes are `bytes`.
    public static func dependencies(of bytes: [UInt8]) throws(ELFError) -> ELFDependencies {
        try dependencies(size: UInt64(bytes.count)) { (offset: UInt64, count: Int) throws(ELFError) -> [UInt8] in
            guard offset < UInt64(bytes.count) else { return [] }
            let start = Int(offset)
            return Array(bytes[start..<min(bytes.count, start + count)])
        }
    }

    /// The dependencies of the file at `path` (opened without following a final
    /// symlink; read with pread, at most a few dozen KB).
    public static func dependencies(path: String) throws(ELFError) -> ELFDependencies {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw .unreadable(path: path, errno: errno) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .unreadable(path: path, errno: errno) }
        guard st.st_mode & S_IFMT == S_IFREG else { throw .notELF }
        return try dependencies(size: UInt64(st.st_size)) { (offset: UInt64, count: Int) throws(ELFError) -> [UInt8] in
            var buffer = [UInt8](repeating: 0, count: count)
            var done = 0
            while done < count {
                let n = buffer.withUnsafeMutableBytes { raw in
                    pread(fd, raw.baseAddress! + done, count - done, off_t(offset) + off_t(done))
                }
                if n < 0 {
                    if errno == EINTR { continue }
                    throw .unreadable(path: path, errno: errno)
                }
                if n == 0 { break }
                done += n
            }
            return Array(buffer[0..<done])
        }
    }

    /// The dependencies of a file of `size` bytes read through `read`.
    public static func dependencies(size: UInt64, read: @escaping Read) throws(ELFError) -> ELFDependencies {
        guard size >= 16 else { throw .notELF }  // every read stays inside the file, this one too
        let ident = try read(0, 16)
        guard ident.count == 16, ident[0] == 0x7f, ident[1] == 0x45, ident[2] == 0x4c, ident[3] == 0x46 else { throw .notELF }
        let is64: Bool
        switch ident[4] {
        case 1: is64 = false
        case 2: is64 = true
        default: throw .badIdentification(field: "EI_CLASS", value: ident[4])
        }
        let big: Bool
        switch ident[5] {
        case 1: big = false
        case 2: big = true
        default: throw .badIdentification(field: "EI_DATA", value: ident[5])
        }
        let file = Bounded(size: size, read: read, big: big)

        let header = try file.bytes("ELF header", at: 0, length: is64 ? 64 : 52)
        let machine = UInt16(truncatingIfNeeded: file.uint(header, at: 18, width: 2))
        let phoff = file.uint(header, at: is64 ? 32 : 28, width: is64 ? 8 : 4)
        let phentsize = file.uint(header, at: is64 ? 54 : 42, width: 2)
        let phnum = file.uint(header, at: is64 ? 56 : 44, width: 2)
        guard phnum <= maxProgramHeaders else { throw .tooMany(field: "e_phnum", count: phnum, limit: maxProgramHeaders) }
        let minimum: UInt64 = is64 ? 56 : 32
        if phnum > 0, phentsize < minimum { throw .badEntrySize(field: "e_phentsize", size: phentsize, minimum: minimum) }
        guard phentsize <= maxProgramHeaderSize else {
            throw .tooMany(field: "e_phentsize bytes", count: phentsize, limit: maxProgramHeaderSize)
        }

        var result = ELFDependencies(elfClass: is64 ? .elf64 : .elf32, bigEndian: big, machine: machine,
                                     interpreter: nil, needed: [], searchPath: [])
        guard phnum > 0 else { return result }
        let table = try file.bytes("program header table", at: phoff, length: phnum * phentsize)

        struct Segment { var type: UInt64; var offset: UInt64; var vaddr: UInt64; var filesz: UInt64 }
        var segments: [Segment] = []
        for i in 0..<Int(phnum) {
            let base = i * Int(phentsize)
            let type = file.uint(table, at: base, width: 4)
            if is64 {
                segments.append(Segment(type: type, offset: file.uint(table, at: base + 8, width: 8),
                                        vaddr: file.uint(table, at: base + 16, width: 8), filesz: file.uint(table, at: base + 32, width: 8)))
            } else {
                segments.append(Segment(type: type, offset: file.uint(table, at: base + 4, width: 4),
                                        vaddr: file.uint(table, at: base + 8, width: 4), filesz: file.uint(table, at: base + 16, width: 4)))
            }
        }

        // PT_INTERP: the loader's path, NUL-terminated.
        if let interp = segments.first(where: { $0.type == 3 }) {
            guard interp.filesz <= maxInterpreterLength else {
                throw .tooMany(field: "PT_INTERP length", count: interp.filesz, limit: maxInterpreterLength)
            }
            let raw = try file.bytes("PT_INTERP", at: interp.offset, length: interp.filesz)
            guard let end = raw.firstIndex(of: 0) else { throw .unterminatedString(field: "PT_INTERP", offset: interp.offset) }
            result.interpreter = String(decoding: raw[..<end], as: UTF8.self)
        }

        // PT_DYNAMIC: DT_NEEDED, DT_STRTAB, DT_STRSZ, DT_RPATH, DT_RUNPATH.
        guard let dynamic = segments.first(where: { $0.type == 2 }) else { return result }
        guard dynamic.filesz <= maxDynamicBytes else {
            throw .tooMany(field: "PT_DYNAMIC bytes", count: dynamic.filesz, limit: maxDynamicBytes)
        }
        let entries = try file.bytes("PT_DYNAMIC", at: dynamic.offset, length: dynamic.filesz)
        let entrySize = is64 ? 16 : 8
        var needed: [UInt64] = []
        var strtab: UInt64?, strsz: UInt64?, rpath: UInt64?, runpath: UInt64?
        var at = 0
        while at + entrySize <= entries.count {
            let tag = file.uint(entries, at: at, width: entrySize / 2)
            let value = file.uint(entries, at: at + entrySize / 2, width: entrySize / 2)
            at += entrySize
            switch tag {
            case 0: at = entries.count  // DT_NULL ends the table
            case 1:
                needed.append(value)
                guard needed.count <= maxNeeded else {
                    throw .tooMany(field: "DT_NEEDED", count: UInt64(needed.count), limit: UInt64(maxNeeded))
                }
            case 5: strtab = value
            case 10: strsz = value
            case 15: rpath = value
            case 29: runpath = value
            default: break
            }
        }
        guard !needed.isEmpty || rpath != nil || runpath != nil else { return result }
        guard let strtab else { throw .unmappedAddress(field: "DT_STRTAB (missing)", address: 0) }
        // DT_STRTAB is an address: find the file offset through the PT_LOAD segments.
        guard let load = segments.first(where: {
            $0.type == 1 && strtab >= $0.vaddr && strtab - $0.vaddr < $0.filesz
        }) else { throw .unmappedAddress(field: "DT_STRTAB", address: strtab) }
        let (tableOffset, o1) = load.offset.addingReportingOverflow(strtab - load.vaddr)
        guard !o1 else { throw .outOfBounds(field: "DT_STRTAB", offset: load.offset, length: strtab - load.vaddr, size: size) }
        // The table ends at DT_STRSZ, the segment's end, or the file's end, whichever comes first.
        var tableLength = min(load.filesz - (strtab - load.vaddr), size > tableOffset ? size - tableOffset : 0)
        if let strsz { tableLength = min(tableLength, strsz) }

        func string(_ field: String, _ index: UInt64) throws(ELFError) -> String {
            guard index < tableLength else {
                throw .outOfBounds(field: field, offset: tableOffset &+ index, length: 1, size: min(size, tableOffset &+ tableLength))
            }
            let length = min(maxStringLength, tableLength - index)
            let raw = try file.bytes(field, at: tableOffset + index, length: length)
            guard let end = raw.firstIndex(of: 0) else { throw .unterminatedString(field: field, offset: tableOffset + index) }
            return String(decoding: raw[..<end], as: UTF8.self)
        }
        result.needed = try needed.map { (i: UInt64) throws(ELFError) -> String in try string("DT_NEEDED", i) }
        if let search = runpath ?? rpath {
            result.searchPath = try string(runpath != nil ? "DT_RUNPATH" : "DT_RPATH", search)
                .split(separator: ":").map(String.init)
        }
        return result
    }

    /// Reads checked against the file size.
    private struct Bounded {
        let size: UInt64
        let read: Read
        let big: Bool

        func bytes(_ field: String, at offset: UInt64, length: UInt64) throws(ELFError) -> [UInt8] {
            let (end, overflow) = offset.addingReportingOverflow(length)
            guard !overflow, end <= size, length <= UInt64(Int.max) else {
                throw .outOfBounds(field: field, offset: offset, length: length, size: size)
            }
            let out = try read(offset, Int(length))
            guard out.count == Int(length) else {
                throw .outOfBounds(field: field, offset: offset, length: length, size: offset + UInt64(out.count))
            }
            return out
        }

        /// An unsigned integer of `width` bytes at `at` in `bytes` (the caller checked the bounds).
        func uint(_ bytes: [UInt8], at: Int, width: Int) -> UInt64 {
            var v: UInt64 = 0
            for i in 0..<width {
                let b = UInt64(bytes[at + (big ? i : width - 1 - i)])
                v = v << 8 | b
            }
            return v
        }
    }
}
