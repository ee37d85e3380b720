/// Turns a Codable coding path into the dotted JSON path used in error
/// messages (`pcrs.sha256.10`, `excludes[3]`), and a `DecodingError` into
/// the field it is about and a readable reason.
public enum JSONFieldPath {
    /// `pcrs.sha256.10`, `chains[0].name`.
    public static func render(_ path: [any CodingKey]) -> String {
        var out = ""
        for key in path {
            if let index = key.intValue, key.stringValue == "Index \(index)" {
                out += "[\(index)]"
            } else {
                out += out.isEmpty ? key.stringValue : "." + key.stringValue
            }
        }
        return out
    }

    /// `base.key`, or `key` when base is empty.
    public static func join(_ base: String, _ key: String) -> String { base.isEmpty ? key : "\(base).\(key)" }

    /// The kind of a decoding failure, the field and the reason.
    public enum Kind: Sendable { case notJSON, missing, invalid }

    public static func describe(_ error: DecodingError) -> (kind: Kind, field: String, reason: String) {
        switch error {
        case .keyNotFound(let key, let context):
            return (.missing, render(context.codingPath + [key]), "required field is missing")
        case .valueNotFound(_, let context) where context.codingPath.isEmpty,
             .typeMismatch(_, let context) where context.codingPath.isEmpty:
            return (.notJSON, "", "the document is not a JSON object")
        case .valueNotFound(let type, let context):
            return (.invalid, render(context.codingPath), "is null, expected \(jsonType(type))")
        case .typeMismatch(let type, let context):
            return (.invalid, render(context.codingPath), "expected \(jsonType(type))")
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty {
                let detail = context.underlyingError.map { "\($0)" }
                return (.notJSON, "", "not valid JSON" + (detail.map { ": \($0)" } ?? ""))
            }
            return (.invalid, render(context.codingPath), context.debugDescription)
        @unknown default:
            return (.invalid, "", "\(error)")
        }
    }

    private static func jsonType(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Int.Type, is UInt32.Type, is UInt64.Type: return "an integer"
        case is Bool.Type: return "true or false"
        default:
            let name = "\(type)"
            if name.hasPrefix("Array") { return "an array" }
            if name.hasPrefix("Dictionary") { return "an object" }
            return "an object"
        }
    }
}
