import StrictJSON

/// Why reference material (a Keylime runtime policy, an exclude pattern, a
/// verification key) could not be used. `field` is the JSON path or the
/// setting concerned (`digests./usr/bin/ls[0]`, `excludes[3]`).
///
/// Equatable on `code` only.
public struct ReferenceError: Error, Equatable, CustomStringConvertible, Sendable {
    /// What kind of failure.
    public enum Code: Equatable, Sendable {
        /// The bytes are not a JSON object.
        case invalidJSON
        /// A required field is absent.
        case missingField
        /// A field has the wrong type or value (bad hex, unknown algorithm, …).
        case invalidField
        /// The document declares a version this code does not read.
        case unsupportedVersion
        /// A path pattern (glob or regular expression) does not compile.
        case invalidPattern
        /// A key or certificate cannot be read.
        case invalidKey
        /// An object names the same key twice: readers disagree on which value counts.
        case duplicateKey
    }

    /// The kind of failure; the only part `==` compares.
    public let code: Code
    /// The JSON path or setting concerned.
    public let field: String
    /// What was expected and what was found.
    public let reason: String

    public init(code: Code, field: String, reason: String) {
        self.code = code
        self.field = field
        self.reason = reason
    }

    public var description: String { field.isEmpty ? reason : "\(field): \(reason)" }

    /// The reference error for a document that is not strict JSON (`StrictJSON`): `duplicateKey`
    /// for a key given twice (naming it), `invalidJSON` otherwise (the path and byte offset in the reason).
    init(strict error: StrictJSONError) {
        if error.code == .duplicateKey {
            self.init(code: .duplicateKey, field: error.path, reason: "\(error.reason) (byte \(error.offset))")
        } else {
            let at = error.path.isEmpty ? "" : " at \(error.path)"
            self.init(code: .invalidJSON, field: "", reason: "not strict JSON\(at) (byte \(error.offset)): \(error.reason)")
        }
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }
}
