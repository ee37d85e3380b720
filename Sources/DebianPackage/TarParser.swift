/// A streaming tar reader: POSIX ustar (with the prefix field), GNU (long names 'L' and long link
/// targets 'K', base-256 sizes) and pax extended headers ('x': `path`, `linkpath`, `size`; 'g' is
/// accepted when it sets none of those). Regular files, hard links, symbolic links, directories,
/// devices and FIFOs.
///
/// It reads archives the way dpkg's own tar reader does (lib/dpkg/tarfn.c), so that what it
/// reports is what dpkg installs: the first block whose checksum does not match and whose name is
/// empty ends the archive (the zero blocks), a regular entry whose name ends in '/' is a
/// directory, numeric fields are octal (leading spaces, NUL or space terminated) or base-256.
/// Where dpkg would misread an archive it is refused instead: an entry other than a regular file
/// with a non-zero size (dpkg does not skip such data), sparse files, unknown types.
///
/// Push parser, no I/O: `consume` any chunking of the bytes, then `finish`. Everything a header
/// declares is bounded by `DebianPackageLimits`; errors name the tar offset, the entry and the field.
public struct TarParser: Sendable {
    public static let blockSize = 512

    public let limits: DebianPackageLimits
    /// Bytes consumed so far.
    public private(set) var offset: Int64 = 0
    /// Entries reported so far.
    public private(set) var entryCount = 0
    /// True once the end-of-archive block was read; later bytes are ignored, as dpkg does.
    public var isAtEnd: Bool { if case .end = state { return true } else { return false } }

    private enum Extended: Sendable { case longName, longLink, pax, paxGlobal }
    private enum State: Sendable {
        case header
        case content(remaining: Int64, padding: Int)
        case extended(Extended, remaining: Int, padding: Int)
        case padding(remaining: Int)
        case end
    }
    private var state: State = .header
    private var block = [UInt8]()
    private var collected = [UInt8]()
    /// Set by 'L', 'K' and 'x' for the next entry.
    private var pendingName: [UInt8]?
    private var pendingLink: [UInt8]?
    private var pendingPax: PaxRecords?
    /// Where the current entry's first header started.
    private var entryStart: Int64?
    private var current: TarEntry?

    public init(limits: DebianPackageLimits = .init()) {
        self.limits = limits
        block.reserveCapacity(Self.blockSize)
    }

    /// Reads the next bytes of the archive, calling `sink` for each entry and its content.
    public mutating func consume(_ input: UnsafeRawBufferPointer, into sink: inout some TarSink) throws(DebianPackageError) {
        var i = 0
        while i < input.count {
            switch state {
            case .header:
                let n = min(Self.blockSize - block.count, input.count - i)
                block.append(contentsOf: input[i..<i + n])
                i += n
                offset += Int64(n)
                if block.count == Self.blockSize {
                    try header(at: offset - Int64(Self.blockSize), into: &sink)
                    block.removeAll(keepingCapacity: true)
                }
            case .content(let remaining, let padding):
                let n = Int(min(remaining, Int64(input.count - i)))
                state = .content(remaining: remaining - Int64(n), padding: padding)
                offset += Int64(n)
                try sink.data(UnsafeRawBufferPointer(rebasing: input[i..<i + n]))
                i += n
                if remaining - Int64(n) == 0 {
                    state = padding > 0 ? .padding(remaining: padding) : .header
                    current = nil
                    try sink.endOfEntry()
                }
            case .extended(let kind, let remaining, let padding):
                let n = min(remaining, input.count - i)
                collected.append(contentsOf: input[i..<i + n])
                i += n
                offset += Int64(n)
                state = .extended(kind, remaining: remaining - n, padding: padding)
                if remaining - n == 0 {
                    try extendedComplete(kind)
                    state = padding > 0 ? .padding(remaining: padding) : .header
                }
            case .padding(let remaining):
                // dpkg skips padding without looking at it.
                let n = min(remaining, input.count - i)
                i += n
                offset += Int64(n)
                state = remaining - n == 0 ? .header : .padding(remaining: remaining - n)
            case .end:
                offset += Int64(input.count - i)
                i = input.count
            }
        }
    }

    /// The input has ended: it must end at an entry boundary (the end-of-archive blocks are
    /// optional, as for dpkg), not inside a header, content, padding, or before the entry a long
    /// name or pax header announced.
    public mutating func finish() throws(DebianPackageError) {
        switch state {
        case .end:
            return
        case .header:
            if !block.isEmpty {
                throw DebianPackageError(.truncated, offset: offset - Int64(block.count),
                                         "the input ends inside a tar header (\(block.count) of 512 bytes) (truncated)")
            }
            if pendingName != nil || pendingLink != nil || pendingPax != nil {
                throw DebianPackageError(.truncated, offset: entryStart ?? offset,
                                         "the input ends after a GNU long name or pax header, before the entry it belongs to (truncated)")
            }
        case .content(let remaining, _):
            throw DebianPackageError(.truncated, offset: offset, entry: current?.displayName,
                                     "the input ends inside the content of '\(current?.displayName ?? "?")': \(remaining) of its \(current?.size ?? 0) bytes are missing (truncated)")
        case .extended(let kind, let remaining, _):
            throw DebianPackageError(.truncated, offset: offset,
                                     "the input ends inside a \(Self.describe(kind)) (\(remaining) bytes missing) (truncated)")
        case .padding(let remaining):
            throw DebianPackageError(.truncated, offset: offset,
                                     "the input ends inside the padding to the 512-byte block (\(remaining) bytes missing) (truncated)")
        }
    }

    private static func describe(_ kind: Extended) -> String {
        switch kind {
        case .longName: return "GNU long name ('L')"
        case .longLink: return "GNU long link ('K')"
        case .pax: return "pax extended header ('x')"
        case .paxGlobal: return "pax global header ('g')"
        }
    }

    // MARK: - Headers

    private mutating func header(at start: Int64, into sink: inout some TarSink) throws(DebianPackageError) {
        let h = block
        let headerName = TarField.string(h[0..<100])
        // The checksum first: a block that fails it and has an empty name ends the archive (dpkg's
        // "End of Tape"; the two zero blocks are such blocks).
        let stored = TarField.number(h[148..<156])
        let sum = TarField.checksum(h)
        guard let stored, stored == sum else {
            if headerName.isEmpty {
                if pendingName != nil || pendingLink != nil || pendingPax != nil {
                    throw DebianPackageError(.truncated, offset: start,
                                             "the archive ends after a GNU long name or pax header, before the entry it belongs to")
                }
                state = .end
                return
            }
            throw DebianPackageError(.badChecksum, offset: start + 148, entry: printable(headerName), field: "chksum",
                                     stored == nil ? "the checksum field is not an octal number: '\(printable(h[148..<156]))'"
                                                   : "header checksum mismatch: the header says \(stored!), its bytes sum to \(sum) (corrupt archive)")
        }
        if entryStart == nil { entryStart = start }
        let magic = Array(h[257..<263])
        let isUstar = magic == Array("ustar\0".utf8)
        guard isUstar || magic == Array("ustar ".utf8) else {
            throw DebianPackageError(.badMagic, offset: start + 257, entry: printable(headerName), field: "magic",
                                     "not a ustar or GNU tar header: magic '\(printable(magic))' (pre-POSIX archives are not read)")
        }
        let type = h[156]
        let name = printable(headerName)
        func number(_ range: Range<Int>, _ field: String) throws(DebianPackageError) -> UInt64 {
            guard let v = TarField.number(h[range]) else {
                throw DebianPackageError(.badHeader, offset: start + Int64(range.lowerBound), entry: name, field: field,
                                         "not a valid number: '\(printable(h[range]))' (octal or base-256 expected)")
            }
            return v
        }
        let headerSize = try number(124..<136, "size")
        let mode = try number(100..<108, "mode")
        let uid = try number(108..<116, "uid")
        let gid = try number(116..<124, "gid")
        _ = try number(136..<148, "mtime")

        switch type {
        case UInt8(ascii: "L"), UInt8(ascii: "K"), UInt8(ascii: "x"), UInt8(ascii: "g"):
            let kind: Extended = type == UInt8(ascii: "L") ? .longName : type == UInt8(ascii: "K") ? .longLink
                : type == UInt8(ascii: "x") ? .pax : .paxGlobal
            let max = (kind == .longName || kind == .longLink) ? limits.maxLongNameSize : limits.maxPaxHeaderSize
            guard headerSize <= UInt64(max) else {
                throw DebianPackageError.limit("a \(Self.describe(kind))", Int64(clamping: headerSize), max: Int64(max),
                                               offset: start + 124, entry: name, field: "size")
            }
            let size = Int(headerSize)
            collected.removeAll(keepingCapacity: true)
            state = size == 0 ? .header : .extended(kind, remaining: size, padding: Self.padding(Int64(size)))
            if size == 0 { try extendedComplete(kind) }
            return
        default:
            break
        }

        // A real entry: apply what the extended headers said.
        var entryName = headerName
        if isUstar && h[345] != 0 {
            entryName = TarField.string(h[345..<500]) + [UInt8(ascii: "/")] + headerName
        }
        var linkName = TarField.string(h[157..<257])
        var size = headerSize
        if let longName = pendingName { entryName = longName }
        if let longLink = pendingLink { linkName = longLink }
        if let pax = pendingPax {
            if let p = pax.path { entryName = p }
            if let l = pax.linkPath { linkName = l }
            if let s = pax.size { size = s }
        }
        let first = entryStart ?? start
        pendingName = nil
        pendingLink = nil
        pendingPax = nil
        entryStart = nil
        let shown = printable(entryName)

        guard !entryName.isEmpty else {
            throw DebianPackageError(.badHeader, offset: start, field: "name", "tar entry with an empty name")
        }
        guard entryName.count <= limits.maxPathLength, linkName.count <= limits.maxPathLength else {
            throw DebianPackageError.limit("a name or link target", Int64(max(entryName.count, linkName.count)),
                                           max: Int64(limits.maxPathLength), offset: start, entry: shown, field: "name")
        }
        let kind: TarEntry.Kind
        switch type {
        case UInt8(ascii: "0"), 0:
            kind = entryName.last == UInt8(ascii: "/") ? .directory : .regular
        case UInt8(ascii: "1"): kind = .hardlink
        case UInt8(ascii: "2"): kind = .symlink
        case UInt8(ascii: "3"): kind = .characterDevice
        case UInt8(ascii: "4"): kind = .blockDevice
        case UInt8(ascii: "5"): kind = .directory
        case UInt8(ascii: "6"): kind = .fifo
        case UInt8(ascii: "S"):
            throw DebianPackageError(.unsupported, offset: start + 156, entry: shown, field: "typeflag", "GNU sparse files are not supported")
        default:
            throw DebianPackageError(.unsupported, offset: start + 156, entry: shown, field: "typeflag",
                                     "unknown tar entry type '\(printable([type]))' (dpkg refuses it too)")
        }
        if kind == .directory {
            while entryName.count > 1 && entryName.last == UInt8(ascii: "/") { entryName.removeLast() }
        }
        if kind == .regular {
            guard size <= UInt64(limits.maxEntrySize) else {
                throw DebianPackageError.limit("the content of '\(shown)'", Int64(clamping: size), max: limits.maxEntrySize,
                                               offset: start + 124, entry: shown, field: "size")
            }
        } else if size != 0 {
            // dpkg reads no data after such an entry: it would take these bytes for the next header.
            throw DebianPackageError(.badHeader, offset: start + 124, entry: shown, field: "size",
                                     "a \(kind) entry with \(size) bytes of content (only regular files have content)")
        }
        entryCount += 1
        guard entryCount <= limits.maxEntries else {
            throw DebianPackageError(.limitExceeded, offset: start, entry: shown,
                                     "more than \(limits.maxEntries) entries in the archive")
        }
        let entry = TarEntry(kind: kind, name: entryName, linkName: kind == .hardlink || kind == .symlink ? linkName : [],
                             size: Int64(size), mode: UInt32(truncatingIfNeeded: mode & 0o7777), uid: uid, gid: gid,
                             headerOffset: first)
        current = entry
        try sink.entry(entry)
        if kind == .regular && size > 0 {
            state = .content(remaining: Int64(size), padding: Self.padding(Int64(size)))
        } else {
            state = .header
            current = nil
            try sink.endOfEntry()
        }
    }

    private mutating func extendedComplete(_ kind: Extended) throws(DebianPackageError) {
        let start = entryStart ?? offset
        switch kind {
        case .longName, .longLink:
            // GNU writes the name NUL-terminated, the NUL counted in the size.
            var value = collected
            if let nul = value.firstIndex(of: 0) { value.removeSubrange(nul...) }
            guard !value.isEmpty else {
                throw DebianPackageError(.badHeader, offset: start, field: kind == .longName ? "name" : "linkname",
                                         "empty \(Self.describe(kind))")
            }
            guard value.count <= limits.maxPathLength else {
                throw DebianPackageError.limit("a \(Self.describe(kind))", Int64(value.count), max: Int64(limits.maxPathLength),
                                               offset: start, field: "name")
            }
            if kind == .longName { pendingName = value } else { pendingLink = value }
        case .pax:
            let records = try PaxRecords(parsing: collected, at: start, limits: limits)
            pendingPax = records
        case .paxGlobal:
            let records = try PaxRecords(parsing: collected, at: start, limits: limits)
            if records.path != nil || records.linkPath != nil || records.size != nil {
                throw DebianPackageError(.unsupported, offset: start, field: "pax",
                                         "a pax global header that sets path, linkpath or size for every later entry")
            }
            entryStart = nil
        }
        collected.removeAll(keepingCapacity: true)
    }

    static func padding(_ size: Int64) -> Int {
        let r = Int(size % Int64(blockSize))
        return r == 0 ? 0 : blockSize - r
    }
}

/// The fixed-width fields of a tar header.
enum TarField {
    /// Bytes up to the first NUL.
    static func string(_ field: ArraySlice<UInt8>) -> [UInt8] {
        Array(field.prefix { $0 != 0 })
    }

    /// A numeric field as dpkg reads it: base-256 when the first byte is 0x80 (0xff, negative, is
    /// refused), else octal after optional leading spaces, ended by NUL or space, with only NULs
    /// and spaces after. A field of NULs is 0; nil for anything else or an overflow.
    static func number(_ field: ArraySlice<UInt8>) -> UInt64? {
        guard let first = field.first else { return nil }
        if first == 0x80 || first == 0xff {
            guard first == 0x80 else { return nil }
            var n: UInt64 = 0
            for b in field.dropFirst() {
                // A value that would shift out of 64 bits is refused.
                if n > (UInt64.max >> 8) { return nil }
                n = n << 8 | UInt64(b)
            }
            return n
        }
        var i = field.startIndex
        while i < field.endIndex && field[i] == UInt8(ascii: " ") { i += 1 }
        if i == field.endIndex { return nil }
        var n: UInt64 = 0
        while i < field.endIndex {
            let c = field[i]
            if c == 0 || c == UInt8(ascii: " ") { break }
            guard (UInt8(ascii: "0")...UInt8(ascii: "7")).contains(c) else { return nil }
            guard n <= (UInt64.max >> 3) else { return nil }
            n = n << 3 | UInt64(c - UInt8(ascii: "0"))
            i += 1
        }
        while i < field.endIndex {
            guard field[i] == 0 || field[i] == UInt8(ascii: " ") else { return nil }
            i += 1
        }
        return n
    }

    /// The unsigned sum of the header's bytes with the checksum field counted as spaces.
    static func checksum(_ h: [UInt8]) -> UInt64 {
        var sum: UInt64 = 8 * 0x20
        for k in 0..<148 { sum += UInt64(h[k]) }
        for k in 156..<512 { sum += UInt64(h[k]) }
        return sum
    }
}
