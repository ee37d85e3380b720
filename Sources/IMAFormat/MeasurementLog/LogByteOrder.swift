/// The byte order of the integers in a binary measurement log.
///
/// The kernel writes `pcr`, `template_name_len`, `template_data_len`, every
/// field length and the `iuid`/`igid`/`imode` values in host order, or in
/// little-endian when booted with `ima_canonical_fmt`
/// (security/integrity/ima/ima_fs.c `ima_measurements_show`). The same order
/// is used for the field lengths that enter the template hash, so replay must
/// read and hash with the order the log was written in.
public enum LogByteOrder: Sendable, Hashable {
    /// x86, arm64, riscv hosts, and any host with `ima_canonical_fmt`.
    case littleEndian
    /// s390x or big-endian ppc64 without `ima_canonical_fmt`.
    case bigEndian

    /// Reads a 32-bit integer; the caller has checked that 4 bytes exist at `index`.
    func uint32(_ bytes: [UInt8], at index: Int) -> UInt32 {
        let b0 = UInt32(bytes[index]), b1 = UInt32(bytes[index + 1])
        let b2 = UInt32(bytes[index + 2]), b3 = UInt32(bytes[index + 3])
        switch self {
        case .littleEndian: return b0 | b1 << 8 | b2 << 16 | b3 << 24
        case .bigEndian: return b0 << 24 | b1 << 16 | b2 << 8 | b3
        }
    }

    /// Reads an unsigned integer of `count` bytes (1...8) starting at `index`.
    func unsigned<C: Collection>(_ bytes: C) -> UInt64 where C.Element == UInt8 {
        var value: UInt64 = 0
        switch self {
        case .littleEndian:
            for (shift, byte) in bytes.enumerated() { value |= UInt64(byte) << (8 * UInt64(shift)) }
        case .bigEndian:
            for byte in bytes { value = value << 8 | UInt64(byte) }
        }
        return value
    }

    /// Encodes a 32-bit integer in this order.
    func bytes(_ value: UInt32) -> [UInt8] {
        bytes(UInt64(value), width: 4)
    }

    /// Encodes the low `width` bytes of `value` in this order.
    func bytes(_ value: UInt64, width: Int) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(width)
        for i in 0..<width {
            out.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))))
        }
        return self == .littleEndian ? out : out.reversed()
    }
}
