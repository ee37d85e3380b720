/// Writes big-endian TPM 2.0 wire structures.
struct TPMWriter {
    private(set) var bytes: [UInt8] = []

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u16(_ v: UInt16) { bytes.append(UInt8(v >> 8)); bytes.append(UInt8(v & 0xff)) }
    mutating func u32(_ v: UInt32) { for s in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8((v >> UInt32(s)) & 0xff)) } }
    mutating func u64(_ v: UInt64) { for s in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8((v >> UInt64(s)) & 0xff)) } }
    mutating func algorithm(_ a: TPMAlgorithm) { u16(a.rawValue) }
    mutating func raw(_ b: [UInt8]) { bytes.append(contentsOf: b) }

    /// A TPM2B: 16-bit size then the bytes.
    mutating func sized(_ b: [UInt8]) {
        precondition(b.count <= Int(UInt16.max), "TPM2B larger than 65535 bytes")
        u16(UInt16(b.count))
        raw(b)
    }
}

/// The TPM2B wrapper of any buffer: a 16-bit big-endian size, then the bytes.
public enum TPM2B {
    /// `bytes` with its 16-bit size in front (at most 65535 bytes).
    public static func encode(_ bytes: [UInt8]) -> [UInt8] {
        var w = TPMWriter()
        w.sized(bytes)
        return w.bytes
    }

    /// The buffer of a TPM2B that fills `bytes` exactly, at most `max` bytes long.
    public static func decode(_ bytes: [UInt8], field: String = "TPM2B", max: Int = Int(UInt16.max)) throws(TPMStructureError) -> [UInt8] {
        var r = TPMReader(bytes)
        let out = try r.sized(field, max: max)
        try r.finish(field)
        return out
    }
}
