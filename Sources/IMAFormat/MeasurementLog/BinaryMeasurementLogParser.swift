/// Reads `binary_runtime_measurements` (or a per-bank
/// `binary_runtime_measurements_<algo>`) incrementally.
///
/// Feed bytes in chunks of any size with `append(_:)`, pull entries with
/// `next()` until it returns nil (more bytes needed), and call `finish()` at
/// end of input: it throws if the log stops inside an entry. Only the entry
/// being assembled is buffered, so a 1 GB log is never held whole. `position`
/// tells where the next entry starts; a parser made with `resumingAt:` goes on
/// from a saved position when fed the bytes from that offset on.
///
/// Entry layout (`ima_measurements_show` in security/integrity/ima/ima_fs.c):
/// ```
/// u32 pcr | template digest (20, or the bank size in per-bank files)
/// u32 template_name_len | template_name
/// u32 template_data_len | template_data        (all but "ima")
/// d(20) | u32 n_len | n                          ("ima": no data length)
/// ```
/// Every length is checked before use, limits are enforced as soon as the
/// length is read (a 4 GB `template_data_len` fails at once, without
/// waiting for data), and errors are sticky: after one, `next()` rethrows it.
public struct BinaryMeasurementLogParser: Sendable {
    /// How the log is read, and its limits.
    public let options: MeasurementLogOptions
    /// Where the next entry starts.
    public private(set) var position: LogPosition
    private var buffer = InputBuffer()
    private var failure: MeasurementLogError?
    /// When false, entries come out framed but with no `fields`: the caller
    /// decodes them (e.g. on worker threads) with `MeasurementEntry.decodeFields(options:)`.
    public let decodesFields: Bool

    public init(options: MeasurementLogOptions = MeasurementLogOptions(), resumingAt position: LogPosition = .start,
                decodesFields: Bool = true) {
        self.options = options
        self.position = position
        self.decodesFields = decodesFields
    }

    /// Bytes received but not yet returned as entries.
    public var bufferedByteCount: Int { buffer.count }

    /// Adds the next bytes of the log.
    public mutating func append<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        buffer.append(bytes)
    }

    /// The next complete entry, or nil when more bytes are needed.
    public mutating func next() throws(MeasurementLogError) -> MeasurementEntry? {
        if let failure { throw failure }
        do {
            switch try step() {
            case .needMore:
                return nil
            case .entry(let entry):
                buffer.consume(entry.encodedLength)
                position = LogPosition(entryIndex: position.entryIndex + 1,
                                       byteOffset: position.byteOffset + entry.encodedLength)
                return entry
            }
        } catch {
            failure = error
            throw error
        }
    }

    /// Declares the end of input; throws `truncated` naming the field the log
    /// stopped in if an entry is incomplete.
    public mutating func finish() throws(MeasurementLogError) {
        if let failure { throw failure }
        guard !buffer.isEmpty else { return }
        if case .needMore(let field, let offset, let need, let have) = try step() {
            let error = MeasurementLogError.truncated(entry: position.entryIndex, offset: offset, field: field,
                                                      need: need, have: have)
            failure = error
            throw error
        }
    }

    /// Parses a whole log held in memory.
    public static func parse<C: Collection>(_ bytes: C, options: MeasurementLogOptions = MeasurementLogOptions())
        throws -> [MeasurementEntry] where C.Element == UInt8
    {
        var parser = BinaryMeasurementLogParser(options: options)
        parser.append(bytes)
        var entries = [MeasurementEntry]()
        while let entry = try parser.next() { entries.append(entry) }
        try parser.finish()
        return entries
    }

    private enum Step {
        case entry(MeasurementEntry)
        case needMore(field: String, offset: Int, need: Int, have: Int)
    }

    /// Tries to read one entry from the buffered bytes without consuming them.
    private func step() throws(MeasurementLogError) -> Step {
        let bytes = buffer.storage
        let head = buffer.head
        let end = bytes.count
        let index = position.entryIndex
        let order = options.byteOrder
        // Absolute log offset of a storage index.
        func at(_ i: Int) -> Int { position.byteOffset + (i - head) }

        var i = head
        guard end - i >= 4 else { return .needMore(field: "pcr", offset: at(i), need: 4, have: end - i) }
        let pcr = order.uint32(bytes, at: i)
        guard pcr <= options.maxPCRIndex else {
            throw MeasurementLogError.pcrOutOfRange(entry: index, offset: at(i), pcr: pcr, max: options.maxPCRIndex)
        }
        i += 4

        let digestLength = options.templateDigestAlgorithm.digestLength
        guard end - i >= digestLength else {
            return .needMore(field: "template_digest", offset: at(i), need: digestLength, have: end - i)
        }
        let digest = Array(bytes[i..<(i + digestLength)])
        i += digestLength

        guard end - i >= 4 else {
            return .needMore(field: "template_name_len", offset: at(i), need: 4, have: end - i)
        }
        let nameLength = order.uint32(bytes, at: i)
        guard nameLength <= MeasurementLogOptions.maxTemplateNameLength else {
            throw MeasurementLogError.nameTooLong(entry: index, offset: at(i), field: "template_name_len",
                                                  length: nameLength, limit: MeasurementLogOptions.maxTemplateNameLength)
        }
        guard nameLength > 0 else {
            throw MeasurementLogError.invalidTemplateName(entry: index, offset: at(i), reason: "template name is empty")
        }
        i += 4

        guard end - i >= Int(nameLength) else {
            return .needMore(field: "template_name", offset: at(i), need: Int(nameLength), have: end - i)
        }
        let nameBytes = bytes[i..<(i + Int(nameLength))]
        guard nameBytes.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else {
            throw MeasurementLogError.invalidTemplateName(
                entry: index, offset: at(i), reason: "template name has bytes outside printable ASCII: \(Hex.encode(nameBytes))")
        }
        let name = String(decoding: nameBytes, as: UTF8.self)
        let template = TemplateDescriptor(logName: name)
        if template == nil && !options.keepsUnknownTemplates {
            throw MeasurementLogError.unknownTemplate(entry: index, offset: at(i), name: name)
        }
        i += Int(nameLength)

        let dataStart: Int
        let dataEnd: Int
        if name == TemplateDescriptor.ima.name {
            // d(20) | u32 n_len | n: the kernel writes no template_data_len for "ima".
            let d = MeasurementLogOptions.legacyDigestLength
            guard end - i >= d else { return .needMore(field: "d", offset: at(i), need: d, have: end - i) }
            guard end - i >= d + 4 else {
                return .needMore(field: "n_len", offset: at(i + d), need: 4, have: end - i - d)
            }
            let nLength = order.uint32(bytes, at: i + d)
            guard nLength <= MeasurementLogOptions.maxLegacyEventNameLength else {
                throw MeasurementLogError.nameTooLong(entry: index, offset: at(i + d), field: "n_len", length: nLength,
                                                      limit: MeasurementLogOptions.maxLegacyEventNameLength)
            }
            let nStart = i + d + 4
            guard end - nStart >= Int(nLength) else {
                return .needMore(field: "n", offset: at(nStart), need: Int(nLength), have: end - nStart)
            }
            dataStart = i
            dataEnd = nStart + Int(nLength)
        } else {
            guard end - i >= 4 else {
                return .needMore(field: "template_data_len", offset: at(i), need: 4, have: end - i)
            }
            let dataLength = order.uint32(bytes, at: i)
            guard UInt64(dataLength) <= UInt64(options.maxTemplateDataLength) else {
                throw MeasurementLogError.dataTooLong(entry: index, offset: at(i), field: "template_data_len",
                                                      length: UInt64(dataLength), limit: options.maxTemplateDataLength)
            }
            i += 4
            guard end - i >= Int(dataLength) else {
                return .needMore(field: "template_data", offset: at(i), need: Int(dataLength), have: end - i)
            }
            dataStart = i
            dataEnd = i + Int(dataLength)
        }

        let data = Array(bytes[dataStart..<dataEnd])
        var fields = [TemplateField]()
        if let template, decodesFields {
            let parser = TemplateDataParser(template: template, byteOrder: order, entryIndex: index,
                                            baseOffset: at(dataStart), isViolation: digest.allSatisfy { $0 == 0 })
            fields = try parser.parse(data)
        }
        return .entry(MeasurementEntry(
            position: position, encodedLength: dataEnd - head, pcrIndex: pcr, templateDigest: digest,
            templateName: name, templateData: data, template: template, fields: fields))
    }
}

extension MeasurementEntry {
    /// Decodes `fields` from `templateData` for an entry framed by a parser
    /// made with `decodesFields: false`, with the same checks and errors as a
    /// decoding parser. Does nothing for an unknown template.
    public mutating func decodeFields(options: MeasurementLogOptions) throws(MeasurementLogError) {
        guard let template else { return }
        let parser = TemplateDataParser(template: template, byteOrder: options.byteOrder, entryIndex: position.entryIndex,
                                        baseOffset: position.byteOffset + encodedLength - templateData.count,
                                        isViolation: isViolation)
        fields = try parser.parse(templateData)
    }
}
