/// Why a framed entry's fields are not laid out as the kernel writes them,
/// although the parser could split them: the field and a reason for a person.
public struct EntryMalformation: Equatable, Sendable, CustomStringConvertible {
    /// The field at fault.
    public let field: TemplateFieldID
    /// What was found and what the kernel writes.
    public let reason: String

    public init(field: TemplateFieldID, reason: String) {
        self.field = field
        self.reason = reason
    }

    public var description: String { "\(field): \(reason)" }
}

extension MeasurementEntry {
    /// Why the entry's name or digest is not one the kernel writes, or nil.
    ///
    /// The parser frames and decodes such an entry (its template digest still
    /// covers its bytes, so the log can be replayed and the rest of it
    /// judged), but its decoded values do not say what was measured: a
    /// verifier must refuse the entry, never judge them.
    ///
    /// - `d-ng`, `d-ngv2`, `d-modsig`: the algorithm is one the kernel names
    ///   and `HashAlgorithm` knows, and the digest has its length
    ///   (`EventDigest.problem`). Not checked for a violation, whose digest
    ///   is zeros (5.x kernels wrote 20 of them whatever the algorithm) and
    ///   is not covered by the PCR.
    /// - `d` outside the legacy "ima" template: a SHA-1 digest (20 bytes).
    /// - `n-ng` (and `n` outside the legacy "ima" template) is the name and
    ///   exactly one NUL, its last byte (`ima_write_template_field_data` with
    ///   `DATA_FMT_STRING`, over `strlen` bytes): a NUL inside would hide the
    ///   bytes after it, and a name without its NUL is not the kernel's.
    /// - The "ima" template's `n` is printed without its NUL
    ///   (`IMA_SHOW_BINARY_OLD_STRING_FMT`): it has none.
    public var malformation: EntryMalformation? {
        let legacy = template?.isLegacyIMA ?? false
        for field in fields {
            switch (field.id, field.value) {
            case (.name, .name), (.nameNG, .name):
                if let problem = Self.nameProblem(templateData[field.range], legacy: legacy && field.id == .name) {
                    return EntryMalformation(field: field.id, reason: problem)
                }
            case (.digestNG, .eventDigest(let digest)), (.digestNGv2, .eventDigest(let digest)),
                 (.modsigDigest, .eventDigest(let digest)):
                if !isViolation, let problem = digest.problem {
                    return EntryMalformation(field: field.id, reason: problem)
                }
            case (.digest, .digest(let digest)):
                if !isViolation, digest.count != HashAlgorithm.sha1.digestLength {
                    return EntryMalformation(field: field.id, reason: "a digest of \(digest.count) byte(s) in a d field, which holds SHA-1 (20)")
                }
            default:
                continue
            }
        }
        return nil
    }

    /// What is wrong with a name field's bytes, or nil.
    static func nameProblem(_ raw: ArraySlice<UInt8>, legacy: Bool) -> String? {
        if legacy {
            guard let nul = raw.firstIndex(of: 0) else { return nil }
            return "the name has a NUL at byte \(nul - raw.startIndex) of \(raw.count); the \"ima\" template's name has none"
        }
        guard raw.last == 0 else {
            return "the name (\(raw.count) byte(s)) does not end with its terminating NUL"
        }
        if let nul = raw.dropLast().firstIndex(of: 0) {
            return "the name has a NUL at byte \(nul - raw.startIndex) of \(raw.count), before its terminating NUL: "
                + "the bytes after it would not be judged"
        }
        return nil
    }
}
