/// Reads `ascii_runtime_measurements` (or a per-bank
/// `ascii_runtime_measurements_<algo>`) incrementally, producing the same
/// entries as the binary parser: the template data is rebuilt byte for byte
/// from the printed fields, so the template digest can be checked and the
/// PCR replayed from the ASCII file too.
///
/// Line layout (`ima_ascii_measurements_show` in ima_fs.c): `"%2d "` PCR (a
/// leading space below 10), template digest in hex, template name, then for
/// every field a space and the field as text, even when the field is empty
/// (so an unsigned file in ima-sig leaves a trailing space). Digests print as
/// `<prefix><hex>` (`sha256:…`, `ima:sha256:…`), names as their bytes (the
/// kernel turned spaces into '_' when it recorded them, so a space always
/// separates fields), signatures and buffers as hex, `iuid`/`igid`/`imode` in
/// decimal.
///
/// Limits of the ASCII form, by construction: a name containing a newline
/// cannot be told apart from two lines, and the byte width and order of
/// `iuid`/`igid`/`imode` are not printed (rebuilt as 4/4/2 bytes in
/// `options.byteOrder`). Entries of unknown templates (kept with
/// `keepsUnknownTemplates`) have no template data. Prefer the binary log.
public struct ASCIIMeasurementLogParser: Sendable {
    /// How the log is read.
    public let options: MeasurementLogOptions
    /// Where the next line starts.
    public private(set) var position: LogPosition
    private var buffer = InputBuffer()
    /// Bytes after `buffer.head` already searched for a newline.
    private var scanned = 0
    private var failure: MeasurementLogError?

    public init(options: MeasurementLogOptions = MeasurementLogOptions(), resumingAt position: LogPosition = .start) {
        self.options = options
        self.position = position
    }

    /// Adds the next bytes of the log.
    public mutating func append<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        buffer.append(bytes)
    }

    /// The next complete line's entry, or nil when more bytes are needed.
    public mutating func next() throws -> MeasurementEntry? {
        if let failure { throw failure }
        guard let lineLength = findLine() else {
            if scanned > options.maxLineLength {
                return try fail(.init(code: .dataTooLong, entryIndex: position.entryIndex, offset: position.byteOffset,
                                      field: "line", reason: "no newline within \(options.maxLineLength) bytes"))
            }
            return nil
        }
        if lineLength > options.maxLineLength {
            return try fail(.init(code: .dataTooLong, entryIndex: position.entryIndex, offset: position.byteOffset,
                                  field: "line", reason: "line of \(lineLength) bytes exceeds \(options.maxLineLength)"))
        }
        let entry: MeasurementEntry
        do {
            let start = buffer.head
            entry = try parseLine(buffer.storage[start..<(start + lineLength)], encodedLength: lineLength + 1)
        } catch let error as MeasurementLogError {
            return try fail(error)
        }
        buffer.consume(lineLength + 1)
        scanned = 0
        position = LogPosition(entryIndex: position.entryIndex + 1, byteOffset: position.byteOffset + lineLength + 1)
        return entry
    }

    /// The length of the buffered line before its newline, or nil if no newline
    /// has arrived yet (then `scanned` records how far the search went).
    private mutating func findLine() -> Int? {
        let newline = UInt8(ascii: "\n")
        let head = buffer.head
        if let index = buffer.storage[(head + scanned)...].firstIndex(of: newline) {
            return index - head
        }
        scanned = buffer.count
        return nil
    }

    /// Declares the end of input; throws `truncated` if the last line has no newline.
    public mutating func finish() throws {
        if let failure { throw failure }
        if !buffer.isEmpty {
            _ = try fail(.truncated(entry: position.entryIndex, offset: position.byteOffset, field: "line",
                                    need: buffer.count + 1, have: buffer.count))
        }
    }

    /// Parses a whole ASCII log held in memory.
    public static func parse<C: Collection>(_ bytes: C, options: MeasurementLogOptions = MeasurementLogOptions())
        throws -> [MeasurementEntry] where C.Element == UInt8
    {
        var parser = ASCIIMeasurementLogParser(options: options)
        parser.append(bytes)
        var entries = [MeasurementEntry]()
        while let entry = try parser.next() { entries.append(entry) }
        try parser.finish()
        return entries
    }

    /// Parses a whole ASCII log given as text.
    public static func parse(_ text: String, options: MeasurementLogOptions = MeasurementLogOptions()) throws
        -> [MeasurementEntry]
    {
        try parse(Array(text.utf8), options: options)
    }

    private mutating func fail(_ error: MeasurementLogError) throws -> MeasurementEntry? {
        failure = error
        throw error
    }

    private func malformed(_ field: String, _ reason: String) -> MeasurementLogError {
        .malformedLine(entry: position.entryIndex, offset: position.byteOffset, field: field, reason: reason)
    }

    private func parseLine(_ line: ArraySlice<UInt8>, encodedLength: Int) throws -> MeasurementEntry {
        let space = UInt8(ascii: " ")
        var i = line.startIndex
        while i < line.endIndex, line[i] == space { i += 1 }
        let pcrStart = i
        while i < line.endIndex, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(line[i]) { i += 1 }
        guard i > pcrStart, i - pcrStart <= 10 else { throw malformed("pcr", "expected a decimal PCR index") }
        let pcrValue = line[pcrStart..<i].reduce(UInt64(0)) { $0 * 10 + UInt64($1 - UInt8(ascii: "0")) }
        guard pcrValue <= UInt64(options.maxPCRIndex) else {
            throw MeasurementLogError.pcrOutOfRange(entry: position.entryIndex, offset: position.byteOffset,
                                                    pcr: UInt32(truncatingIfNeeded: min(pcrValue, UInt64(UInt32.max))),
                                                    max: options.maxPCRIndex)
        }
        guard i < line.endIndex, line[i] == space else { throw malformed("pcr", "expected a space after the PCR index") }
        i += 1

        let rest = line[i...]
        let tokens = rest.split(separator: space, maxSplits: 2, omittingEmptySubsequences: false)
        guard tokens.count >= 2 else { throw malformed("template_name", "expected a template digest and a template name") }
        guard let digest = Hex.decode(String(decoding: tokens[0], as: UTF8.self)),
              digest.count == options.templateDigestAlgorithm.digestLength
        else {
            throw malformed("template_digest",
                            "expected \(2 * options.templateDigestAlgorithm.digestLength) hex digits "
                                + "(\(options.templateDigestAlgorithm.name))")
        }
        let nameBytes = tokens[1]
        guard !nameBytes.isEmpty, nameBytes.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else {
            throw MeasurementLogError.invalidTemplateName(entry: position.entryIndex, offset: position.byteOffset,
                                                          reason: "template name is empty or not printable ASCII")
        }
        let name = String(decoding: nameBytes, as: UTF8.self)
        guard let template = TemplateDescriptor(logName: name) else {
            guard options.keepsUnknownTemplates else {
                throw MeasurementLogError.unknownTemplate(entry: position.entryIndex, offset: position.byteOffset, name: name)
            }
            return MeasurementEntry(position: position, encodedLength: encodedLength, pcrIndex: UInt32(pcrValue),
                                    templateDigest: digest, templateName: name, templateData: [], template: nil, fields: [])
        }

        // Every field is printed as " " + text, so the remainder has exactly one token per field.
        let fieldTokens = tokens.count == 3
            ? tokens[2].split(separator: space, omittingEmptySubsequences: false) : []
        guard fieldTokens.count == template.fields.count else {
            throw malformed("template_data",
                            "template \(name) has \(template.fields.count) field(s) but the line has \(fieldTokens.count)")
        }
        var fieldBytes = [[UInt8]]()
        fieldBytes.reserveCapacity(fieldTokens.count)
        for (id, token) in zip(template.fields, fieldTokens) {
            fieldBytes.append(try bytes(for: id, text: token, legacyIMA: template.isLegacyIMA))
        }
        let data = TemplateDataEncoder(byteOrder: options.byteOrder).encode(template: template, fields: fieldBytes)
        let parser = TemplateDataParser(template: template, byteOrder: options.byteOrder,
                                        entryIndex: position.entryIndex, baseOffset: position.byteOffset,
                                        isViolation: digest.allSatisfy { $0 == 0 })
        return MeasurementEntry(position: position, encodedLength: encodedLength, pcrIndex: UInt32(pcrValue),
                                templateDigest: digest, templateName: name, templateData: data,
                                template: template, fields: try parser.parse(data))
    }

    /// The field bytes the kernel stored, rebuilt from their printed form.
    private func bytes(for id: TemplateFieldID, text: ArraySlice<UInt8>, legacyIMA: Bool) throws -> [UInt8] {
        func hex(_ t: ArraySlice<UInt8>) throws -> [UInt8] {
            guard let b = Hex.decode(String(decoding: t, as: UTF8.self)) else {
                throw malformed(id.rawValue, "expected hex digits")
            }
            return b
        }
        switch id {
        case .digest:
            return try hex(text)
        case .digestNG, .digestNGv2, .modsigDigest:
            if text.isEmpty { return [] }
            // Everything up to the last ':' is the prefix the kernel printed with %s.
            guard let colon = text.lastIndex(of: UInt8(ascii: ":")) else { return [UInt8(ascii: ":"), 0] + (try hex(text)) }
            return Array(text[text.startIndex...colon]) + [0] + (try hex(text[(colon + 1)...]))
        case .name:
            return legacyIMA ? Array(text) : Array(text) + [0]
        case .nameNG, .xattrNames:
            return Array(text) + [0]
        case .signature, .evmSignature, .buffer, .modsig, .xattrLengths, .xattrValues:
            return try hex(text)
        case .inodeUID, .inodeGID, .inodeMode:
            if text.isEmpty { return [] }
            let width = id == .inodeMode ? 2 : 4
            guard text.count <= 20, text.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else {
                throw malformed(id.rawValue, "expected a decimal number")
            }
            var value: UInt64 = 0
            for digit in text {
                let (times10, o1) = value.multipliedReportingOverflow(by: 10)
                let (sum, o2) = times10.addingReportingOverflow(UInt64(digit - UInt8(ascii: "0")))
                guard !o1, !o2 else { throw malformed(id.rawValue, "number out of range") }
                value = sum
            }
            guard value >> UInt64(8 * width) == 0 else {
                throw malformed(id.rawValue, "\(value) does not fit in \(width) bytes")
            }
            return options.byteOrder.bytes(value, width: width)
        }
    }
}
