/// Why a document is not strict JSON: where (the JSON path of the value or key concerned, and
/// the byte offset in the document) and what.
public struct StrictJSONError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What kind of problem.
    public enum Code: String, Equatable, Sendable {
        /// The document starts with a byte order mark (UTF-8, UTF-16 or UTF-32).
        case byteOrderMark = "byte-order-mark"
        /// The document ends inside a value.
        case unexpectedEnd = "unexpected-end"
        /// A byte that cannot start or continue a value here.
        case unexpectedCharacter = "unexpected-character"
        /// Something after the top-level value.
        case trailingData = "trailing-data"
        /// A control character (below U+0020) unescaped in a string.
        case controlCharacter = "control-character"
        /// A backslash escape that JSON does not define, or a bad `\u` escape.
        case invalidEscape = "invalid-escape"
        /// A `\u` escape of half a surrogate pair.
        case loneSurrogate = "lone-surrogate"
        /// Bytes that are not UTF-8 (overlong forms and surrogates included).
        case invalidUTF8 = "invalid-utf8"
        /// A number outside JSON's grammar (leading zeros, `.5`, `1.`, `+1`, `1e`).
        case invalidNumber = "invalid-number"
        /// An object names the same key twice (after unescaping; canonically equivalent keys count).
        case duplicateKey = "duplicate-key"
        /// Objects and arrays nested deeper than the limit.
        case tooDeep = "too-deep"
        /// A number where an integer is required is written with a fraction or an exponent.
        case notAnInteger = "not-an-integer"
    }

    /// The kind of problem.
    public let code: Code
    /// The JSON path of the value or key concerned (`ima_log.data`, `excludes[3]`); `""` for the
    /// document itself.
    public let path: String
    /// The byte offset in the document where the problem is.
    public let offset: Int
    /// What was found and what was expected, for a person.
    public let reason: String

    public init(code: Code, path: String, offset: Int, reason: String) {
        self.code = code
        self.path = path
        self.offset = offset
        self.reason = reason
    }

    public var description: String {
        path.isEmpty ? "JSON byte \(offset): \(reason)" : "JSON \(path) (byte \(offset)): \(reason)"
    }
}
