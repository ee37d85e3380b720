// FoundationEssentials only (JSONDecoder): full Foundation would pull ICU into the static binary.
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import StrictJSON

/// Why a boot reference file was refused: it is not strict JSON, a field is
/// missing or has the wrong type, it is of another format or version, or two
/// references that must be judged together disagree on a rule. `source`
/// names the file (or upload field) and `field` the JSON path.
///
/// Equatable on `code` only: callers compare the kind of failure, never the wording.
public struct BootReferenceError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        case invalidJSON, missingField, invalidField, unsupportedFormat, unsupportedVersion, tooLarge
        /// Two references merged for one judgement set different rules.
        case conflictingRules
    }

    public let code: Code
    /// The file or upload field the reference came from.
    public let source: String
    /// The JSON path (`chains[0].applications[1].sha256`); empty for the whole document.
    public let field: String
    public let reason: String

    public init(code: Code, source: String, field: String, reason: String) {
        self.code = code
        self.source = source
        self.field = field
        self.reason = reason
    }

    public var description: String {
        field.isEmpty ? "\(source): not a usable boot reference: \(reason)" : "\(source): boot reference field \(field): \(reason)"
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }
}

extension BootReference {
    /// The largest boot reference document read (a reference with many chains is a few hundred KB).
    public static let maxDocumentBytes = 16 << 20

    /// Decodes a boot reference file: strict JSON (no key twice, no byte order mark), `format`
    /// `signet-boot-reference` and `version` 1, every field of its type. `source` names the file in errors.
    public static func decode(_ bytes: [UInt8], source: String) throws(BootReferenceError) -> BootReference {
        guard bytes.count <= maxDocumentBytes else {
            throw BootReferenceError(code: .tooLarge, source: source, field: "",
                                     reason: "\(bytes.count) bytes, more than the limit of \(maxDocumentBytes)")
        }
        do {
            try StrictJSON.validate(bytes)
        } catch where error.code == .duplicateKey {
            throw BootReferenceError(code: .invalidField, source: source, field: error.path, reason: error.reason + " (byte \(error.offset))")
        } catch {
            let at = error.path.isEmpty ? "" : "at \(error.path): "
            throw BootReferenceError(code: .invalidJSON, source: source, field: "", reason: "not strict JSON: \(at)\(error.reason) (byte \(error.offset))")
        }
        // format and version first, so another kind of file is named as such rather than failing on a field it lacks.
        struct Header: Decodable { var format: String?; var version: Int? }
        let header: Header
        do { header = try JSONDecoder().decode(Header.self, from: Data(bytes)) } catch {
            throw BootReferenceError(code: .invalidJSON, source: source, field: "", reason: "the document is not a JSON object")
        }
        guard header.format == formatName else {
            throw BootReferenceError(code: .unsupportedFormat, source: source, field: "format",
                                     reason: header.format.map { "is \"\($0)\", expected \"\(formatName)\"" } ?? "required field is missing")
        }
        guard header.version == currentVersion else {
            throw BootReferenceError(code: .unsupportedVersion, source: source, field: "version",
                                     reason: header.version.map { "is \($0); this code reads version \(currentVersion)" } ?? "required field is missing")
        }
        do {
            return try JSONDecoder().decode(BootReference.self, from: Data(bytes))
        } catch let error as DecodingError {
            let (kind, field, reason) = JSONFieldPath.describe(error)
            let code: BootReferenceError.Code = switch kind {
            case .notJSON: .invalidJSON
            case .missing: .missingField
            case .invalid: .invalidField
            }
            throw BootReferenceError(code: code, source: source, field: field, reason: reason)
        } catch {
            throw BootReferenceError(code: .invalidJSON, source: source, field: "", reason: "\(error)")
        }
    }

    /// One reference allowing every chain of `references` (identical chains once), for a group
    /// judged against several image builds at once (a kernel rollout). The rules (command line,
    /// Secure Boot, unlisted files) must be the same in all: a boot is judged by one set of rules,
    /// and silently picking one would weaken or tighten the others. Nil for no reference.
    public static func merged(_ references: [(source: String, reference: BootReference)]) throws(BootReferenceError) -> BootReference? {
        guard var merged = references.first?.reference, let first = references.first?.source else { return nil }
        for (source, other) in references.dropFirst() {
            func conflict(_ field: String) -> BootReferenceError {
                BootReferenceError(code: .conflictingRules, source: source, field: field,
                                   reason: "differs from \(first)'s: references judged together must share their rules "
                                       + "(make them with the same options, or judge the groups apart)")
            }
            guard other.commandLine == merged.commandLine else { throw conflict("commandLine") }
            guard other.secureBoot == merged.secureBoot else { throw conflict("secureBoot") }
            guard other.allowsUnlistedFiles == merged.allowsUnlistedFiles else { throw conflict("allowsUnlistedFiles") }
            for chain in other.chains where !merged.chains.contains(chain) { merged.chains.append(chain) }
        }
        return merged
    }
}
