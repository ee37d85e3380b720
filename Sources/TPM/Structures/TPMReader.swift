/// Reads big-endian TPM 2.0 wire structures from untrusted bytes. Every read
/// is bounds-checked and names its field, so a short or hostile input becomes
/// a `TPMStructureError` with the offset, never a crash. Offsets are absolute
/// in the outermost buffer, also inside nested (sized) structures.
struct TPMReader {
    private let data: ArraySlice<UInt8>
    /// Absolute offset of the next byte.
    private(set) var offset: Int

    init(_ bytes: [UInt8]) {
        data = bytes[...]
        offset = bytes.startIndex
    }

    private init(slice: ArraySlice<UInt8>) {
        data = slice
        offset = slice.startIndex
    }

    var remaining: Int { data.endIndex - offset }
    var isAtEnd: Bool { offset == data.endIndex }

    mutating func bytes(_ count: Int, _ field: String) throws(TPMStructureError) -> [UInt8] {
        guard count <= remaining else {
            throw .truncated(field, offset: offset, need: count, have: remaining)
        }
        let out = Array(data[offset..<offset + count])
        offset += count
        return out
    }

    private mutating func integer<T: FixedWidthInteger & UnsignedInteger>(_: T.Type, _ field: String) throws(TPMStructureError) -> T {
        let size = MemoryLayout<T>.size
        guard size <= remaining else {
            throw .truncated(field, offset: offset, need: size, have: remaining)
        }
        var v: T = 0
        for i in 0..<size { v = v << 8 | T(data[offset + i]) }
        offset += size
        return v
    }

    mutating func u8(_ field: String) throws(TPMStructureError) -> UInt8 { try integer(UInt8.self, field) }
    mutating func u16(_ field: String) throws(TPMStructureError) -> UInt16 { try integer(UInt16.self, field) }
    mutating func u32(_ field: String) throws(TPMStructureError) -> UInt32 { try integer(UInt32.self, field) }
    mutating func u64(_ field: String) throws(TPMStructureError) -> UInt64 { try integer(UInt64.self, field) }

    /// An algorithm ID (TPM_ALG_ID, 16 bits).
    mutating func algorithm(_ field: String) throws(TPMStructureError) -> TPMAlgorithm {
        TPMAlgorithm(rawValue: try u16(field))
    }

    /// A TPM2B: a 16-bit size, at most `max`, then that many bytes.
    mutating func sized(_ field: String, max: Int) throws(TPMStructureError) -> [UInt8] {
        let at = offset
        let size = Int(try u16("\(field).size"))
        guard size <= max else { throw .sizeTooLarge("\(field).size", offset: at, size: size, max: max) }
        return try bytes(size, "\(field).buffer")
    }

    /// A structure wrapped in a TPM2B (e.g. TPM2B_PUBLIC): reads the 16-bit
    /// size, then parses exactly that many bytes with `body`; bytes the body
    /// leaves unread are an error.
    mutating func nested<T>(_ field: String, max: Int, _ body: (inout TPMReader) throws(TPMStructureError) -> T) throws(TPMStructureError) -> T {
        let at = offset
        let size = Int(try u16("\(field).size"))
        guard size <= max else { throw .sizeTooLarge("\(field).size", offset: at, size: size, max: max) }
        guard size <= remaining else {
            throw .truncated(field, offset: offset, need: size, have: remaining)
        }
        var inner = TPMReader(slice: data[offset..<offset + size])
        let value = try body(&inner)
        try inner.finish(field)
        offset += size
        return value
    }

    /// The bytes read since absolute offset `start`.
    func consumed(from start: Int) -> [UInt8] { Array(data[start..<offset]) }

    /// Throws when bytes are left after `structure`.
    func finish(_ structure: String) throws(TPMStructureError) {
        guard isAtEnd else { throw .trailingBytes(structure, offset: offset, count: remaining) }
    }
}
