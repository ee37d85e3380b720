/// One entry of the IMA measurement log, as read from the binary or the
/// ASCII securityfs file.
///
/// `templateData` is kept byte for byte as the log stores it, because the
/// template digest (and so the PCR) covers exactly those bytes; `fields` is
/// its decoding. An entry whose template is unknown (kept with
/// `MeasurementLogOptions.keepsUnknownTemplates`) has `template == nil` and no
/// fields, but can still be hashed and replayed.
public struct MeasurementEntry: Equatable, Sendable {
    /// Where the entry starts in its log.
    public var position: LogPosition
    /// How many bytes the entry (binary) or its line with the newline (ASCII) takes.
    public var encodedLength: Int
    /// The PCR the kernel extended (10 unless a policy rule says `pcr=`).
    public var pcrIndex: UInt32
    /// The template digest as stored: SHA-1 in the classic file, the bank's
    /// algorithm in `binary_runtime_measurements_<algo>`. All zeros for a violation.
    public var templateDigest: [UInt8]
    /// The template name as written: a built-in name or a format string.
    public var templateName: String
    /// The template data as stored. For the "ima" template: `d(20) || u32 len || n`.
    public var templateData: [UInt8]
    /// The template, when known.
    public var template: TemplateDescriptor?
    /// The decoded fields, in template order; empty when the template is unknown.
    public var fields: [TemplateField]

    public init(position: LogPosition, encodedLength: Int, pcrIndex: UInt32, templateDigest: [UInt8],
                templateName: String, templateData: [UInt8], template: TemplateDescriptor?,
                fields: [TemplateField]) {
        self.position = position
        self.encodedLength = encodedLength
        self.pcrIndex = pcrIndex
        self.templateDigest = templateDigest
        self.templateName = templateName
        self.templateData = templateData
        self.template = template
        self.fields = fields
    }

    /// A violation (ToMToU or open-writers): the kernel stores a zero template
    /// digest and extends the PCR with all 0xFF. Its template data is not
    /// covered by the PCR, so nothing in it can be trusted.
    public var isViolation: Bool { templateDigest.allSatisfy { $0 == 0 } }

    /// The first field with this id.
    public func field(_ id: TemplateFieldID) -> TemplateField? {
        fields.first { $0.id == id }
    }

    /// The raw bytes of a field.
    public func bytes(of field: TemplateField) -> ArraySlice<UInt8> {
        templateData[field.range]
    }

    /// The measured digest: `d-ng`/`d-ngv2`, or `d` (as SHA-1) for the "ima" template.
    public var eventDigest: EventDigest? {
        for field in fields {
            switch (field.id, field.value) {
            case (.digestNG, .eventDigest(let d)), (.digestNGv2, .eventDigest(let d)):
                return d
            case (.digest, .digest(let d)):
                return EventDigest(algorithmName: d.count == 20 ? "sha1" : "", digest: d)
            default:
                continue
            }
        }
        return nil
    }

    /// The event name (the file path, or `boot_aggregate`, or a buffer's name) as bytes.
    public var eventName: [UInt8]? {
        for field in fields where field.id == .nameNG || field.id == .name {
            if case .name(let n) = field.value { return n }
        }
        return nil
    }

    /// The `sig` field, decoded, when present and well-formed.
    public var signature: IMAXattr? {
        guard let field = field(.signature), case .xattr(_, .success(let xattr)) = field.value else { return nil }
        return xattr
    }
}
