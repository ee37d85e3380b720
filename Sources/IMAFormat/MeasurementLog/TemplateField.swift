/// One field of an entry's template data: which field it is, where its bytes
/// are inside `MeasurementEntry.templateData`, and what they decode to.
public struct TemplateField: Equatable, Sendable {
    /// Which field this is.
    public let id: TemplateFieldID
    /// The field's bytes (length prefix excluded) within the entry's template data.
    public let range: Range<Int>
    /// The decoded content.
    public let value: TemplateFieldValue

    public init(id: TemplateFieldID, range: Range<Int>, value: TemplateFieldValue) {
        self.id = id
        self.range = range
        self.value = value
    }
}
