/// Why an IMA measurement log (binary or ASCII) could not be read, replayed or
/// checked. Carries the entry index and the byte offset in the log, so a user
/// can find the problem with `xxd -s OFFSET`.
///
/// Equatable on `code` only: tests and callers compare the kind of failure,
/// never the wording.
public struct MeasurementLogError: Error, Equatable, CustomStringConvertible, Sendable {
    /// What kind of failure.
    public enum Code: Equatable, Sendable {
        /// The input ended inside an entry (or inside a line).
        case truncated
        /// `template_name_len` (or the "ima" template's name length) is above 255.
        case nameTooLong
        /// `template_data_len` (or an ASCII line) is above the configured bound.
        case dataTooLong
        /// A template field's declared length runs past the end of the template data.
        case fieldOverflow
        /// The template data has bytes left after its last field.
        case trailingBytes
        /// The PCR index is above the configured maximum (23 for a TPM 2.0).
        case pcrOutOfRange
        /// The template name is neither a built-in template nor a format of known fields.
        case unknownTemplate
        /// The template name is empty or has bytes outside printable ASCII.
        case invalidTemplateName
        /// A field's bytes do not have the layout the kernel writes for it.
        case malformedField
        /// An ASCII line does not have the layout `ima_ascii_measurements_show` prints.
        case malformedLine
        /// The stored template digest differs from the one recomputed over the template data.
        case templateDigestMismatch
        /// A PCR value has the wrong length, or a PCR needed for a computation is missing.
        case invalidPCRValue
        /// An entry was replayed out of order (its index is not the next one expected).
        case outOfSequence
    }

    /// The kind of failure; the only part `==` compares.
    public let code: Code
    /// Index of the entry (0-based) the failure belongs to, when known.
    public let entryIndex: Int?
    /// Byte offset in the log (binary) or of the line (ASCII), when known.
    public let offset: Int?
    /// The field, named as the kernel names it (`pcr`, `template_name_len`, `n-ng`, …).
    public let field: String
    /// What was expected and what was found.
    public let reason: String

    public init(code: Code, entryIndex: Int?, offset: Int?, field: String, reason: String) {
        self.code = code
        self.entryIndex = entryIndex
        self.offset = offset
        self.field = field
        self.reason = reason
    }

    public var description: String {
        var location = [String]()
        if let entryIndex { location.append("entry \(entryIndex)") }
        if let offset { location.append("byte \(offset)") }
        let prefix = location.isEmpty ? "" : location.joined(separator: ", ") + ": "
        return "\(prefix)\(field): \(reason)"
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }

    /// Thrown when the input ends before the field is complete.
    static func truncated(entry: Int, offset: Int, field: String, need: Int, have: Int) -> Self {
        .init(code: .truncated, entryIndex: entry, offset: offset, field: field,
              reason: "log ends inside the entry: \(field) needs \(need) byte(s), only \(have) present")
    }

    /// Thrown when a name length is above `IMA_EVENT_NAME_LEN_MAX` (255).
    static func nameTooLong(entry: Int, offset: Int, field: String, length: UInt32, limit: Int) -> Self {
        .init(code: .nameTooLong, entryIndex: entry, offset: offset, field: field,
              reason: "declares \(length) byte(s); at most \(limit) allowed")
    }

    /// Thrown when `template_data_len` is above the configured bound.
    static func dataTooLong(entry: Int, offset: Int, field: String, length: UInt64, limit: Int) -> Self {
        .init(code: .dataTooLong, entryIndex: entry, offset: offset, field: field,
              reason: "declares \(length) byte(s); the bound is \(limit) (MeasurementLogOptions.maxTemplateDataLength)")
    }

    /// Thrown when a field's length runs past the end of the template data.
    static func fieldOverflow(entry: Int, offset: Int, field: String, declared: UInt64, available: Int) -> Self {
        .init(code: .fieldOverflow, entryIndex: entry, offset: offset, field: field,
              reason: "declares \(declared) byte(s) but only \(available) remain in the template data")
    }

    /// Thrown when template data continues after its last field.
    static func trailingBytes(entry: Int, offset: Int, template: String, count: Int) -> Self {
        .init(code: .trailingBytes, entryIndex: entry, offset: offset, field: "template_data",
              reason: "\(count) byte(s) left after the last field of template \(template)")
    }

    /// Thrown when the PCR index is above the configured maximum.
    static func pcrOutOfRange(entry: Int, offset: Int, pcr: UInt32, max: UInt32) -> Self {
        .init(code: .pcrOutOfRange, entryIndex: entry, offset: offset, field: "pcr",
              reason: "PCR \(pcr) is out of range (expected 0-\(max))")
    }

    /// Thrown when the template name is not one this parser can read.
    static func unknownTemplate(entry: Int, offset: Int, name: String) -> Self {
        .init(code: .unknownTemplate, entryIndex: entry, offset: offset, field: "template_name",
              reason: "unknown template \"\(name)\" (expected a built-in template such as ima-ng, "
                + "or a format of known fields such as d-ng|n-ng; set keepsUnknownTemplates to keep it raw)")
    }

    /// Thrown when the template name is empty or not printable ASCII.
    static func invalidTemplateName(entry: Int, offset: Int, reason: String) -> Self {
        .init(code: .invalidTemplateName, entryIndex: entry, offset: offset, field: "template_name", reason: reason)
    }

    /// Thrown when a field's bytes are not laid out as the kernel writes them.
    static func malformedField(entry: Int, offset: Int, field: String, reason: String) -> Self {
        .init(code: .malformedField, entryIndex: entry, offset: offset, field: field, reason: reason)
    }

    /// Thrown when an ASCII line is not laid out as the kernel prints it.
    static func malformedLine(entry: Int, offset: Int, field: String, reason: String) -> Self {
        .init(code: .malformedLine, entryIndex: entry, offset: offset, field: field, reason: reason)
    }

    /// Thrown when the stored template digest is not the hash of the template data.
    static func templateDigestMismatch(entry: Int, offset: Int, algorithm: HashAlgorithm,
                                       stored: [UInt8], computed: [UInt8]) -> Self {
        .init(code: .templateDigestMismatch, entryIndex: entry, offset: offset, field: "template_digest",
              reason: "stored \(algorithm.name) digest \(Hex.encode(stored)) but the template data hashes to "
                + Hex.encode(computed))
    }

    /// Thrown when a PCR value is missing or has the wrong length for its bank.
    static func invalidPCRValue(pcr: UInt32, bank: HashAlgorithm, reason: String) -> Self {
        .init(code: .invalidPCRValue, entryIndex: nil, offset: nil, field: "PCR-\(pcr) (\(bank.name))", reason: reason)
    }

    /// Thrown when an entry is replayed whose index is not the next expected one.
    static func outOfSequence(entry: Int, offset: Int, expected: Int) -> Self {
        .init(code: .outOfSequence, entryIndex: entry, offset: offset, field: "entry",
              reason: "entry \(entry) replayed where entry \(expected) was expected")
    }
}
