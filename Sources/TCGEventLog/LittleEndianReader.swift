/// Reads little-endian firmware structures from untrusted bytes. Every read
/// is bounds-checked and names its field, so a short or hostile input becomes
/// a `TCGEventLogError` with the absolute log offset and the event index,
/// never a crash.
struct LittleEndianReader {
    private let bytes: [UInt8]
    /// Index of the next byte in `bytes`.
    private(set) var index: Int
    private let end: Int
    /// Absolute log offset of `bytes[0]`.
    private let base: Int
    /// The event the bytes belong to, for errors.
    let event: Int
    /// Prefix of every field name (`UEFI_VARIABLE_DATA.`).
    let structure: String

    init(_ bytes: [UInt8], start: Int = 0, end: Int? = nil, base: Int = 0, event: Int, structure: String = "") {
        self.bytes = bytes
        self.index = start
        self.end = end ?? bytes.count
        self.base = base
        self.event = event
        self.structure = structure
    }

    /// Absolute log offset of the next byte.
    var offset: Int { base + index }
    var remaining: Int { end - index }
    var isAtEnd: Bool { index >= end }

    func name(_ field: String) -> String { structure + field }

    func truncated(_ field: String, need: Int) -> TCGEventLogError {
        .truncated(event: event, offset: offset, field: name(field), need: need, have: remaining)
    }

    mutating func bytes(_ count: Int, _ field: String) throws(TCGEventLogError) -> [UInt8] {
        guard count >= 0, count <= remaining else { throw truncated(field, need: count) }
        let out = Array(bytes[index..<(index + count)])
        index += count
        return out
    }

    mutating func skip(_ count: Int, _ field: String) throws(TCGEventLogError) {
        guard count >= 0, count <= remaining else { throw truncated(field, need: count) }
        index += count
    }

    private mutating func integer<T: FixedWidthInteger & UnsignedInteger>(_: T.Type, _ field: String) throws(TCGEventLogError) -> T {
        let size = MemoryLayout<T>.size
        guard size <= remaining else { throw truncated(field, need: size) }
        var v: T = 0
        for i in (0..<size).reversed() { v = v << 8 | T(bytes[index + i]) }
        index += size
        return v
    }

    mutating func u8(_ field: String) throws(TCGEventLogError) -> UInt8 { try integer(UInt8.self, field) }
    mutating func u16(_ field: String) throws(TCGEventLogError) -> UInt16 { try integer(UInt16.self, field) }
    mutating func u32(_ field: String) throws(TCGEventLogError) -> UInt32 { try integer(UInt32.self, field) }
    mutating func u64(_ field: String) throws(TCGEventLogError) -> UInt64 { try integer(UInt64.self, field) }

    mutating func guid(_ field: String) throws(TCGEventLogError) -> EFIGUID {
        EFIGUID(bytes: try bytes(16, field))!
    }

    /// A length read as u64 that must fit in what is left (times `unit` bytes each).
    mutating func length64(_ field: String, unit: Int = 1) throws(TCGEventLogError) -> Int {
        let at = offset
        let value = try u64(field)
        guard value <= UInt64(remaining / max(unit, 1)) else {
            throw .malformed(event: event, offset: at, field: name(field),
                             reason: "declares \(value) item(s) of \(unit) byte(s) but only \(remaining) byte(s) remain")
        }
        return Int(value)
    }

    func malformed(_ field: String, at: Int? = nil, _ reason: String) -> TCGEventLogError {
        .malformed(event: event, offset: at ?? offset, field: name(field), reason: reason)
    }

    /// Throws if bytes are left: a structure must fill its event exactly.
    func finish(_ what: String) throws(TCGEventLogError) {
        guard isAtEnd else {
            throw malformed(what, "\(remaining) byte(s) left after the end of \(what)")
        }
    }
}

extension UInt32 {
    var littleEndianBytes: [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: self >> (8 * $0)) } }
}
extension UInt16 {
    var littleEndianBytes: [UInt8] { (0..<2).map { UInt8(truncatingIfNeeded: self >> (8 * $0)) } }
}
extension UInt64 {
    var littleEndianBytes: [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: self >> (8 * $0)) } }
}

/// UTF-16LE text with trailing NULs dropped; nil for an odd length or invalid UTF-16.
func decodeUTF16LE(_ bytes: [UInt8]) -> String? {
    guard bytes.count % 2 == 0 else { return nil }
    var units = [UInt16]()
    units.reserveCapacity(bytes.count / 2)
    for i in stride(from: 0, to: bytes.count, by: 2) { units.append(UInt16(bytes[i]) | UInt16(bytes[i + 1]) << 8) }
    while units.last == 0 { units.removeLast() }
    var out = ""
    var iterator = units.makeIterator()
    var decoder = UTF16()
    loop: while true {
        switch decoder.decode(&iterator) {
        case .scalarValue(let s): out.unicodeScalars.append(s)
        case .emptyInput: break loop
        case .error: return nil
        }
    }
    return out
}

/// Printable ASCII (plus tab/newline) with trailing NULs dropped; nil if any other byte appears.
func decodeASCII(_ bytes: [UInt8]) -> String? {
    var b = bytes[...]
    while b.last == 0 { b = b.dropLast() }
    guard b.allSatisfy({ ($0 >= 0x20 && $0 < 0x7f) || $0 == 0x09 || $0 == 0x0a || $0 == 0x0d }) else { return nil }
    return String(decoding: b, as: UTF8.self)
}

func encodeUTF16LE(_ text: String, nulTerminated: Bool) -> [UInt8] {
    var out = [UInt8]()
    for unit in text.utf16 { out += unit.littleEndianBytes }
    if nulTerminated { out += [0, 0] }
    return out
}
