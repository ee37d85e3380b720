/// Splits template data into its fields and decodes each one, checking every
/// length against the bytes present (the checks of `ima_parse_buf` with
/// ENFORCE_FIELDS | ENFORCE_BUFEND, plus each field's own layout).
struct TemplateDataParser {
    let template: TemplateDescriptor
    let byteOrder: LogByteOrder
    /// Entry index, for errors.
    let entryIndex: Int
    /// Absolute offset of the template data's first byte, for errors.
    let baseOffset: Int
    /// Violations may carry a zero digest shorter than their algorithm's size.
    let isViolation: Bool

    func parse(_ data: [UInt8]) throws(MeasurementLogError) -> [TemplateField] {
        template.isLegacyIMA ? try parseLegacy(data) : try parseFields(data)
    }

    /// "ima": `d` (20 bytes, no length) then `u32 len || n` (no NUL).
    private func parseLegacy(_ data: [UInt8]) throws(MeasurementLogError) -> [TemplateField] {
        let d = MeasurementLogOptions.legacyDigestLength
        guard data.count >= d + 4 else {
            throw MeasurementLogError.truncated(entry: entryIndex, offset: baseOffset, field: "d",
                                                need: d + 4, have: data.count)
        }
        let length = byteOrder.uint32(data, at: d)
        guard length <= MeasurementLogOptions.maxLegacyEventNameLength else {
            throw MeasurementLogError.nameTooLong(entry: entryIndex, offset: baseOffset + d, field: "n",
                                                  length: length, limit: MeasurementLogOptions.maxLegacyEventNameLength)
        }
        let nameStart = d + 4
        let available = data.count - nameStart
        guard Int(length) <= available else {
            throw MeasurementLogError.fieldOverflow(entry: entryIndex, offset: baseOffset + d, field: "n",
                                                    declared: UInt64(length), available: available)
        }
        if Int(length) < available {
            throw MeasurementLogError.trailingBytes(entry: entryIndex, offset: baseOffset + nameStart + Int(length),
                                                    template: template.name, count: available - Int(length))
        }
        let nameRange = nameStart..<data.count
        return [
            TemplateField(id: .digest, range: 0..<d, value: .digest(Array(data[0..<d]))),
            TemplateField(id: .name, range: nameRange, value: .name(Array(data[nameRange]))),
        ]
    }

    /// Every other template: `u32 len || bytes` per field, nothing after the last.
    private func parseFields(_ data: [UInt8]) throws(MeasurementLogError) -> [TemplateField] {
        var fields = [TemplateField]()
        fields.reserveCapacity(template.fields.count)
        var cursor = 0
        for id in template.fields {
            let left = data.count - cursor
            guard left >= 4 else {
                throw MeasurementLogError.fieldOverflow(
                    entry: entryIndex, offset: baseOffset + cursor, field: id.rawValue, declared: 4, available: left)
            }
            let length = byteOrder.uint32(data, at: cursor)
            let start = cursor + 4
            guard UInt64(length) <= UInt64(data.count - start) else {
                throw MeasurementLogError.fieldOverflow(
                    entry: entryIndex, offset: baseOffset + cursor, field: id.rawValue,
                    declared: UInt64(length), available: data.count - start)
            }
            let range = start..<(start + Int(length))
            let value = try decode(id, data[range], fieldOffset: baseOffset + start)
            fields.append(TemplateField(id: id, range: range, value: value))
            cursor = range.upperBound
        }
        if cursor != data.count {
            throw MeasurementLogError.trailingBytes(entry: entryIndex, offset: baseOffset + cursor,
                                                    template: template.name, count: data.count - cursor)
        }
        return fields
    }

    private func decode(_ id: TemplateFieldID, _ bytes: ArraySlice<UInt8>, fieldOffset: Int) throws(MeasurementLogError) -> TemplateFieldValue {
        if bytes.isEmpty { return .empty }
        switch id {
        case .digest:
            return .digest(Array(bytes))
        case .digestNG, .digestNGv2, .modsigDigest:
            switch EventDigest.decode(bytes, typed: id == .digestNGv2) {
            case .failure(let failure):
                throw MeasurementLogError.malformedField(entry: entryIndex, offset: fieldOffset + failure.offset,
                                                         field: id.rawValue, reason: failure.reason)
            case .success(let digest):
                // An unknown algorithm or a length that is not the algorithm's is
                // framed, and reported by `MeasurementEntry.malformation`.
                return .eventDigest(digest)
            }
        case .name, .nameNG:
            // The kernel writes the name and one NUL; any other layout is kept
            // whole (never cut at a NUL) for `MeasurementEntry.malformation`.
            return .name(bytes.last == 0 ? Array(bytes.dropLast()) : Array(bytes))
        case .signature, .evmSignature:
            let raw = Array(bytes)
            return .xattr(raw, Result { try IMAXattr(bytes: raw) }.mapError { error in
                error as? IMAFormatError
                    ?? IMAFormatError(code: .invalidValue, offset: 0, field: id.rawValue, reason: "\(error)")
            })
        case .buffer, .modsig, .xattrValues:
            return .bytes(Array(bytes))
        case .xattrNames:
            var names = Array(bytes)
            if names.last == 0 { names.removeLast() }
            return .xattrNames(names.split(separator: UInt8(ascii: "|"), omittingEmptySubsequences: false).map(Array.init))
        case .xattrLengths:
            guard bytes.count % 4 == 0 else {
                throw MeasurementLogError.malformedField(
                    entry: entryIndex, offset: fieldOffset, field: id.rawValue,
                    reason: "\(bytes.count) byte(s) is not a whole number of u32 lengths")
            }
            let flat = Array(bytes)
            return .xattrLengths(stride(from: 0, to: flat.count, by: 4).map { byteOrder.uint32(flat, at: $0) })
        case .inodeUID, .inodeGID, .inodeMode:
            guard [1, 2, 4, 8].contains(bytes.count) else {
                throw MeasurementLogError.malformedField(
                    entry: entryIndex, offset: fieldOffset, field: id.rawValue,
                    reason: "\(bytes.count) byte(s) is not an integer size (1, 2, 4 or 8)")
            }
            return .unsignedInteger(byteOrder.unsigned(bytes))
        }
    }
}
