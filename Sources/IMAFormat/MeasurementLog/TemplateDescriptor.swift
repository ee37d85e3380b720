/// A measurement template: its name and the fields its data carries, in order.
///
/// The built-in list mirrors `builtin_templates[]` in
/// security/integrity/ima/ima_template.c. A log names a custom template
/// (`ima_template_fmt=` on the kernel command line) by its format string,
/// e.g. `d-ng|n-ng|iuid`, because `ima_measurements_show` prints the format
/// when the descriptor has no name; `init?(logName:)` reads both.
public struct TemplateDescriptor: Hashable, Sendable, CustomStringConvertible {
    /// The name as written in the log.
    public let name: String
    /// The fields of the template data, in order.
    public let fields: [TemplateFieldID]

    public init(name: String, fields: [TemplateFieldID]) {
        self.name = name
        self.fields = fields
    }

    /// The format string (`d-ng|n-ng|sig`).
    public var format: String { fields.map(\.rawValue).joined(separator: "|") }

    /// True for the legacy "ima" template, whose binary layout and template
    /// hash differ from every other template (no data length, fixed-size name).
    public var isLegacyIMA: Bool { name == Self.ima.name }

    public var description: String { name == format ? name : "\(name) (\(format))" }

    /// `d|n`: SHA-1 digest and a name of at most 255 bytes.
    public static let ima = TemplateDescriptor(name: "ima", fields: [.digest, .name])
    /// `d-ng|n-ng`: the kernel default.
    public static let imaNG = TemplateDescriptor(name: "ima-ng", fields: [.digestNG, .nameNG])
    /// `d-ng|n-ng|sig`.
    public static let imaSig = TemplateDescriptor(name: "ima-sig", fields: [.digestNG, .nameNG, .signature])
    /// `d-ngv2|n-ng` (Linux 5.19+).
    public static let imaNGv2 = TemplateDescriptor(name: "ima-ngv2", fields: [.digestNGv2, .nameNG])
    /// `d-ngv2|n-ng|sig` (Linux 5.19+).
    public static let imaSigv2 = TemplateDescriptor(name: "ima-sigv2", fields: [.digestNGv2, .nameNG, .signature])
    /// `d-ng|n-ng|buf`.
    public static let imaBuf = TemplateDescriptor(name: "ima-buf", fields: [.digestNG, .nameNG, .buffer])
    /// `d-ng|n-ng|sig|d-modsig|modsig`.
    public static let imaModsig = TemplateDescriptor(
        name: "ima-modsig", fields: [.digestNG, .nameNG, .signature, .modsigDigest, .modsig])
    /// `d-ng|n-ng|evmsig|xattrnames|xattrlengths|xattrvalues|iuid|igid|imode` (Linux 5.14+).
    public static let evmSig = TemplateDescriptor(
        name: "evm-sig",
        fields: [.digestNG, .nameNG, .evmSignature, .xattrNames, .xattrLengths, .xattrValues,
                 .inodeUID, .inodeGID, .inodeMode])

    /// The templates the kernel defines by name.
    public static let builtins: [TemplateDescriptor] = [
        .ima, .imaNG, .imaSig, .imaNGv2, .imaSigv2, .imaBuf, .imaModsig, .evmSig,
    ]

    /// Most fields a template may have (`IMA_TEMPLATE_NUM_FIELDS_MAX`).
    public static let maxFieldCount = 15

    /// Resolves a template name as a log writes it: a built-in name, or the
    /// format string of a custom template (at most 15 known fields). Nil if
    /// neither.
    public init?(logName: String) {
        if let builtin = Self.builtins.first(where: { $0.name == logName }) {
            self = builtin
            return
        }
        let parts = logName.split(separator: "|", omittingEmptySubsequences: false)
        guard !parts.isEmpty, parts.count <= Self.maxFieldCount else { return nil }
        var fields = [TemplateFieldID]()
        for part in parts {
            guard let id = TemplateFieldID(rawValue: String(part)) else { return nil }
            fields.append(id)
        }
        self.init(name: logName, fields: fields)
    }
}
