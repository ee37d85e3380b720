/// Builds template data from field bytes, as `ima_measurements_show` writes
/// it: `u32 len || bytes` per field, or `d || u32 len || n` for "ima".
/// Used to rebuild the exact hashed bytes from an ASCII line.
struct TemplateDataEncoder {
    let byteOrder: LogByteOrder

    func encode(template: TemplateDescriptor, fields: [[UInt8]]) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(fields.reduce(0) { $0 + $1.count + 4 })
        if template.isLegacyIMA, fields.count == 2 {
            out += fields[0]
            out += byteOrder.bytes(UInt32(truncatingIfNeeded: fields[1].count))
            out += fields[1]
            return out
        }
        for field in fields {
            out += byteOrder.bytes(UInt32(truncatingIfNeeded: field.count))
            out += field
        }
        return out
    }
}
