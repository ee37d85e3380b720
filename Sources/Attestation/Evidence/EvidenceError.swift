import StrictJSON

/// Why an evidence document was refused before any verification: it is not
/// JSON, a field is missing or has the wrong type or value, or it is larger
/// than the verifier accepts. `field` is the JSON path of the culprit
/// (`quote.attest`, `pcrs.sha256.10`, `ima_log.data`), so an operator can
/// find it in the agent's output.
///
/// Equatable on `code` only: tests and callers compare the kind of failure,
/// never the wording.
public struct EvidenceError: Error, Equatable, CustomStringConvertible, Sendable {
    /// What kind of failure.
    public enum Code: Equatable, Sendable {
        /// The bytes are not a JSON object.
        case invalidJSON
        /// A required field is absent.
        case missingField
        /// A field has the wrong JSON type or a value outside its range
        /// (bad base64 or hex, wrong digest length, negative index, …).
        case invalidField
        /// `format` is not `signet-evidence`.
        case unsupportedFormat
        /// `version` is not one this verifier reads.
        case unsupportedVersion
        /// The document, or one of its fields, is larger than the configured limit.
        case tooLarge
        /// An object names the same key twice: readers disagree on which value counts.
        case duplicateKey
    }

    /// The kind of failure; the only part `==` compares.
    public let code: Code
    /// The JSON path of the field (`""` for the whole document).
    public let field: String
    /// A byte offset, when one is known: in the document for `invalidJSON`,
    /// `duplicateKey` and a number that is not an integer, in the decoded
    /// field otherwise.
    public let offset: Int?
    /// What was expected and what was found.
    public let reason: String

    public init(code: Code, field: String, offset: Int? = nil, reason: String) {
        self.code = code
        self.field = field
        self.offset = offset
        self.reason = reason
    }

    public var description: String {
        let at = offset.map { " (byte \($0))" } ?? ""
        return field.isEmpty ? "evidence\(at): \(reason)" : "evidence field \(field)\(at): \(reason)"
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }

    /// The evidence error for a document that is not strict JSON: `duplicateKey` for a key
    /// given twice, `unsupportedVersion` for a `version` written `1.0`, `invalidField` for another
    /// integer field written so (each naming the field), `invalidJSON` for the whole document
    /// otherwise (the path in the reason); the byte offset kept.
    init(strict error: StrictJSONError) {
        switch error.code {
        case .duplicateKey:
            self.init(code: .duplicateKey, field: error.path, offset: error.offset, reason: error.reason)
        case .notAnInteger:
            self.init(code: error.path == "version" ? .unsupportedVersion : .invalidField, field: error.path, offset: error.offset,
                      reason: error.reason)
        default:
            self.init(code: .invalidJSON, field: "", offset: error.offset,
                      reason: error.path.isEmpty ? error.reason : "at \(error.path): \(error.reason)")
        }
    }

    /// Thrown when a required field is absent.
    static func missing(_ field: String) -> Self {
        .init(code: .missingField, field: field, reason: "required field is missing")
    }

    /// Thrown when a field has the wrong type or an unusable value.
    static func invalid(_ field: String, _ reason: String, offset: Int? = nil) -> Self {
        .init(code: .invalidField, field: field, offset: offset, reason: reason)
    }

    /// Thrown when a document or field is above its limit.
    static func tooLarge(_ field: String, size: Int, limit: Int) -> Self {
        .init(code: .tooLarge, field: field, reason: "\(size) byte(s), more than the limit of \(limit)")
    }
}
