/// One member of an ar archive, as its 60-byte header declares it.
public struct ArMember: Sendable, Equatable {
    /// The name with trailing spaces and slashes removed, as dpkg normalises it ("debian-binary").
    public var name: String
    /// The member's data size in bytes (without the padding byte after an odd size).
    public var size: Int64
    /// Where the member's header starts in the archive.
    public var headerOffset: Int64
    /// Where its data starts.
    public var dataOffset: Int64 { headerOffset + Int64(ArParser.headerLength) }
}

/// Receives the members of an ar archive as `ArParser` reads them.
public protocol ArSink {
    /// A member's header was read; its data follows.
    mutating func memberStart(_ member: ArMember) throws(DebianPackageError)
    /// The next bytes of the current member's data (a view valid during the call only).
    mutating func memberData(_ bytes: UnsafeRawBufferPointer) throws(DebianPackageError)
    /// The current member's data is complete.
    mutating func memberEnd() throws(DebianPackageError)
}

/// A streaming reader of the `ar` container (the common format, as .deb files use it): the
/// `!<arch>\n` magic, then members, each a 60-byte header (name, mtime, uid, gid, mode, size,
/// the terminator "`\n") followed by its data and a padding byte when the size is odd.
///
/// Push parser, no I/O: feed any chunking of the bytes with `consume`, then call `finish`. Errors
/// name the byte offset in the archive and the header field.
public struct ArParser: Sendable {
    public static let magic: [UInt8] = Array("!<arch>\n".utf8)
    public static let headerLength = 60

    public let limits: DebianPackageLimits
    /// Bytes consumed so far (the offset of the next byte).
    public private(set) var offset: Int64 = 0
    /// The total size of the archive when known (a file's size): members may not claim more.
    public let totalSize: Int64?

    private enum State: Sendable {
        case magic
        case header
        case data(remaining: Int64, padding: Bool)
        case padding
    }
    private var state: State = .magic
    private var header = [UInt8]()
    private var current: ArMember?

    public init(limits: DebianPackageLimits = .init(), totalSize: Int64? = nil) {
        self.limits = limits
        self.totalSize = totalSize
        header.reserveCapacity(Self.headerLength)
    }

    /// Reads the next bytes of the archive, calling `sink` for each member.
    public mutating func consume(_ input: UnsafeRawBufferPointer, into sink: inout some ArSink) throws(DebianPackageError) {
        var i = 0
        while i < input.count {
            switch state {
            case .magic, .header:
                let need = (isMagic ? Self.magic.count : Self.headerLength) - header.count
                let n = min(need, input.count - i)
                header.append(contentsOf: input[i..<i + n])
                i += n
                offset += Int64(n)
                if header.count == (isMagic ? Self.magic.count : Self.headerLength) {
                    if isMagic {
                        try checkMagic()
                        state = .header
                    } else {
                        let member = try parseHeader(at: offset - Int64(Self.headerLength))
                        current = member
                        state = .data(remaining: member.size, padding: member.size % 2 == 1)
                        try sink.memberStart(member)
                        if member.size == 0 { try endMember(into: &sink, padding: false) }
                    }
                    header.removeAll(keepingCapacity: true)
                }
            case .data(let remaining, let padding):
                let n = Int(min(remaining, Int64(input.count - i)))
                let left = remaining - Int64(n)
                state = .data(remaining: left, padding: padding)
                offset += Int64(n)
                try sink.memberData(UnsafeRawBufferPointer(rebasing: input[i..<i + n]))
                i += n
                if left == 0 { try endMember(into: &sink, padding: padding) }
            case .padding:
                // One byte after odd-sized data; dpkg does not check its value, neither do we.
                i += 1
                offset += 1
                state = .header
            }
        }
    }

    /// The input has ended: it must end between members.
    public mutating func finish() throws(DebianPackageError) {
        switch state {
        case .magic:
            if header.isEmpty && offset == 0 {
                throw DebianPackageError(.truncated, offset: 0, "the file is empty (a .deb starts with '!<arch>\\n')")
            }
            throw DebianPackageError.truncated("the ar magic ('!<arch>\\n')", offset: offset)
        case .header:
            if !header.isEmpty {
                throw DebianPackageError(.truncated, offset: offset - Int64(header.count),
                                         "the input ends inside an ar member header (\(header.count) of 60 bytes) (truncated)")
            }
        case .data(let remaining, _):
            let name = current?.name ?? "?"
            throw DebianPackageError(.truncated, offset: offset,
                                     "the input ends inside ar member '\(name)': \(remaining) of its \(current?.size ?? 0) bytes are missing (truncated)")
        case .padding:
            throw DebianPackageError(.truncated, offset: offset,
                                     "the input ends before the padding byte after ar member '\(current?.name ?? "?")' (truncated)")
        }
    }

    private var isMagic: Bool { if case .magic = state { return true } else { return false } }

    private mutating func endMember(into sink: inout some ArSink, padding: Bool) throws(DebianPackageError) {
        state = padding ? .padding : .header
        try sink.memberEnd()
    }

    private func checkMagic() throws(DebianPackageError) {
        guard header == Self.magic else {
            throw DebianPackageError(.badMagic, offset: 0, field: "magic",
                                     "not an ar archive: expected '!<arch>\\n', found '\(printable(header))'")
        }
    }

    private func parseHeader(at start: Int64) throws(DebianPackageError) -> ArMember {
        // name[16] mtime[12] uid[6] gid[6] mode[8] size[10] fmag[2]
        guard header[58] == UInt8(ascii: "`") && header[59] == 0x0a else {
            throw DebianPackageError(.badHeader, offset: start + 58, field: "fmag",
                                     "bad ar member header terminator: expected '`\\n', found '\(printable(header[58...59]))' (corrupt archive)")
        }
        var nameBytes = Array(header[0..<16])
        while let last = nameBytes.last, last == UInt8(ascii: " ") || last == UInt8(ascii: "/") { nameBytes.removeLast() }
        let name = printable(nameBytes)
        let sizeField = header[48..<58]
        var size: Int64 = 0
        var digits = 0
        var k = sizeField.startIndex
        while k < sizeField.endIndex, (0x30...0x39).contains(sizeField[k]) {
            size = size * 10 + Int64(sizeField[k] - 0x30)  // 10 digits: no overflow
            digits += 1
            k += 1
        }
        while k < sizeField.endIndex, sizeField[k] == UInt8(ascii: " ") { k += 1 }
        guard digits > 0, k == sizeField.endIndex else {
            throw DebianPackageError(.badHeader, offset: start + 48, entry: name, field: "size",
                                     "ar member size is not a decimal number: '\(printable(sizeField))'")
        }
        guard size <= limits.maxMemberSize else {
            throw DebianPackageError.limit("ar member '\(name)'", size, max: limits.maxMemberSize, offset: start + 48, field: "size")
        }
        if let totalSize, start + Int64(Self.headerLength) + size > totalSize {
            throw DebianPackageError(.truncated, offset: start + 48, entry: name, field: "size",
                                     "ar member '\(name)' declares \(size) bytes but the file ends \(totalSize - start - Int64(Self.headerLength)) bytes after its header (truncated or lying size)")
        }
        return ArMember(name: name, size: size, headerOffset: start)
    }
}
